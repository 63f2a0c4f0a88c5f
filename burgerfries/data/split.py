"""Deterministic train / validation / eval split, stratified by which classes an image contains.

Three splits, so that what chooses never reads what reports: the **validation** photos (carved from
the training photos) are what a run's periodic evaluations, its read point and every sweep decision
read; the **eval** photos (`eval.record`, the OD API's name for them) are the test photos, read
once at the end of a run and by the final tables, never by a choice.

With 60–300 photos a plain random split can leave a class (or the negatives) out of a split
entirely; stratifying by the image's class set keeps each kind of image in every split.
"""

from __future__ import annotations

import random
from collections import defaultdict

from burgerfries.data.ingest import Sample

SPLITS = ("train", "validation", "eval")
VALIDATION_FRACTION = 0.2  # of the training photos; the default in one place


def _stratified(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """(kept, carved): `fraction` of `samples` carved out, stratified by class set, the same for
    the same inputs and seed. The unit is a set of identical images, so copies never straddle."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"a split fraction must be in [0, 1), got {fraction}")
    copies: dict[str, list[Sample]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: s.rel_path):
        copies[sample.content_sha256].append(sample)
    groups: dict[tuple[str, ...], list[list[Sample]]] = defaultdict(list)
    for unit in copies.values():
        groups[tuple(sorted({box.name for box in unit[0].objects}))].append(unit)
    rng = random.Random(seed)
    kept: list[Sample] = []
    carved: list[Sample] = []
    carry = 0.0  # fractional share carried between groups, so small groups still add up
    for key in sorted(groups):
        units = groups[key]
        rng.shuffle(units)
        wanted = len(units) * fraction + carry
        n_carved = min(len(units), int(wanted + 0.5))
        carry = wanted - n_carved
        carved.extend(sample for unit in units[:n_carved] for sample in unit)
        kept.extend(sample for unit in units[n_carved:] for sample in unit)
    if fraction > 0 and not carved and len(kept) > 1:
        kept.sort(key=lambda s: s.rel_path)
        carved.append(kept.pop())
    return kept, carved


def split_samples(
    samples: list[Sample],
    eval_fraction: float,
    seed: int,
    keep_folder_split: bool = True,
    validation_fraction: float = VALIDATION_FRACTION,
) -> dict[str, list[Sample]]:
    """{"train": [...], "validation": [...], "eval": [...]}, the same for the same inputs and seed.

    A folder layout that already says train/ and test|eval/ for every image is kept (users who
    split by hand usually did it for a reason) unless keep_folder_split is False; a valid|validation/
    folder beside them is kept as the validation split (without a test|eval/ folder, val/ is the
    held-out split). Otherwise `eval_fraction` of the photos
    become the eval (test) split, and `validation_fraction` of the rest the validation split.
    """
    hinted = {name: [s for s in samples if s.split_hint == name] for name in SPLITS}
    if not hinted["eval"]:  # train/ and val/ only: val/ is the held-out split, as it was
        hinted["eval"], hinted["validation"] = hinted["validation"], []
    if keep_folder_split and samples and all(s.split_hint for s in samples) and hinted["train"] and hinted["eval"]:
        train, validation = hinted["train"], hinted["validation"]
        if not validation:
            train, validation = _stratified(train, validation_fraction, seed + 1)
        split = {"train": train, "validation": validation, "eval": hinted["eval"]}
    else:
        rest, held_out = _stratified(samples, eval_fraction, seed)
        train, validation = _stratified(rest, validation_fraction, seed + 1)
        split = {"train": train, "validation": validation, "eval": held_out}
    return {name: sorted(split[name], key=lambda s: s.rel_path) for name in SPLITS}
