"""MLproject entry point `pretrain`: `burgerfries pretrain` with the entry point's flags."""

import sys

from burgerfries.cli import main

sys.exit(main(["pretrain", *sys.argv[1:]]))
