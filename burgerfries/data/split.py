"""Deterministic train/eval split, stratified by which classes an image contains.

With 60–300 photos a plain random split can leave a class (or the negatives) out of eval
entirely; stratifying by the image's class set keeps each kind of image in both splits.
"""

from __future__ import annotations

import random
from collections import defaultdict

from burgerfries.data.ingest import Sample


def split_samples(
    samples: list[Sample], eval_fraction: float, seed: int, keep_folder_split: bool = True
) -> dict[str, list[Sample]]:
    """{"train": [...], "eval": [...]}, the same for the same inputs and seed.

    A folder layout that already says train/ and test|eval|val/ for every image is kept (users
    who split by hand usually did it for a reason) unless keep_folder_split is False.
    """
    if not 0.0 <= eval_fraction < 1.0:
        raise ValueError(f"eval fraction must be in [0, 1), got {eval_fraction}")
    if keep_folder_split and samples and all(s.split_hint for s in samples):
        hinted = {
            "train": [s for s in samples if s.split_hint == "train"],
            "eval": [s for s in samples if s.split_hint == "eval"],
        }
        if hinted["train"] and hinted["eval"]:
            return hinted

    # The unit of splitting is a set of identical images, so duplicates never straddle the split.
    copies: dict[str, list[Sample]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: s.rel_path):
        copies[sample.content_sha256].append(sample)
    groups: dict[tuple[str, ...], list[list[Sample]]] = defaultdict(list)
    for unit in copies.values():
        groups[tuple(sorted({box.name for box in unit[0].objects}))].append(unit)
    rng = random.Random(seed)
    split: dict[str, list[Sample]] = {"train": [], "eval": []}
    carry = 0.0  # fractional eval share carried between groups, so small groups still add up
    for key in sorted(groups):
        units = groups[key]
        rng.shuffle(units)
        wanted = len(units) * eval_fraction + carry
        n_eval = min(len(units), int(wanted + 0.5))
        carry = wanted - n_eval
        split["eval"].extend(sample for unit in units[:n_eval] for sample in unit)
        split["train"].extend(sample for unit in units[n_eval:] for sample in unit)
    if eval_fraction > 0 and not split["eval"] and len(split["train"]) > 1:
        split["eval"].append(split["train"].pop())
    for name in split:
        split[name].sort(key=lambda s: s.rel_path)
    return split
