"""Where a curve starts to flatten (the read point) and where it stops improving (the plateau).

**Read point** — where eval loss *starts to flatten*, the point the original study compared runs
at: the knee of the curve, found by Kneedle (Satopää et al. 2011, the `kneed` package) on the
eval-loss curve smoothed as in step 1 below, as a convex, decreasing curve with sensitivity
`knee_sensitivity`. A curve that does not bend (straight, or rising) has no knee: "never
flattens", and the run is read at its last evaluation. Fewer than `min_points` evaluations: "too
short"; no improvement at all: "constant", read at the first evaluation.

**Plateau** — where a curve has *stopped* improving (shown for mAP@0.5):
1. Drop NaN/Inf points, then smooth with an exponential moving average (weight `smoothing` on
   the newest point), so one noisy evaluation neither creates nor hides a plateau.
2. For a decreasing series (eval loss) the *total improvement* is first smoothed value minus the
   best (lowest) smoothed value. The *remaining improvement* at step i is the smoothed value at i
   minus the best smoothed value at or after i.
3. The flatten step is the first eval step whose remaining improvement is at most `epsilon`
   (`AnalysisSettings.plateau_epsilon`) of the total improvement. An increasing series (mAP) is the same, mirrored.
4. Special cases are named, not papered over: fewer than `min_points` evaluations → no step
   ("too short"); total improvement ≈ 0 → the first step ("constant"); the only step that
   qualifies is the last one while the curve still moved more than epsilon in its last interval →
   no step ("never flattens": the run needed more steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from kneed import KneeLocator

from burgerfries.runs.analysis_settings import AnalysisSettings

DEFAULTS = AnalysisSettings()


@dataclass
class PlateauPoint:
    step: int | None  # None when the series does not flatten (see `status`)
    status: str  # "flattened", "constant", "never flattens", "too short"
    detail: str


def ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    smoothed = np.empty(len(values), dtype=float)
    for index, value in enumerate(values):
        smoothed[index] = value if index == 0 else smoothing * value + (1 - smoothing) * smoothed[index - 1]
    return smoothed


def _evaluations(series: pd.Series, min_points: int) -> tuple[pd.Series, PlateauPoint | None]:
    """The finite values by step, and a "too short" point when there are fewer than `min_points`."""
    clean = series.replace([np.inf, -np.inf], np.nan).dropna().sort_index()
    if len(clean) < min_points:
        return clean, PlateauPoint(None, "too short", f"{len(clean)} evaluation(s); at least {min_points} are needed")
    return clean, None


def plateau_point(
    series: pd.Series,
    decreasing: bool,
    epsilon: float = DEFAULTS.plateau_epsilon,
    smoothing: float = DEFAULTS.eval_smoothing,
    min_points: int = DEFAULTS.min_points,
) -> PlateauPoint:
    """`series`: values indexed by step. Returns the flatten (decreasing) or plateau (increasing) step."""
    clean, too_short = _evaluations(series, min_points)
    if too_short:
        return too_short
    steps = clean.index.to_numpy()
    smoothed = ema(clean.to_numpy(dtype=float), smoothing)
    oriented = smoothed if decreasing else -smoothed
    best_after = np.minimum.accumulate(oriented[::-1])[::-1]
    total = oriented[0] - best_after[0]
    scale = max(abs(oriented).max(), 1e-12)
    if total <= 1e-9 * scale:
        return PlateauPoint(int(steps[0]), "constant", "no improvement over the run; flat from the first evaluation")
    remaining = oriented - best_after
    index = int(np.argmax(remaining <= epsilon * total))
    last_move = abs(oriented[-1] - oriented[-2])
    if index == len(steps) - 1 and last_move > epsilon * total:
        return PlateauPoint(
            None, "never flattens", f"still improving at the last evaluation (step {int(steps[-1])}); train longer"
        )
    return PlateauPoint(
        int(steps[index]),
        "flattened",
        f"remaining improvement ≤ {epsilon:.0%} of the total from step {int(steps[index])}",
    )


def knee_point(
    series: pd.Series,
    sensitivity: float = DEFAULTS.knee_sensitivity,
    min_points: int = DEFAULTS.min_points,
) -> PlateauPoint:
    """The read point of a decreasing series (eval loss, by step): its knee (see the module)."""
    clean, too_short = _evaluations(series, min_points)
    if too_short:
        return too_short
    peak = int(np.argmax(clean.to_numpy(dtype=float)))
    if len(clean) - peak >= min_points:
        clean = clean.iloc[peak:]
    steps = clean.index.to_numpy(dtype=float)
    values = clean.to_numpy(dtype=float)
    scale = max(abs(values).max(), 1e-12)
    if values[0] - values.min() <= 1e-9 * scale:
        return PlateauPoint(int(steps[0]), "constant", "no improvement over the run; flat from the first evaluation")
    knee = KneeLocator(steps, values, S=sensitivity, curve="convex", direction="decreasing").knee
    if knee is None:
        return PlateauPoint(
            None, "never flattens", f"no bend in the curve up to the last evaluation (step {int(steps[-1])})"
        )
    return PlateauPoint(int(knee), "flattened", f"eval loss starts to flatten at step {int(knee)} (its knee)")
