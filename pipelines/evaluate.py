"""MLproject entry point `evaluate` (same as `burgerfries evaluate`)."""

import sys

from burgerfries.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
