"""MLflow's plumbing, shared by the jobs (the only other modules that import mlflow): the
tracking-URI default, the experiment a job logs into, run start/finish, and buffered metrics.

One `log_metric` call costs milliseconds on the sqlite store (2.3 ms in bench/RESULTS.md) — a large
share of a CPU training step of a small model — so every per-step metric goes through
`MetricBuffer`, which sends `log_batch` calls.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow.entities import Metric, Param

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
# What the user set, read before anything here runs: `mlflow.set_experiment` writes
# MLFLOW_EXPERIMENT_ID into this process's environment itself.
USER_EXPERIMENT_ENV = {key: os.environ.get(key) for key in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")}
MAX_BATCH_METRICS = 1000  # MLflow's own limit per log_batch call
MAX_BATCH_PARAMS = 100
MAX_PARAM_LENGTH = 6000


def configure_tracking() -> str:
    """Use MLFLOW_TRACKING_URI when set, else a sqlite store in the working directory."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    return uri


def open_store() -> None:
    """Open the tracking store in this process, which creates a new sqlite store's tables. Local
    sweep workers started together on an empty sqlite file would each create them, and one's schema
    migration then fails against the other's (alembic `batch_alter_table`, seen in
    tests/jobs/test_scale_out.py), so the command that starts them opens the store first."""
    mlflow.MlflowClient().search_experiments(max_results=1)


def resolve_experiment(explicit: str | None, default: str) -> str | None:
    """The experiment a job logs into: `--experiment` when given; else whatever MLflow's own
    MLFLOW_EXPERIMENT_NAME / MLFLOW_EXPERIMENT_ID said when the process started (None: MLflow
    reads the id itself); else the job's default name."""
    if explicit:
        return explicit
    if USER_EXPERIMENT_ENV["MLFLOW_EXPERIMENT_NAME"]:
        return USER_EXPERIMENT_ENV["MLFLOW_EXPERIMENT_NAME"]
    if USER_EXPERIMENT_ENV["MLFLOW_EXPERIMENT_ID"]:
        return None  # MLflow reads the id itself
    return default


def activate_experiment(name: str) -> str:
    """Make the experiment `name` (created if missing) the active one; returns its id.

    When two processes create the same experiment at once, MLflow's `set_experiment` returns the
    one the other created without making it active (its RESOURCE_ALREADY_EXISTS branch), and runs
    started next land in the Default experiment. Activating it by id closes that gap."""
    experiment = mlflow.set_experiment(name)
    return mlflow.set_experiment(experiment_id=experiment.experiment_id).experiment_id


@contextmanager
def tracked_run(
    experiment: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    nested: bool = False,
    run_id: str | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """Start (or, under `mlflow run`, continue) a run; an exception marks it FAILED, Ctrl-C KILLED."""
    configure_tracking()
    if experiment and not os.environ.get("MLFLOW_RUN_ID") and not run_id and not nested:
        activate_experiment(experiment)
    tags = {"code_version": code_version(), **dict(tags or {})} if not run_id else dict(tags or {})
    run = mlflow.start_run(run_id=run_id, run_name=None if run_id else run_name, tags=tags, nested=nested)
    try:
        yield run
    except KeyboardInterrupt:
        mlflow.end_run("KILLED")
        raise
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    else:
        mlflow.end_run("FINISHED")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit of this checkout ('+dirty' when it has uncommitted changes), or ''."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{commit}+dirty" if commit and dirty else commit


def log_params(params: Mapping[str, object], run_id: str | None = None) -> None:
    """Log many params in few calls; values longer than MLflow accepts are cut, not refused.

    Under `mlflow run` the entry point's parameters are already logged as the user typed them
    (`out=data/prepared`); MLflow refuses to change a param, so a value we resolved differently
    (`/abs/data/prepared`) goes under `<key>.resolved` instead.
    """
    client = mlflow.MlflowClient()
    run_id = run_id or mlflow.active_run().info.run_id
    existing = client.get_run(run_id).data.params
    items = []
    for key, value in params.items():
        key, text = str(key), str(value)[:MAX_PARAM_LENGTH]
        if key in existing:
            if existing[key] == text:
                continue
            key = f"{key}.resolved"
        items.append(Param(key, text))
    for start in range(0, len(items), MAX_BATCH_PARAMS):
        client.log_batch(run_id, params=items[start : start + MAX_BATCH_PARAMS], synchronous=True)


class MetricBuffer:
    """Collects metrics and sends them with `log_batch` every `flush_every` seconds (and on close)."""

    def __init__(self, run_id: str, flush_every: float = 5.0):
        self.run_id = run_id
        self.flush_every = flush_every
        self.pending: list[Metric] = []
        self.last_flush = time.monotonic()
        self.seconds_spent = 0.0  # time inside MLflow calls, to report tracking overhead
        self.client = mlflow.MlflowClient()

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        timestamp = int(time.time() * 1000)
        self.pending.extend(Metric(key, float(value), timestamp, int(step)) for key, value in metrics.items())
        if time.monotonic() - self.last_flush >= self.flush_every or len(self.pending) >= MAX_BATCH_METRICS:
            self.flush()

    def flush(self) -> None:
        started = time.monotonic()
        while self.pending:
            batch, self.pending = self.pending[:MAX_BATCH_METRICS], self.pending[MAX_BATCH_METRICS:]
            self.client.log_batch(self.run_id, metrics=batch, synchronous=True)
        self.last_flush = time.monotonic()
        self.seconds_spent += self.last_flush - started

    def __enter__(self) -> MetricBuffer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.flush()


def log_artifact_files(paths: list[Path], artifact_path: str | None = None) -> None:
    for path in paths:
        if Path(path).exists():
            mlflow.log_artifact(str(path), artifact_path)


def log_pictures(pictures: Mapping[str, object], folder: str) -> None:
    """PIL images into the active run as `folder/<name>.png` (nothing when no run is active)."""
    if mlflow.active_run() is None:
        return
    for name, picture in pictures.items():
        mlflow.log_image(picture, f"{folder}/{name}.png")
