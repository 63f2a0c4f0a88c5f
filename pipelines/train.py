"""MLproject entry point `train`: `burgerfries train` with the entry point's flags."""

import sys

from burgerfries.cli import main

sys.exit(main(["train", *sys.argv[1:]]))
