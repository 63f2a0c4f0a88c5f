"""MLproject entry point `data_prep` (same as `burgerfries data-prep`)."""

import sys

from burgerfries.cli import main

if __name__ == "__main__":
    sys.exit(main(["data-prep", *sys.argv[1:]]))
