"""A data_prep output folder, opened once: where its records and label map are, what its
dataset.json says (content hash, split sizes, classes), and its class names. Every reader takes
this object instead of joining file names onto a bare path. Its dataset.json and its
`label_map.pbtxt` are read here; the label map is in the OD API's text format (ids are 1-based; 0
is the background slot), which `write_label_map` writes for data_prep.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from burgerfries.keys import DATASET_SUMMARY, EVAL_RECORD, LABEL_MAP, TRAIN_RECORD, VALIDATION_RECORD

VALIDATION = "validation"  # the split choices read (periodic evaluations, read points, decisions)
TEST = "eval"  # the test photos: eval.record, read at a run's end and by the final tables


def write_label_map(path: Path, classes: list[str]) -> None:
    """`classes` as label_map.pbtxt items, ids 1, 2, … in the order given (the OD API reads the same file)."""
    lines = []
    for index, name in enumerate(classes, start=1):
        escaped = name.replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"item {{\n  id: {index}\n  name: '{escaped}'\n}}\n")
    path.write_text("".join(lines), encoding="utf-8")


_ITEM = re.compile(r"item\s*\{(.*?)\}", re.S)
_ID = re.compile(r"\bid\s*:\s*(\d+)")
_NAME = re.compile(r"\b(?:display_)?name\s*:\s*(['\"])((?:\\.|(?!\1).)*)\1")


def read_label_map(path: Path) -> dict[int, str]:
    """id → name; raises ValueError naming the file when an item lacks an id or a name."""
    text = Path(path).read_text(encoding="utf-8")
    mapping: dict[int, str] = {}
    for index, match in enumerate(_ITEM.finditer(text)):
        body = match.group(1)
        id_match, name_match = _ID.search(body), _NAME.search(body)
        if not id_match or not name_match:
            raise ValueError(f"{path}: item #{index} needs both an id and a name")
        mapping[int(id_match.group(1))] = re.sub(r"\\(.)", r"\1", name_match.group(2))
    if not mapping:
        raise ValueError(f"{path}: no `item {{ id: … name: … }}` entries")
    return dict(sorted(mapping.items()))


def read_dataset_summary(folder: Path) -> dict:
    """The dataset.json that `prepare_dataset` wrote into `folder` (its hash, files and counts),
    or {} for a folder prepared without one."""
    path = Path(folder) / DATASET_SUMMARY
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def is_prepared(path: Path) -> bool:
    """Whether `path` is a data_prep output folder (it has a label map)."""
    return (Path(path) / LABEL_MAP).is_file()


def eval_record_in(path: Path | None) -> Path | None:
    """`path`'s eval split, where `path` is given and holds one: a run's data folder may not be on
    this machine, and callers that can do without it (the demo's examples, the report's finalist
    pictures) ask this instead of opening the folder."""
    record = Path(path) / EVAL_RECORD if path else None
    return record if record is not None and record.is_file() else None


@dataclass(frozen=True)
class DataFolder:
    path: Path
    summary: dict  # dataset.json ({} for a folder prepared before it existed)
    class_names: dict[int, str]  # the label map: id → name

    @classmethod
    def open(cls, path: Path | DataFolder) -> DataFolder:
        """Read `path`'s label map and dataset.json; a DataFolder is returned as it is."""
        if isinstance(path, DataFolder):
            return path
        path = Path(path)
        label_map = path / LABEL_MAP
        if not label_map.is_file():
            raise FileNotFoundError(
                f"{label_map}: not found — run data_prep first (burgerfries data-prep --out DIR), "
                "or pass a LabelImg folder as --data"
            )
        return cls(path, read_dataset_summary(path), read_label_map(label_map))

    @property
    def train_record(self) -> Path:
        return self.path / TRAIN_RECORD

    @property
    def eval_record(self) -> Path:
        """The test photos (the OD API's `eval` split): nothing chooses on them."""
        return self.path / EVAL_RECORD

    @property
    def has_validation(self) -> bool:
        """Whether the folder has validation photos (folders prepared before there were three
        splits, and pretraining folders, have none)."""
        return (self.path / VALIDATION_RECORD).is_file() and self.summary.get("num_images", {}).get(VALIDATION, 1) > 0

    @property
    def validation_record(self) -> Path:
        """The validation photos, carved from the training photos; one clear line where there are none."""
        if not self.has_validation:
            raise ValueError(
                f"{self.path}: no validation split (prepared with train and eval splits only, by an older "
                "burgerfries or with --validation-fraction 0); prepare it again: burgerfries data-prep SOURCE "
                "--out DIR, or pass the LabelImg folder itself as --data"
            )
        return self.path / VALIDATION_RECORD

    @property
    def choice_split(self) -> str:
        """The split a run's periodic evaluations read: the validation photos, or on a folder
        prepared without them, the eval split (as runs on it always did)."""
        return VALIDATION if self.has_validation else TEST

    def record(self, split: str) -> Path:
        """The record of `split` ("train", "validation" or "eval")."""
        records = {"train": self.train_record, TEST: self.eval_record}
        return records[split] if split in records else self.validation_record

    @property
    def label_map(self) -> Path:
        return self.path / LABEL_MAP

    @property
    def hash(self) -> str:
        """The content hash data_prep wrote ("" for a folder prepared without one)."""
        return str(self.summary.get("hash", ""))

    @property
    def num_train_images(self) -> int:
        """The training split's size: dataset.json's count, else the records in train.record."""
        counted = self.summary.get("num_images", {}).get("train")
        if counted is not None:
            return int(counted)
        if not self.train_record.is_file():
            raise FileNotFoundError(f"{self.train_record}: not found — is {self.path} a data_prep output folder?")
        from burgerfries.data.pipeline import record_facts

        return record_facts(self.train_record).examples
