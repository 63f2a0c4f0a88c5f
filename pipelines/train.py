"""MLproject entry point `train` (same as `burgerfries train`)."""

import sys

from burgerfries.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
