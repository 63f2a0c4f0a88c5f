"""How well each model's anchors fit a folder's boxes, at each input size: the question behind SSD's
flat transfer on cards (#43). Nothing is trained; it lays each model's anchors as `train` would
(the smoke profile with `--input-size S`) and reads the training split's boxes.

Per model and size it prints the share of training boxes whose best anchor reaches the matcher's
`matched_threshold` IoU (a box below it is matched only by `force_match_for_each_row`, to one anchor
that overlaps it poorly), the median best IoU, and the mean number of anchors at or above the
threshold per box (the positives a box gives the classification and box losses).

    python bench/anchor_coverage.py --data PREPARED_FOLDER [--sizes 160 320] [--split train]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from burgerfries.data.tfrecord import read_boxes
from burgerfries.evaluation.wrong_detections import box_iou
from burgerfries.model import MODEL_NAMES
from burgerfries.model.anchors import config_anchors
from burgerfries.model.config import build_config, get
from burgerfries.model.input_size import MATCHED_THRESHOLD

RECORDS = {"train": "train.record", "validation": "validation.record", "test": "eval.record"}


def coverage(boxes: np.ndarray, anchors: np.ndarray, threshold: float) -> dict[str, float]:
    """Each box against every anchor (normalised ymin, xmin, ymax, xmax on the square input)."""
    overlaps = box_iou(boxes, anchors)
    best = overlaps.max(axis=1)
    return {
        "matched": float(np.mean(best >= threshold)),
        "median_best_iou": float(np.median(best)),
        "positives_per_box": float(np.mean((overlaps >= threshold).sum(axis=1))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a data-prep output folder")
    parser.add_argument("--sizes", nargs="+", type=int, default=[160, 320])
    parser.add_argument("--split", choices=sorted(RECORDS), default="train")
    args = parser.parse_args()
    boxes = read_boxes(args.data / RECORDS[args.split]).astype(np.float64)
    sides = np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    print(
        f"{args.data} ({args.split}): {len(boxes)} boxes; side √(w·h) as a share of the "
        f"image's: p10 {np.quantile(sides, 0.1):.3f}, median {np.median(sides):.3f}, "
        f"p90 {np.quantile(sides, 0.9):.3f}"
    )
    print(
        "| model | input | anchors | boxes with an anchor at IoU ≥ t | median best IoU | anchors at IoU ≥ t per box |"
    )
    print("|---|---|---|---|---|---|")
    for model in MODEL_NAMES:
        for size in args.sizes:
            config = build_config(model, "smoke", num_classes=1, knobs={"input_size": size}, num_train_images=1)
            anchors = config_anchors(config).astype(np.float64)
            threshold = float(get(config, MATCHED_THRESHOLD))
            found = coverage(boxes, anchors, threshold)
            print(
                f"| {model} | {size} | {len(anchors)} | {found['matched']:.1%} (t {threshold:g}) "
                f"| {found['median_best_iou']:.3f} | {found['positives_per_box']:.2f} |"
            )


if __name__ == "__main__":
    main()
