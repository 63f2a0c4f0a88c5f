"""The tracking store read back: a sweep's or an experiment's runs and their metric histories as a
`RunSet` (data frames), the settings a sweep ran with, and one finished run's summary value —
what the sweep's decisions and the report are computed from. Runs that had ended when read are
kept per process: they cannot change, and a sweep reads itself back after every phase.
"""

from __future__ import annotations

import json

import mlflow
import pandas as pd
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from burgerfries.decision.settings import DecisionSettings
from burgerfries.keys import KNOB_TYPES, SweepRole, Tag, per_model
from burgerfries.metrics import SUMMARY_KEYS
from burgerfries.runs.analysis_settings import AnalysisSettings
from burgerfries.runs.configurations import config_key
from burgerfries.runs.run_set import RunSet
from burgerfries.runs.summary import summarize_runs

PARAM_COLUMNS = ("model", *KNOB_TYPES, "profile", "seed")


def _run_row(run: Run) -> dict[str, object]:
    params, tags = run.data.params, run.data.tags
    row = {
        "run_id": run.info.run_id,
        "name": run.info.run_name or run.info.run_id[:8],
        "status": run.info.status,
        "phase": tags.get(Tag.PHASE, ""),
        "trial": tags.get(Tag.TRIAL, ""),
        "dataset_hash": tags.get(Tag.DATASET_HASH, ""),
        "code_version": tags.get(Tag.CODE_VERSION, tags.get("mlflow.source.git.commit", "")),
        "is_base": tags.get(Tag.IS_BASE, "") == "true",
        "varied": tags.get(Tag.VARIED, ""),
        "point": tags.get(Tag.POINT, ""),
        "start_time": run.info.start_time or 0,
        "why": tags.get(Tag.STOPPED_EARLY, tags.get(Tag.KILLED_REASON, "")),
    }
    for column in PARAM_COLUMNS:
        row[column] = params.get(column, tags.get(column, ""))
    return row


# Metric histories of runs that had ended when read, by (tracking URI, run id): they cannot change,
# and a sweep reads its runs back after every phase (the sweep's decisions, then its report).
_ENDED_HISTORIES: dict[tuple[str, str], list[tuple[str, str, int, float]]] = {}
ENDED = ("FINISHED", "FAILED", "KILLED")


def metrics_of(client: mlflow.MlflowClient, run_ids: list[str], ended: set[str] = frozenset()) -> pd.DataFrame:
    """The metric histories of `run_ids`, long; those of `ended` runs are read once per process."""
    rows = []
    uri = mlflow.get_tracking_uri()
    for run_id in run_ids:
        cached = _ENDED_HISTORIES.get((uri, run_id))
        if cached is None:
            cached = [
                (run_id, key, metric.step, metric.value)
                for key in SUMMARY_KEYS
                for metric in client.get_metric_history(run_id, key)
            ]
            if run_id in ended:
                _ENDED_HISTORIES[(uri, run_id)] = cached
        rows.extend(cached)
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value"])


def _ended(frame: pd.DataFrame) -> set[str]:
    return set(frame.index[frame["status"].isin(ENDED)])


# A sweep's prior by (tracking URI, parent run id): the runs that finished before the sweep started
# cannot change, and a sweep reads itself back after every phase.
_PRIORS: dict[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]] = {}


def read_prior(client: mlflow.MlflowClient, parent: Run, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Earlier sweeps' finished trial runs of the same models, profile and data as `runs` (a
    sweep's), started before its parent run: the noise estimate's prior (`decision/noise.py`)."""
    key = (mlflow.get_tracking_uri(), parent.info.run_id)
    if key not in _PRIORS:
        _PRIORS[key] = _read_prior(client, parent, runs)
    return _PRIORS[key]


def _read_prior(client: mlflow.MlflowClient, parent: Run, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    earlier = client.search_runs(
        [parent.info.experiment_id],
        f"tags.{Tag.SWEEP_ROLE} = '{SweepRole.TRIAL}' and attributes.status = 'FINISHED' "
        f"and attributes.start_time < {parent.info.start_time}",
        max_results=5000,
    )
    wanted = set(zip(runs["model"], runs["profile"], runs["dataset_hash"]))
    rows = [_run_row(run) for run in earlier if run.info.run_id not in runs.index]
    rows = [row for row in rows if (row["model"], row["profile"], row["dataset_hash"]) in wanted]
    if not rows:
        return pd.DataFrame(), pd.DataFrame(columns=["run_id", "key", "step", "value"])
    frame = pd.DataFrame(rows).set_index("run_id")
    return frame, metrics_of(client, list(frame.index), set(frame.index))


def read_runs(run_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """These runs as the report reads them: (one row per run, long metrics)."""
    client = mlflow.MlflowClient()
    frame = pd.DataFrame([_run_row(client.get_run(run_id)) for run_id in run_ids]).set_index("run_id")
    return frame, metrics_of(client, run_ids, _ended(frame))


def _training_runs(client: mlflow.MlflowClient, experiment_ids: list[str], filter_string: str = "") -> list[Run]:
    runs = client.search_runs(experiment_ids, filter_string, max_results=5000)
    return [run for run in runs if "model" in run.data.params]


def read_experiment(experiment: str) -> RunSet:
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise ValueError(f"experiment {experiment!r} not found in {mlflow.get_tracking_uri()}")
    runs = _training_runs(client, [found.experiment_id])
    if not runs:
        raise ValueError(f"experiment {experiment!r} has no training runs")
    frame = pd.DataFrame([_run_row(run) for run in runs]).set_index("run_id")
    return RunSet(experiment, frame, metrics_of(client, list(frame.index)), tracking_uri=mlflow.get_tracking_uri())


def read_sweep(parent_run_id: str) -> RunSet:
    """A sweep's parent run, its phase runs (children) and their trials (grandchildren)."""
    client = mlflow.MlflowClient()
    try:
        parent = client.get_run(parent_run_id)
    except MlflowException as error:
        raise ValueError(f"run {parent_run_id!r} not found in {mlflow.get_tracking_uri()}") from error
    experiment_ids = [parent.info.experiment_id]
    phases = client.search_runs(experiment_ids, f"tags.mlflow.parentRunId = '{parent_run_id}'", max_results=1000)
    rows: list[dict[str, object]] = []
    reused: list[tuple[str, str, object]] = []  # (run id, the phase that reuses it, its label and point there)
    references: dict[tuple[str, str], str] = {}  # (phase, model) → a reference race's reference
    for phase in phases:
        trials = _training_runs(client, experiment_ids, f"tags.mlflow.parentRunId = '{phase.info.run_id}'")
        rows.extend({**_run_row(run), "reused_from": ""} for run in trials)
        for key, value in phase.data.tags.items():
            if key.startswith(per_model(Tag.REFERENCE, "")):
                # re-keyed with today's knobs: a key recorded before a knob existed lacks it
                reference = config_key(json.loads(value))
                references[(phase.data.tags[Tag.PHASE], key.removeprefix(per_model(Tag.REFERENCE, "")))] = reference
            if key.startswith(per_model(Tag.REUSED, "")):  # runs of earlier phases this phase counted as its own
                reused.extend(
                    (run_id, phase.data.tags[Tag.PHASE], label) for run_id, label in json.loads(value).items()
                )
    read = {row["run_id"]: row for row in rows}  # a reused run was read with its own phase
    for run_id, phase_name, there in reused:
        row = dict(read[run_id]) if run_id in read else _run_row(client.get_run(run_id))
        # {"label", "point"} since the phases race an incumbent; a bare label before
        label, point = (there["label"], there["point"]) if isinstance(there, dict) else (there, "")
        row.update(reused_from=row["phase"], phase=phase_name, varied=label, point=point)
        rows.append(row)
    if not rows:
        raise ValueError(f"run {parent_run_id} has no trial runs under its phase runs — is it a sweep's parent run?")
    # A reused run appears once per phase it counts in: the index (run id) repeats across phases.
    frame = pd.DataFrame(rows).set_index("run_id")
    frame["reference"] = [references.get((phase, model), "") for phase, model in zip(frame["phase"], frame["model"])]
    title = parent.data.tags.get(Tag.STUDY, parent.info.run_name or parent_run_id)
    prior_runs, prior_metrics = read_prior(client, parent, frame)
    return RunSet(
        title,
        frame,
        metrics_of(client, list(dict.fromkeys(frame.index)), _ended(frame)),
        parent_run_id,
        tracking_uri=mlflow.get_tracking_uri(),
        prior_runs=prior_runs,
        prior_metrics=prior_metrics,
    )


def analysis_of(parent_run_id: str | None) -> tuple[AnalysisSettings, DecisionSettings]:
    """The analysis and decision settings a sweep ran with (tags of its parent run), else the defaults."""
    if not parent_run_id:
        return AnalysisSettings(), DecisionSettings()
    tags = mlflow.MlflowClient().get_run(parent_run_id).data.tags
    analysis = AnalysisSettings.from_mapping(json.loads(tags.get(Tag.ANALYSIS, "{}")))
    settings = tags.get(Tag.DECISION_SETTINGS)
    # (a sweep from before the looks took one look: the confirmation)
    decision = DecisionSettings(**{"looks": 1, **json.loads(settings)}) if settings else DecisionSettings()
    return analysis, decision


def read_run_set(experiment: str | None = None, run_id: str | None = None) -> RunSet:
    """The runs of an experiment, or of a sweep (its parent run id), as the report reads them."""
    if bool(experiment) == bool(run_id):
        raise ValueError("give either an experiment name or a sweep's parent run id")
    return read_sweep(run_id) if run_id else read_experiment(experiment)


def run_value(run_id: str, column: str, analysis: AnalysisSettings) -> float:
    """`column` of one finished run's summary (`last_…` at its last evaluation, else at its read
    point), as the decisions read it: an Optuna trial's value."""
    runs, metrics = read_runs([run_id])
    return float(summarize_runs(runs, metrics, analysis)[column].iloc[0])
