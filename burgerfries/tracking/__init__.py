"""MLflow's plumbing, shared by the jobs (the only other modules that import mlflow): the
tracking-URI default and its reachability check, the experiment a job logs into, run start/finish
(with system metrics), a data folder's splits as dataset inputs, and buffered metrics.

One `log_metric` call costs milliseconds on the sqlite store (bench/RESULTS.md) — a large
share of a CPU training step of a small model — so every per-step metric goes through
`MetricBuffer`, which sends `log_batch` calls.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import Metric, Param

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
# What the user set, read before anything here runs: `mlflow.set_experiment` writes
# MLFLOW_EXPERIMENT_ID into this process's environment itself.
USER_EXPERIMENT_ENV = {key: os.environ.get(key) for key in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")}
MAX_BATCH_METRICS = 1000  # MLflow's own limit per log_batch call
MAX_BATCH_PARAMS = 100
MAX_PARAM_LENGTH = 6000
MAX_DIGEST_LENGTH = 36  # MLflow's datasets table holds digests up to 36 characters
# MLflow samples every 10 s by default: one or two samples of a smoke trial (20–40 s).
SYSTEM_METRICS_SECONDS = 2
REACH_SECONDS = 5.0  # how long a tracking server or database may take to answer the first check
# The experiment tag MLflow's UI (3.x) reads to choose its view; without it an experiment opens as
# a GenAI one (traces first, logged models as "agent versions").
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
TRAINING_KIND = "custom_model_development"
LOCAL_UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default


class TrackingUnreachable(ConnectionError):
    """The tracking store cannot be reached; the message names its URI (password hidden)."""


def configure_tracking() -> str:
    """Use MLFLOW_TRACKING_URI when set, else a sqlite store in the working directory; checked
    once per process, so an unreachable server is one line instead of MLflow's minutes of retries."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    check_reachable(uri)
    # Each trial's run would print MLflow's start and stop lines of its system-metrics sampler,
    # and a progress bar for each artifact it copies into its logged model.
    logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(uri)
    return uri


@functools.lru_cache(maxsize=4)
def check_reachable(uri: str, timeout: float = REACH_SECONDS) -> None:
    """Raise TrackingUnreachable unless the tracking server (http/https: its /health page) or
    database (a SQLAlchemy URL: one connection) answers within `timeout` seconds."""
    import urllib.error
    import urllib.request

    import sqlalchemy

    scheme = uri.split(":", 1)[0].lower()
    shown = uri if scheme in ("http", "https") else scheme + ":…"  # (a URL SQLAlchemy cannot parse: no password shown)
    try:
        if scheme in ("http", "https"):
            urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).close()
        elif scheme.split("+")[0] in ("sqlite", "postgresql", "mysql", "mssql"):
            url = sqlalchemy.engine.make_url(uri)
            shown = url.render_as_string(hide_password=True)
            if scheme == "sqlite":
                folder = Path(url.database or ".").resolve().parent
                if not folder.is_dir():
                    raise TrackingUnreachable(f"tracking store {shown}: folder {folder} does not exist")
                return
            connect_args = {"connect_timeout": int(timeout)} if scheme.startswith("postgresql") else {}
            engine = sqlalchemy.create_engine(url, connect_args=connect_args)
            try:
                engine.connect().close()
            finally:
                engine.dispose()
    except TrackingUnreachable:
        raise
    except (OSError, urllib.error.URLError, sqlalchemy.exc.SQLAlchemyError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "orig", None) or error
        reason = str(reason).strip().splitlines()[0] if str(reason).strip() else type(error).__name__
        raise TrackingUnreachable(
            f"tracking store {shown} is not reachable ({reason}); check MLFLOW_TRACKING_URI"
        ) from None


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
    system_metrics: bool = False,
) -> Iterator[mlflow.ActiveRun]:
    """Start (or, under `mlflow run`, continue) a run; an exception marks it FAILED, Ctrl-C KILLED.
    `system_metrics`: MLflow samples CPU, memory (and GPU, where one is visible) into the run
    every SYSTEM_METRICS_SECONDS while it is open."""
    configure_tracking()
    if experiment and not os.environ.get("MLFLOW_RUN_ID") and not run_id and not nested:
        activate_experiment(experiment)
    tags = {"code_version": code_version(), **dict(tags or {})} if not run_id else dict(tags or {})
    if system_metrics:
        mlflow.set_system_metrics_sampling_interval(SYSTEM_METRICS_SECONDS)
    run = mlflow.start_run(
        run_id=run_id,
        run_name=None if run_id else run_name,
        tags=tags,
        nested=nested,
        log_system_metrics=system_metrics,
    )
    mark_training_experiment(run.info.experiment_id)
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


@contextmanager
def entry_run_as_parent() -> Iterator[bool]:
    """Under `mlflow run` (MLFLOW_RUN_ID set), the entry point's run is active while the block
    runs, so a step the job runs first (preparing a data folder) starts as its child instead of
    taking the run over; afterwards the job's own run continues the entry run as before. Yields
    whether there was an entry run."""
    entry = os.environ.pop("MLFLOW_RUN_ID", None)  # (MLflow would resume it for the step's run)
    if not entry or mlflow.active_run() is not None:
        if entry:
            os.environ["MLFLOW_RUN_ID"] = entry
        yield False
        return
    mlflow.start_run(run_id=entry)
    try:
        yield True
    finally:
        mlflow.end_run()
        os.environ["MLFLOW_RUN_ID"] = entry


def mark_training_experiment(experiment_id: str) -> None:
    """Tag the experiment as model training for MLflow's UI (once per experiment, store and
    process), unless someone gave it a kind already."""
    _mark_training_experiment(mlflow.get_tracking_uri(), experiment_id)


@functools.lru_cache(maxsize=64)
def _mark_training_experiment(tracking_uri: str, experiment_id: str) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    if EXPERIMENT_KIND_TAG not in client.get_experiment(experiment_id).tags:
        client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, TRAINING_KIND)


def ui_link(experiment_id: str) -> str:
    """The experiment's runs in MLflow's UI, in its model-training view. MLflow 3.17's UI opens
    every experiment in its GenAI view (a global toggle that defaults to GenAI decides, whatever
    the experiment's kind tag says; bench/RESULTS.md), unless the link names the view."""
    uri = mlflow.get_tracking_uri()
    base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else LOCAL_UI
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def ui_hint(experiment_id: str) -> str:
    """One line: how to see the experiment's runs in MLflow's UI."""
    uri = mlflow.get_tracking_uri()
    start = "" if uri.startswith(("http://", "https://")) else f"`mlflow ui --backend-store-uri {uri}`, then "
    return f"MLflow UI: {start}{ui_link(experiment_id)}"


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


def split_dataset(folder: Path, split: str, digest: str) -> MetaDataset:
    """A data_prep folder's `split` as an MLflow dataset: named `<folder name>/<split>`, its digest
    the data_prep content hash (`digest`), its source the folder."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source

    with warnings.catch_warnings():  # MLflow registers the local-path source twice and says so
        warnings.simplefilter("ignore")
        source = resolve_dataset_source(str(Path(folder).resolve()))
    return MetaDataset(source, name=f"{Path(folder).name}/{split}", digest=digest[:MAX_DIGEST_LENGTH])


# Each data_prep split's MLflow dataset context (the runs table's Dataset column)
SPLIT_CONTEXTS = {"train": "training", "validation": "validation", "eval": "testing"}


def log_split_inputs(
    folder: Path, digest: str, splits: Mapping[str, str], run_id: str | None = None
) -> dict[str, MetaDataset]:
    """Log each {split: context} of a data_prep folder as an input of `run_id` (default: the
    active run; the runs table's Dataset column); the datasets, to link metrics to."""
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    datasets = {split: split_dataset(folder, split, digest) for split in splits}
    inputs = [
        DatasetInput(datasets[split]._to_mlflow_entity(), tags=[InputTag(MLFLOW_DATASET_CONTEXT, context)])
        for split, context in splits.items()
    ]
    mlflow.MlflowClient().log_inputs(run_id or mlflow.active_run().info.run_id, datasets=inputs)
    return datasets


class MetricBuffer:
    """Collects metrics and sends them with `log_batch` every `flush_every` seconds (and on close)."""

    def __init__(self, run_id: str, flush_every: float = 5.0):
        self.run_id = run_id
        self.flush_every = flush_every
        self.pending: list[Metric] = []
        self.last_flush = time.monotonic()
        self.seconds_spent = 0.0  # time inside MLflow calls, to report tracking overhead
        self.client = mlflow.MlflowClient()

    def log(
        self, metrics: Mapping[str, float], step: int, model_id: str | None = None, dataset: MetaDataset | None = None
    ) -> None:
        """Queue `metrics` at `step`; with `model_id` and `dataset` they are also linked to that
        logged model (a checkpoint) and the dataset they were measured on."""
        timestamp = int(time.time() * 1000)
        name, digest = (dataset.name, dataset.digest) if dataset is not None else (None, None)
        self.pending.extend(
            Metric(key, float(value), timestamp, int(step), model_id=model_id, dataset_name=name, dataset_digest=digest)
            for key, value in metrics.items()
        )
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


@contextmanager
def quiet_mlflow(logger: str) -> Iterator[None]:
    """MLflow's INFO and WARNING lines from `logger` held back while the block runs (its errors
    still show)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


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
