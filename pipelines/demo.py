"""MLproject entry point `demo`: `burgerfries demo` with the entry point's flags."""

import sys

from burgerfries.cli import main

sys.exit(main(["demo", *sys.argv[1:]]))
