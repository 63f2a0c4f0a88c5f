"""One row per run, read at its eval-loss flatten point (and at its mAP plateau): the numbers the
original study compared runs by. Input is a long metrics frame (key, step, value) of one run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from burgerfries.metrics import (
    EVAL_AR_1,
    EVAL_AR_10,
    EVAL_AR_100,
    EVAL_LOSS,
    EVAL_LOSS_UNWEIGHTED,
    EVAL_MAP_50,
    EVAL_WRONG_DETECTION_RATE,
    EVAL_WRONG_DETECTIONS,
    SUMMARY_METRICS,
    TEST_COLUMNS,
    TRAIN_LOSS,
    TRAIN_LOSS_UNWEIGHTED,
    TRAIN_STEPS_PER_SEC,
)
from burgerfries.runs.analysis_settings import AnalysisSettings
from burgerfries.runs.configurations import add_configurations
from burgerfries.runs.plateau import ema, knee_point, plateau_point

COLUMNS = [
    "eval_loss",
    "train_loss",
    "gap",
    "eval_loss_unweighted",
    "train_loss_unweighted",
    "gap_unweighted",
    "mAP_50",
    "AR_1",
    "AR_10",
    "AR_100",
    "avg_recall",
    "wrong_detections",
    "wrong_detection_rate",
    "steps_per_sec",
]


def series(metrics: pd.DataFrame, key: str) -> pd.Series:
    rows = metrics[metrics["key"] == key]
    return rows.groupby("step")["value"].last().sort_index() if len(rows) else pd.Series(dtype=float)


def value_at(values: pd.Series, step: int) -> float:
    """The value at `step`, or the last one logged before it."""
    before = values[values.index <= step]
    return float(before.iloc[-1]) if len(before) else float("nan")


def smoothed(metrics: pd.DataFrame, key: str, smoothing: float) -> pd.Series:
    values = series(metrics, key).replace([np.inf, -np.inf], np.nan).dropna()
    return pd.Series(ema(values.to_numpy(), smoothing), index=values.index) if len(values) else values


def quantities_at(metrics: pd.DataFrame, step: int, train_smoothing: float) -> dict[str, float]:
    row = {
        "eval_loss": value_at(series(metrics, EVAL_LOSS), step),
        "train_loss": value_at(smoothed(metrics, TRAIN_LOSS, train_smoothing), step),
        "eval_loss_unweighted": value_at(series(metrics, EVAL_LOSS_UNWEIGHTED), step),
        "train_loss_unweighted": value_at(smoothed(metrics, TRAIN_LOSS_UNWEIGHTED, train_smoothing), step),
        "mAP_50": value_at(series(metrics, EVAL_MAP_50), step),
        "AR_1": value_at(series(metrics, EVAL_AR_1), step),
        "AR_10": value_at(series(metrics, EVAL_AR_10), step),
        "AR_100": value_at(series(metrics, EVAL_AR_100), step),
        "wrong_detections": value_at(series(metrics, EVAL_WRONG_DETECTIONS), step),
        "wrong_detection_rate": value_at(series(metrics, EVAL_WRONG_DETECTION_RATE), step),
    }
    row["gap"] = row["eval_loss"] - row["train_loss"]
    row["gap_unweighted"] = row["eval_loss_unweighted"] - row["train_loss_unweighted"]
    row["avg_recall"] = float(np.mean([row["AR_1"], row["AR_10"], row["AR_100"]]))
    speed = series(metrics, TRAIN_STEPS_PER_SEC)
    row["steps_per_sec"] = float(speed.median()) if len(speed) else float("nan")
    return row


def summarize_run(metrics: pd.DataFrame, analysis: AnalysisSettings = AnalysisSettings()) -> dict[str, object]:
    """The read point of one run (where its eval loss starts to flatten: `plateau.knee_point`), its
    mAP plateau, the compared quantities at the read point and (as `last_…`) at the last evaluation,
    and its kept weights' mAP@0.5 on the test photos (`test_mAP_50`) and COCO's mAP there by
    object size (`test_mAP_small`, …).

    A run whose eval loss never flattens is read at its last evaluation, and says so. The knee is
    found on the unweighted eval loss where the run logged it (the same curve whatever its loss
    weights), else on the weighted total.
    """
    eval_loss = series(metrics, EVAL_LOSS_UNWEIGHTED)
    if eval_loss.empty:
        eval_loss = series(metrics, EVAL_LOSS)
    curve = {
        "epsilon": analysis.plateau_epsilon,
        "smoothing": analysis.eval_smoothing,
        "min_points": analysis.min_points,
    }
    flatten = knee_point(eval_loss, analysis.knee_sensitivity, analysis.min_points)
    plateau = plateau_point(series(metrics, EVAL_MAP_50), decreasing=False, **curve)
    last_step = int(eval_loss.index.max()) if len(eval_loss) else None
    read_step = flatten.step if flatten.step is not None else last_step
    summary: dict[str, object] = {
        "flatten_step": flatten.step,
        "flatten_status": flatten.status,
        "flatten_detail": flatten.detail,
        "map_plateau_step": plateau.step,
        "map_plateau_status": plateau.status,
        "read_step": read_step,
    }
    for column in TEST_COLUMNS:  # logged once, at the run's end: never read at the read point
        tested = series(metrics, SUMMARY_METRICS[column].eval_key)
        summary[column] = float(tested.iloc[-1]) if len(tested) else float("nan")
    if read_step is None:
        summary.update({column: float("nan") for column in COLUMNS})
        summary.update({f"last_{column}": float("nan") for column in COLUMNS})
        return summary
    summary.update(quantities_at(metrics, read_step, analysis.train_smoothing))
    # At the last evaluation too: the checkpoint a run ends with, which a decision may read instead
    summary.update(
        {f"last_{key}": value for key, value in quantities_at(metrics, last_step, analysis.train_smoothing).items()}
    )
    return summary


def summarize_runs(
    runs: pd.DataFrame, metrics: pd.DataFrame, analysis: AnalysisSettings = AnalysisSettings()
) -> pd.DataFrame:
    """One row per run: its configuration, label and YAML order, and the quantities at its read point."""
    rows = {run_id: summarize_run(metrics[metrics["run_id"] == run_id], analysis) for run_id in runs.index}
    summaries = add_configurations(runs).join(pd.DataFrame.from_dict(rows, orient="index"))
    summaries["run"] = [str(run_id)[:8] for run_id in summaries.index]
    # YAML order: the grid point a sweep trial trained (the incumbent, -1, first); runs without one
    # (not a sweep's) in the order they started.
    point = pd.to_numeric(summaries["point"], errors="coerce") if "point" in summaries else None
    started = summaries["start_time"] if "start_time" in summaries else pd.Series(0, index=summaries.index)
    fallback = 1e6 + started.rank(method="first").fillna(0)
    summaries["order"] = point.fillna(fallback) if point is not None else fallback
    return summaries
