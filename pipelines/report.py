"""MLproject entry point `report` (same as `burgerfries report`)."""

import sys

from burgerfries.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    # MLproject passes every parameter; an empty one means "not given".
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]
    sys.exit(main(["report", *[part for flag, value in pairs if value for part in (flag, value)]]))
