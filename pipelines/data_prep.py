"""MLproject entry point `data_prep`: `burgerfries data-prep` with the entry point's flags."""

import sys

from burgerfries.cli import main

sys.exit(main(["data-prep", *sys.argv[1:]]))
