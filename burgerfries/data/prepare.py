"""data_prep without tracking: source → ingest → split → TFRecords, label map, dataset.json.

Kept free of MLflow so tests and other callers (the sweep's default data step) can use it as a
function; `burgerfries.jobs.data_prep` adds the tracked run around it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from burgerfries.data.box_sizes import box_sizes
from burgerfries.data.contact_sheet import draw_contact_sheet
from burgerfries.data.folder import DataFolder, write_label_map
from burgerfries.data.ingest import IngestResult, Sample, ingest_folder
from burgerfries.data.split import SPLITS, VALIDATION_FRACTION, split_samples
from burgerfries.data.tfrecord import write_records
from burgerfries.keys import CONTACT_SHEET, DATASET_SUMMARY, LABEL_MAP, SKIP_REPORT, SPLIT_RECORDS
from burgerfries.scenes.pretraining_scenes import CLASSES as PRETRAINING_CLASSES
from burgerfries.scenes.pretraining_scenes import SCENES_VERSION as PRETRAINING_SCENES_VERSION
from burgerfries.scenes.pretraining_scenes import write_pretraining_dataset
from burgerfries.scenes.synthetic import CLASSES as SYNTHETIC_CLASSES
from burgerfries.scenes.synthetic import write_synthetic_dataset

SYNTHETIC = "synthetic"
PRETRAINING = "pretraining"  # the everyday-object set `burgerfries pretrain` trains on
# Each drawn source: its writer, its classes and the version of its drawing code (dataset.json's
# `scenes_version`, so a folder drawn by older code is told apart from one drawn now)
DRAWN_SOURCES = {
    SYNTHETIC: (write_synthetic_dataset, SYNTHETIC_CLASSES, 1),
    PRETRAINING: (write_pretraining_dataset, PRETRAINING_CLASSES, PRETRAINING_SCENES_VERSION),
}
# Held-out synthetic scenes: enough that a 0.05 difference in mAP@0.5 is larger than the 95 %
# resampling noise of one detector's mAP@0.5 (90 images: ±0.045; 60: ±0.060; 13: ±0.135;
# bench/RESULTS.md, "Eval split size").
SYNTHETIC_EVAL_SCENES = 90


class StrictModeError(RuntimeError):
    """--strict and the skip report is not empty."""


@dataclass
class PreparedDataset:
    out: Path
    summary: dict  # the content of dataset.json
    ingest: IngestResult

    @property
    def folder(self) -> DataFolder:
        """The written folder, opened as readers open it."""
        return DataFolder.open(self.out)


def dataset_hash(splits: dict[str, list[Sample]], classes: list[str]) -> str:
    """A content hash of what training sees: pixels, boxes, labels, split and class order.

    File names are left out, so renaming a folder does not change the hash; a moved box does.
    """
    digest = hashlib.sha256(json.dumps(classes).encode())
    for split in SPLITS:
        for sample in sorted(splits[split], key=lambda s: s.content_sha256):
            boxes = [
                (b.name, round(b.xmin, 6), round(b.ymin, 6), round(b.xmax, 6), round(b.ymax, 6), b.difficult)
                for b in sample.objects
            ]
            digest.update(f"{split}|{sample.content_sha256}|{boxes}".encode())
    return digest.hexdigest()


def _describe(
    splits: dict[str, list[Sample]],
    ingest: IngestResult,
    source: str,
    seed: int,
    eval_fraction: float,
    validation_fraction: float,
) -> dict:
    per_class = {split: Counter(b.name for s in samples for b in s.objects) for split, samples in splits.items()}
    return {
        "source": source,
        "seed": seed,
        # what each split is for (readers tell a three-split folder by its validation.record)
        "splits": {
            "train": "training photos",
            "validation": "what periodic evaluations, read points and sweep decisions read",
            "eval": "test photos: read at the end of a run and by the final tables, never by a choice",
        },
        "eval_fraction": eval_fraction,
        "validation_fraction": validation_fraction,
        "classes": ingest.classes,
        "num_images": {split: len(samples) for split, samples in splits.items()},
        "num_objects": {split: {c: per_class[split].get(c, 0) for c in ingest.classes} for split in splits},
        "num_negative_images": {split: sum(1 for s in samples if not s.objects) for split, samples in splits.items()},
        "num_skipped": len(ingest.report.skipped_files),
        "num_problems": len(ingest.report),
        "hash": dataset_hash(splits, ingest.classes),
        "box_sizes": box_sizes(
            (b.name, b.xmin, b.ymin, b.xmax, b.ymax) for s in splits["train"] for b in s.objects
        ).as_dict(),
        "files": [
            {
                "file": s.rel_path,
                "split": split,
                "width": s.width,
                "height": s.height,
                "objects": dict(Counter(b.name for b in s.objects)),
                "distractors": len(s.distractors),
                "sha256": s.content_sha256,
            }
            for split, samples in splits.items()
            for s in samples
        ],
    }


def prepare_dataset(
    source: str | Path,
    out: Path,
    classes: list[str] | None = None,
    seed: int = 0,
    num_images: int = 63,
    eval_fraction: float = 0.2,
    strict: bool = False,
    keep_folder_split: bool = True,
    progress: bool = True,
    eval_images: int = SYNTHETIC_EVAL_SCENES,
    validation_fraction: float = VALIDATION_FRACTION,
    validation_images: int | None = None,
) -> PreparedDataset:
    """Build the training-ready folder; raise StrictModeError (after writing the skip report)
    when `strict` and anything had to be repaired, dropped or skipped.

    A drawn source (`synthetic`: burger/fries scenes; `pretraining`: the everyday-object set) draws
    `num_images` training scenes, `eval_images` held-out scenes and `validation_images` validation
    scenes (None: as many as `eval_images`; 0: carved from the training scenes by
    `validation_fraction`); with `eval_images` 0, `num_images` scenes are split by the fractions,
    as a LabelImg folder is."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if str(source) in DRAWN_SOURCES:
        write_scenes, drawn_classes, _ = DRAWN_SOURCES[str(source)]
        drawn_validation = eval_images if validation_images is None else validation_images
        folder = write_scenes(out / f"{source}_source", num_images, seed, progress, eval_images, drawn_validation)
        classes = classes or list(drawn_classes)
    else:
        folder = Path(source)
    ingest = ingest_folder(folder, classes, progress)
    ingest.report.write_csv(out / SKIP_REPORT)
    if strict and len(ingest.report):
        raise StrictModeError(
            f"--strict: {ingest.report.summary()} (see {out / SKIP_REPORT})\n" + ingest.report.itemised()
        )
    if not ingest.samples:
        raise ValueError(f"{folder}: no usable image/XML pairs — see {out / SKIP_REPORT}")
    if not ingest.classes:
        raise ValueError(f"{folder}: no labelled objects in any XML file — see {out / SKIP_REPORT}")

    splits = split_samples(ingest.samples, eval_fraction, seed, keep_folder_split, validation_fraction)
    class_ids = {name: index for index, name in enumerate(ingest.classes, start=1)}
    for split in SPLITS:
        write_records(out / SPLIT_RECORDS[split], splits[split], class_ids)
    write_label_map(out / LABEL_MAP, ingest.classes)
    summary = _describe(splits, ingest, str(source), seed, eval_fraction, validation_fraction)
    if str(source) in DRAWN_SOURCES:
        summary["scenes_version"] = DRAWN_SOURCES[str(source)][2]
    (out / DATASET_SUMMARY).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    draw_contact_sheet([s for split in SPLITS for s in splits[split]], ingest.classes, out / CONTACT_SHEET)
    return PreparedDataset(out, summary, ingest)
