"""MLproject entry point `report`: `burgerfries report` with the entry point's flags."""

import sys

from burgerfries.cli import main

sys.exit(main(["report", *sys.argv[1:]]))
