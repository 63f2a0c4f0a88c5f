"""How large a folder's objects are, and so how many pixels they get at each input size a model
could train at: an object's side is √(w·h) as a share of its image's (√(W·H)), which the fixed
square resize of the SSD configs turns into side × size pixels. data_prep prints and records these
figures for the training split, for a user choosing `--input-size` (or a sweep YAML's `input_size`
knob). A run that leaves the size to `auto` chooses among the same candidate sizes from the same
boxes, measured against its model's anchors (model/input_size.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

CANDIDATE_SIZES = (160, 192, 224, 256, 320)  # square inputs, multiples of 32 as both models need
SMALL_QUANTILE = 0.10  # "the smallest objects": the smallest tenth
ALL = "all"


@dataclass(frozen=True)
class BoxSizes:
    """Per class (and `all`), each object's side as a share of its image's side."""

    sides: dict[str, list[float]]

    def quantile(self, share: float = SMALL_QUANTILE, name: str = ALL) -> float:
        values = self.sides.get(name, [])
        return float(np.quantile(values, share)) if values else math.nan

    def pixels(self, size: int, share: float = SMALL_QUANTILE, name: str = ALL) -> float:
        """The side in pixels, at a `size` × `size` input, of the object at quantile `share`."""
        return self.quantile(share, name) * size

    def as_dict(self) -> dict:
        """dataset.json's `box_sizes`: the smallest tenth and the median side per class, and the
        smallest tenth's pixels at each candidate size."""
        return {
            "quantile": SMALL_QUANTILE,
            "side_share": {
                name: {"p10": round(self.quantile(SMALL_QUANTILE, name), 4), "p50": round(self.quantile(0.5, name), 4)}
                for name in self.sides
            },
            "p10_pixels": {str(size): round(self.pixels(size), 1) for size in CANDIDATE_SIZES},
            "objects": {name: len(values) for name, values in self.sides.items()},
        }


def describe(recorded: dict | None) -> str:
    """What data_prep prints from dataset.json's `box_sizes`: the pixels the smallest tenth of the
    training objects get at each candidate size, and the class with the smallest objects."""
    if not recorded or not recorded.get("objects", {}).get(ALL):
        return "box sizes: no objects recorded"
    at = ", ".join(f"{pixels:.0f} px at {size}" for size, pixels in recorded["p10_pixels"].items())
    shares = {name: q["p10"] for name, q in recorded["side_share"].items() if name != ALL}
    smallest = min(shares, key=shares.get)
    return (
        f"box sizes (training split, side √(w·h)): the smallest tenth of objects get {at}; "
        f"smallest class {smallest!r}: {shares[smallest] * CANDIDATE_SIZES[0]:.0f} px at {CANDIDATE_SIZES[0]}"
    )


def box_sizes(objects: Iterable[tuple[str, float, float, float, float]]) -> BoxSizes:
    """From (class, xmin, ymin, xmax, ymax) boxes in coordinates normalised to their image."""
    sides: dict[str, list[float]] = {ALL: []}
    for name, xmin, ymin, xmax, ymax in objects:
        side = math.sqrt(max(0.0, xmax - xmin) * max(0.0, ymax - ymin))
        sides.setdefault(name, []).append(side)
        sides[ALL].append(side)
    return BoxSizes(sides)
