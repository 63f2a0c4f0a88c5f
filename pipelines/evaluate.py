"""MLproject entry point `evaluate`: `burgerfries evaluate` with the entry point's flags."""

import sys

from burgerfries.cli import main

sys.exit(main(["evaluate", *sys.argv[1:]]))
