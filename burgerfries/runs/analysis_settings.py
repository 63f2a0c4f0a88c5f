"""The analysis knobs, each with its default written once: the sweep's phase winners, the
report's tables and its final pick all read them from one `AnalysisSettings`. A sweep YAML may
set them under `analysis:` (the decision's own settings are `decision/settings.py`'s)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from burgerfries.evaluation import SCORE_THRESHOLD


@dataclass(frozen=True)
class AnalysisSettings:
    knee_sensitivity: float = 1.0  # Kneedle's S: higher waits for a clearer bend before calling it the knee
    plateau_epsilon: float = 0.05  # a curve has stopped improving once ≤ this share of its total improvement remains
    eval_smoothing: float = 0.6  # EMA weight of the newest evaluation (eval loss, mAP)
    train_smoothing: float = 0.06  # EMA weight of the newest training step (train loss is logged every step)
    min_points: int = 3  # fewer evaluations than this: "too short" to have a plateau
    score_threshold: float = SCORE_THRESHOLD  # detections shown and counted as wrong from this score up

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None, where: str = "analysis") -> AnalysisSettings:
        """From a sweep YAML's `analysis:` mapping; unknown keys and out-of-range values are refused."""
        known = {field.name: field.type for field in fields(cls)}
        values = dict(values or {})
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}; known: {', '.join(known)}")
        checked: dict[str, Any] = {}
        for key, value in values.items():
            try:
                checked[key] = int(value) if key == "min_points" else float(value)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{where}.{key}: {value!r} is not a number") from error
            if key == "min_points" and checked[key] < 2:
                raise ValueError(f"{where}.min_points: must be at least 2, got {value!r}")
            if key != "min_points" and not 0 < checked[key] <= 1:
                raise ValueError(f"{where}.{key}: must be in (0, 1], got {value!r}")
        return replace(cls(), **checked)

    def as_dict(self) -> dict[str, float]:
        return {field.name: getattr(self, field.name) for field in fields(self)}
