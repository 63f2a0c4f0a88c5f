"""MLproject entry point `sweep`: `burgerfries sweep` with the entry point's flags."""

import sys

from burgerfries.cli import main

sys.exit(main(["sweep", *sys.argv[1:]]))
