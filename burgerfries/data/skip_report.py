"""The itemised list of everything ingestion repaired, dropped or skipped.

Nothing is dropped silently: each row says which file, what was wrong and what was done, and the
same CSV is written next to the TFRecords and logged to MLflow.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Actions, from mild to severe. Only "skipped" removes an image; "object dropped" removes a box.
REPAIRED = "repaired"
OBJECT_DROPPED = "object dropped"
SKIPPED = "skipped"
REPORTED = "reported"


@dataclass
class SkipReport:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, file: str, problem: str, action: str) -> None:
        self.rows.append((file, problem, action))

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def skipped_files(self) -> set[str]:
        return {file for file, _, action in self.rows if action == SKIPPED}

    def counts(self) -> Counter:
        return Counter(action for _, _, action in self.rows)

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "problem", "action"])
            writer.writerows(self.rows)

    def summary(self) -> str:
        if not self.rows:
            return "no problems found"
        counts = self.counts()
        parts = [f"{count} {action}" for action, count in sorted(counts.items())]
        return f"{len(self.rows)} problems: " + ", ".join(parts)

    def itemised(self) -> str:
        return "\n".join(f"  {file}: {problem} -> {action}" for file, problem, action in self.rows)
