"""The report's only contact with MLflow: runs and metric histories into pandas frames.

A report can be rebuilt later from any machine that reaches the tracking store, so nothing here
reads local files other than what MLflow returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

REPORT_METRICS = ("eval/loss_total", "eval/mAP_50", "eval/AR_1", "eval/AR_10", "eval/AR_100", "eval/wrong_detections",
                  "train/loss_total", "train/steps_per_sec")
PARAM_COLUMNS = ("model", "batch_size", "learning_rate", "classification_weight", "localization_weight", "num_steps",
                 "profile", "seed")


@dataclass
class StudyRuns:
    title: str
    runs: pd.DataFrame  # one row per training run, index run_id
    metrics: pd.DataFrame  # long: run_id, key, step, value
    parent: Run | None = None
    phases: dict[str, Run] = field(default_factory=dict)


def _run_row(run: Run) -> dict[str, object]:
    params, tags = run.data.params, run.data.tags
    row = {"run_id": run.info.run_id, "name": run.info.run_name or run.info.run_id[:8], "status": run.info.status,
           "phase": tags.get("phase", ""), "trial": tags.get("trial", ""), "dataset_hash": tags.get("dataset_hash", ""),
           "code_version": tags.get("code_version", tags.get("mlflow.source.git.commit", "")),
           "is_base": tags.get("is_base", "") == "true", "varied": tags.get("varied", "")}
    for column in PARAM_COLUMNS:
        row[column] = params.get(column, tags.get(column, ""))
    return row


def metrics_of(client: mlflow.MlflowClient, run_ids: list[str]) -> pd.DataFrame:
    rows = []
    for run_id in run_ids:
        for key in REPORT_METRICS:
            for metric in client.get_metric_history(run_id, key):
                rows.append((run_id, key, metric.step, metric.value))
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value"])


def _training_runs(client: mlflow.MlflowClient, experiment_ids: list[str], filter_string: str = "") -> list[Run]:
    runs = client.search_runs(experiment_ids, filter_string, max_results=5000)
    return [run for run in runs if "model" in run.data.params]


def read_experiment(experiment: str) -> StudyRuns:
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise ValueError(f"experiment {experiment!r} not found in {mlflow.get_tracking_uri()}")
    runs = _training_runs(client, [found.experiment_id])
    if not runs:
        raise ValueError(f"experiment {experiment!r} has no training runs")
    frame = pd.DataFrame([_run_row(run) for run in runs]).set_index("run_id")
    return StudyRuns(experiment, frame, metrics_of(client, list(frame.index)))


def read_sweep(parent_run_id: str) -> StudyRuns:
    """A sweep's parent run, its phase runs (children) and their trials (grandchildren)."""
    client = mlflow.MlflowClient()
    try:
        parent = client.get_run(parent_run_id)
    except MlflowException as error:
        raise ValueError(f"run {parent_run_id!r} not found in {mlflow.get_tracking_uri()}") from error
    experiment_ids = [parent.info.experiment_id]
    phases = client.search_runs(experiment_ids, f"tags.mlflow.parentRunId = '{parent_run_id}'", max_results=1000)
    trials: list[Run] = []
    for phase in phases:
        trials.extend(_training_runs(client, experiment_ids, f"tags.mlflow.parentRunId = '{phase.info.run_id}'"))
    if not trials:
        raise ValueError(f"run {parent_run_id} has no trial runs under its phase runs — is it a sweep's parent run?")
    frame = pd.DataFrame([_run_row(run) for run in trials]).set_index("run_id")
    title = parent.data.tags.get("study", parent.info.run_name or parent_run_id)
    return StudyRuns(title, frame, metrics_of(client, list(frame.index)), parent,
                     {phase.data.tags.get("phase", phase.info.run_name): phase for phase in phases})


def side_by_side_images(run_id: str, folder: Path, limit: int = 3) -> list[Path]:
    """The run's last evaluation images (ground truth | detections), downloaded into `folder`."""
    client = mlflow.MlflowClient()
    try:
        steps = [a.path for a in client.list_artifacts(run_id, "eval_images") if a.is_dir]
        if not steps:
            return []
        last = max(steps, key=lambda path: int(path.rsplit("_", 1)[-1]))
        images = [a.path for a in client.list_artifacts(run_id, last) if a.path.endswith(".png")][:limit]
        return [Path(client.download_artifacts(run_id, path, str(folder))) for path in images]
    except (MlflowException, OSError):
        return []
