"""MLproject entry point `export`: `burgerfries export` with the entry point's flags."""

import sys

from burgerfries.cli import main

sys.exit(main(["export", *sys.argv[1:]]))
