"""MLproject entry point `export` (same as `burgerfries export`)."""

import sys

from burgerfries.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
