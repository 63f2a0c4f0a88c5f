"""The input size a run trains at when nobody names one: the smallest candidate at which the model's
anchors can be matched to the training boxes.

The matcher learns a box from the anchors it overlaps at IoU ≥ `matched_threshold` (0.5 in both
zoo configs); a box that no anchor overlaps that much is paired by `force_match_for_each_row` with
one anchor that fits it poorly. Anchors have fixed sizes at a given input (FPN-lite's smallest are 32
px: anchor_scale 4 × stride 8), so objects smaller than them are the ones left unmatched, and a
larger input gives them more pixels. On cards' photos shrunk so that the cards are 12–22 px at 160 px
(`bench/small_objects.py`), FPN-lite's anchors match 54.6 % of the training boxes at 160 px and
93.6 % at 320 px; on cards as photographed 100 % already at 160 px (`bench/anchor_coverage.py`,
bench/RESULTS.md, "Anchors and object sizes").

Candidates are data_prep's (`data/box_sizes.CANDIDATE_SIZES`: 160 … 320 px). The time a run may
spend bounds them: the largest, 320 px, has 4× the pixels of 160 px, so about 4× its convolutions.
A profile without candidates (full: the zoo's sizes; tiny: the tests'), an explicit `--input-size`,
a `--set` of the resizer and a whole logged config keep their size.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from burgerfries.keys import INPUT_WIDTH, KNOB_FIELDS
from burgerfries.model.anchors import config_anchors
from burgerfries.model.config import PROFILES, build_config, get

AUTO = "auto"  # an `input_size` that asks for this choice
COVERAGE_TARGET = 0.95  # the share of training boxes that must have an anchor at the matched threshold
MATCHED_THRESHOLD = "model.ssd.matcher.argmax_matcher.matched_threshold"
_CHUNK = 256  # boxes per IoU block (a block holds _CHUNK × anchors floats)


def anchor_coverage(boxes: np.ndarray, anchors: np.ndarray, threshold: float) -> float:
    """The share of `boxes` (normalised ymin, xmin, ymax, xmax) with an anchor at IoU ≥ `threshold`."""
    if len(boxes) == 0:
        return float("nan")
    anchors = np.asarray(anchors, np.float64)
    anchor_area = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
    matched = 0
    for start in range(0, len(boxes), _CHUNK):
        block = np.asarray(boxes[start : start + _CHUNK], np.float64)[:, None, :]
        height = np.clip(np.minimum(block[..., 2], anchors[:, 2]) - np.maximum(block[..., 0], anchors[:, 0]), 0, None)
        width = np.clip(np.minimum(block[..., 3], anchors[:, 3]) - np.maximum(block[..., 1], anchors[:, 1]), 0, None)
        overlap = height * width
        box_area = (block[..., 2] - block[..., 0]) * (block[..., 3] - block[..., 1])
        iou = overlap / np.maximum(box_area + anchor_area - overlap, 1e-12)
        matched += int(np.sum(iou.max(axis=1) >= threshold))
    return matched / len(boxes)


@dataclass(frozen=True)
class InputSizeChoice:
    size: int
    coverage: dict[int, float]  # candidate size → share of the training boxes matched there
    why: str


def choose_input_size(
    config_at: Callable[[int], dict], boxes: np.ndarray, candidates: Sequence[int]
) -> InputSizeChoice:
    """The smallest candidate whose anchors match `COVERAGE_TARGET` of `boxes`; where none does, the
    one that matches the most (the smaller on a tie). `config_at(size)` is the run's config at `size`."""
    coverage = {}
    for size in sorted(candidates):
        config = config_at(size)
        coverage[size] = anchor_coverage(boxes, config_anchors(config), float(get(config, MATCHED_THRESHOLD)))
    smallest = min(coverage)
    if len(boxes) == 0:
        return InputSizeChoice(smallest, coverage, f"input {smallest} px: the training split has no boxes to fit")
    reaching = [size for size, share in coverage.items() if share >= COVERAGE_TARGET]
    size = reaching[0] if reaching else max(coverage, key=lambda candidate: (coverage[candidate], -candidate))
    threshold = float(get(config_at(size), MATCHED_THRESHOLD))
    here = f"{coverage[size]:.1%} of the {len(boxes)} training boxes have an anchor at IoU ≥ {threshold:g}"
    if reaching and size == smallest:
        why = f"input {size} px: {here} (target {COVERAGE_TARGET:.0%})"
    elif reaching:
        why = f"input {size} px: {here} (target {COVERAGE_TARGET:.0%}; at {smallest} px {coverage[smallest]:.1%})"
    else:
        why = (
            f"input {size} px, the best of {', '.join(map(str, coverage))}: {here}, below the target "
            f"{COVERAGE_TARGET:.0%} (at {smallest} px {coverage[smallest]:.1%}); smaller objects need a larger input"
        )
    return InputSizeChoice(size, coverage, why)


def automatic_input_size(
    model: str,
    profile: str,
    num_classes: int,
    train_record: Path,
    num_train_images: int,
    overrides: dict[str, Any] | None = None,
) -> InputSizeChoice | None:
    """What a run of `model` asking for `AUTO` trains at: the choice above among the profile's
    candidate sizes, on the boxes of `train_record`; None (the profile's size) where the profile has
    no candidates or `overrides` set the resizer themselves. `train` and the sweep's plan both ask here."""
    overrides = dict(overrides or {})
    candidates = PROFILES[profile].get("input_sizes")
    if not candidates or {KNOB_FIELDS["input_size"], INPUT_WIDTH} & set(overrides):
        return None
    record = Path(train_record).resolve()
    return _choice(
        model,
        profile,
        num_classes,
        str(record),
        record.stat().st_mtime_ns,
        num_train_images,
        json.dumps(overrides, sort_keys=True),  # (a --set value may be a list: not hashable as it is)
        tuple(candidates),
    )


@functools.lru_cache(maxsize=16)
def _choice(
    model: str,
    profile: str,
    num_classes: int,
    record: str,
    _mtime_ns: int,
    images: int,
    overrides: str,
    candidates: tuple[int, ...],
) -> InputSizeChoice:
    """Once per process for a record as it is (a sweep's plan asks for every trial)."""
    # (TensorFlow: imported here, not with the module, so `train --help` starts it filtered)
    from burgerfries.data.tfrecord import read_boxes

    def config_at(size: int) -> dict:  # (overrides count: a --set matcher threshold changes what matches)
        return build_config(model, profile, num_classes, {"input_size": size}, json.loads(overrides), 1, max(1, images))

    return choose_input_size(config_at, read_boxes(Path(record)), candidates)
