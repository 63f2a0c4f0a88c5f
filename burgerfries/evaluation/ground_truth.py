"""The eval split's ground truth, read once from eval.record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from burgerfries.data.tfrecord import parse_example


@dataclass
class GroundTruth:
    """One eval image as the metrics need it: absolute-pixel boxes of the original image."""

    source_id: str
    height: int
    width: int
    boxes: np.ndarray  # [N, 4] normalised ymin, xmin, ymax, xmax
    labels: np.ndarray  # [N] 1-based
    distractors: np.ndarray  # [M, 4] normalised
    image: np.ndarray | None = None


def read_ground_truth(record: Path, keep_images: int = 0) -> list[GroundTruth]:
    truths = []
    for index, raw in enumerate(tf.data.TFRecordDataset(str(record))):
        example = parse_example(raw)
        truths.append(
            GroundTruth(
                source_id=example["source_id"].numpy().decode("utf-8"),
                height=int(example["height"]),
                width=int(example["width"]),
                boxes=example["boxes"].numpy(),
                labels=example["labels"].numpy(),
                distractors=example["distractor_boxes"].numpy(),
                image=example["image"].numpy() if index < keep_images else None,
            )
        )
    return truths
