"""MLproject entry point `sweep` (same as `burgerfries sweep`)."""

import sys

from burgerfries.cli import main

if __name__ == "__main__":
    study, data, profile, storage, repeats, dry_run = sys.argv[1:7]
    args = ["sweep", "--profile", profile, "--repeats", repeats]
    args += ["--study", study] if study else []
    args += ["--data", data] if data else []
    args += ["--storage", storage] if storage else []
    args += ["--dry-run"] if dry_run.lower() in ("1", "true", "yes") else []
    sys.exit(main(args))
