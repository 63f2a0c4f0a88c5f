"""Optuna's side of a sweep: the RDB storage every worker shares, one study per (phase, model)
whose trials are queued up front, and `once`, which lets exactly one worker do a step (create the
parent run, queue a phase, choose its winner, build the report) while the others wait for its
result — recorded in a table of its own in the same database, so the storage lists only studies.

Several workers (processes, on one machine or several) may run the same sweep against one
storage. Each configuration trains exactly once across them because every trial is queued before
any worker asks for one: Optuna hands a WAITING trial to one worker only (a row update under
SELECT … FOR UPDATE on PostgreSQL, under BEGIN IMMEDIATE on sqlite), and a worker asks only while
trials are waiting. A sampler is never asked to invent a trial, so GridSampler's known duplicates
(optuna#2039) cannot happen.

Resume and dead workers: trials send heartbeats; once a trial's heartbeat is older than
`GRACE_SECONDS`, any worker fails it and RetryHeartbeatStaleTrialCallback queues it again.
"""

from __future__ import annotations

import functools
import json
import os
import random
import socket
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

HEARTBEAT_SECONDS = 5
# Generous against HEARTBEAT_SECONDS: a worker sharing its cores with others must never be taken
# for dead while it trains (a live trial failed as stale would train twice).
GRACE_SECONDS = 20
MAX_RETRY = 2
POLL_SECONDS = 2.0
# How long a worker on a sqlite storage waits for another's transaction (heartbeats, claims)
SQLITE_BUSY_SECONDS = 60
SCHEMA_ATTEMPTS = 10
WAIT_FOR_ANOTHER_WORKER_SECONDS = 3600
QUEUED = "queued"  # user attribute of every trial a sweep queued (a retry inherits it)
ENTRY = "entry"  # user attribute: the entry a trial was queued with (sweep/trials.py)
STEPS = "num_steps"  # user attribute: the steps the trial trains, set as it starts (its schedule's length)


class StorageError(RuntimeError):
    """The storage cannot be used as given; the message says what to do."""


def quiet_optuna() -> None:
    """Our own progress lines say what a trial is; Optuna's per-trial INFO lines and its
    experimental-feature warnings (heartbeats) would repeat it."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def default_storage(tracking_uri: str) -> str:
    """Optuna's sqlite file next to the tracking database (or in the working directory)."""
    if tracking_uri.startswith("sqlite:///"):
        return f"sqlite:///{Path(tracking_uri[len('sqlite:///') :]).with_name('optuna.db')}"
    return "sqlite:///optuna.db"


def open_storage(url: str) -> RDBStorage:
    """The shared storage, with heartbeats; on PostgreSQL, connections are checked before use and
    recycled, because the server drops connections left idle through a long trial (optuna#5600);
    on sqlite, each transaction takes the write lock when it begins (serialize_sqlite_transactions)."""
    engine_kwargs: dict[str, Any] = {}
    try:
        sqlalchemy.engine.make_url(url).get_dialect().import_dbapi()
    except ModuleNotFoundError as missing:
        extra = " (pip install -e '.[postgres]')" if url.startswith("postgresql") else ""
        raise StorageError(
            f"--storage {redact(url)}: its database driver ({missing.name}) is not installed{extra}"
        ) from None
    if url.startswith("postgresql"):
        engine_kwargs = {"pool_pre_ping": True, "pool_recycle": 300}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_SECONDS}}
    attempt = 1
    while True:
        try:
            storage = RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
            )
            if url.startswith("sqlite"):
                serialize_sqlite_transactions(storage.engine)
            return storage
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError, sqlalchemy.exc.OperationalError):
            # Workers started together on an empty database all create Optuna's tables; all but
            # one collide ("already exists", optuna#1092). Once one has committed them, a retry
            # finds them and goes on.
            if attempt == SCHEMA_ATTEMPTS:
                raise
            attempt += 1
            time.sleep(random.uniform(0.5, 2.0))


def serialize_sqlite_transactions(engine: sqlalchemy.engine.Engine) -> None:
    """Make each transaction on a sqlite storage take the database's write lock when it begins.

    Optuna hands a WAITING trial to one worker by reading its state and updating it in one
    transaction (SELECT … FOR UPDATE). sqlite ignores FOR UPDATE, and Python's sqlite3 begins a
    transaction only at the first write, so two workers on one sqlite file could both read WAITING
    and both train the trial. With BEGIN IMMEDIATE (SQLAlchemy's recipe for pysqlite transactions),
    the second worker waits, up to SQLITE_BUSY_SECONDS, until the first has committed, then reads RUNNING.
    """

    @sqlalchemy.event.listens_for(engine, "connect")
    def leave_begin_to_sqlalchemy(dbapi_connection, connection_record) -> None:
        dbapi_connection.isolation_level = None

    @sqlalchemy.event.listens_for(engine, "begin")
    def begin_immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before the listeners existed (creating the tables)


def redact(url: str) -> str:
    """The URL without its password, for messages and MLflow params."""
    return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)


CLAIMS = sqlalchemy.Table(
    "burgerfries_claims",
    sqlalchemy.MetaData(),
    sqlalchemy.Column("name", sqlalchemy.String(512), primary_key=True),
    sqlalchemy.Column("worker", sqlalchemy.String(512), nullable=False),
    sqlalchemy.Column("value", sqlalchemy.Text, nullable=True),  # JSON, once the step is done
)


def _claims(storage: RDBStorage) -> sqlalchemy.engine.Engine:
    """The storage's database, with the claims table."""
    return _with_claims_table(storage.engine)


@functools.lru_cache(maxsize=16)
def _with_claims_table(engine: sqlalchemy.engine.Engine) -> sqlalchemy.engine.Engine:
    """`engine` once its claims table exists (created when missing, checked once per engine and
    process; workers racing to create it on PostgreSQL may collide, and the loser retries and finds
    it there)."""
    for attempt in range(1, SCHEMA_ATTEMPTS + 1):
        try:
            CLAIMS.create(engine, checkfirst=True)
            break
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError, sqlalchemy.exc.OperationalError):
            if attempt == SCHEMA_ATTEMPTS:
                raise
            time.sleep(random.uniform(0.5, 2.0))
    return engine


def _claim(engine: sqlalchemy.engine.Engine, name: str) -> dict[str, Any] | None:
    """Claim `name` for this worker; None when claimed here, else the row of whoever holds it."""
    try:
        with engine.begin() as connection:
            connection.execute(CLAIMS.insert().values(name=name, worker=worker_name()))
        return None
    except sqlalchemy.exc.IntegrityError:
        with engine.begin() as connection:
            row = connection.execute(sqlalchemy.select(CLAIMS).where(CLAIMS.c.name == name)).mappings().first()
        return dict(row) if row is not None else {}  # {}: withdrawn between the two statements


def once(storage: RDBStorage, name: str, make: Callable[[], Any], what: str) -> Any:
    """`make()` run by exactly one of the workers sharing `storage`; every worker gets its result.

    The claim is a row of the `burgerfries_claims` table in the storage's database (its primary
    key is the step's name): inserting it succeeds in one worker only. That worker runs `make` and
    stores its (JSON-serialisable) result in the row; the others wait for it. If `make` raises,
    the claim is withdrawn, so another worker (or a rerun) tries again.
    """
    engine = _claims(storage)
    announced = False
    deadline = time.monotonic() + WAIT_FOR_ANOTHER_WORKER_SECONDS
    while True:
        held = _claim(engine, name)
        if held is None:
            break
        if not held:
            continue
        if held["value"] is not None:
            return json.loads(held["value"])
        if time.monotonic() > deadline:
            raise StorageError(
                f"waited {WAIT_FOR_ANOTHER_WORKER_SECONDS} s for {held['worker']} to {what}; if that worker "
                f"died, remove its claim and rerun: DELETE FROM burgerfries_claims WHERE name = '{name}' "
                "(in the sweep's storage database)"
            )
        if not announced:
            print(f"waiting for {held['worker']} to {what}", flush=True)
            announced = True
        time.sleep(POLL_SECONDS)
    try:
        value = make()
    except BaseException:
        with engine.begin() as connection:
            connection.execute(CLAIMS.delete().where(CLAIMS.c.name == name))
        raise
    with engine.begin() as connection:
        connection.execute(CLAIMS.update().where(CLAIMS.c.name == name).values(value=json.dumps(value)))
    return value


def done_value(storage: RDBStorage, name: str) -> Any | None:
    """The result `once` stored under `name`, or None if no worker has finished that step."""
    engine = _claims(storage)
    with engine.begin() as connection:
        value = connection.execute(sqlalchemy.select(CLAIMS.c.value).where(CLAIMS.c.name == name)).scalar()
    return json.loads(value) if value is not None else None


def worker_name() -> str:
    """Who holds a claim, for the waiting workers' messages: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def open_study(
    storage: RDBStorage,
    study_name: str,
    searched: bool,
    maximize: bool,
    metric_name: str,
    pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study:
    """A (phase, model) study; TPE fills in a search phase's ranges, queued trials carry the rest.
    Its direction and value's name are the decision metric's (`maximize` for mAP@0.5); `pruner`
    (this process's) says which trials stop early."""
    sampler = optuna.samplers.TPESampler(seed=0) if searched else optuna.samplers.RandomSampler(seed=0)
    direction = "maximize" if maximize else "minimize"
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        sampler=sampler,
        pruner=pruner or optuna.pruners.NopPruner(),
        direction=direction,
        load_if_exists=True,
    )
    if study.metric_names != [metric_name]:
        study.set_metric_names([metric_name])
    return study


def queue_trials(study: optuna.Study, entries: list[dict[str, Any]], params: list[dict[str, Any]]) -> int:
    """Queue one trial per entry (call it through `once`, so it happens once per study) with its
    fixed parameters (`params`, one mapping per entry); the whole entry is its `ENTRY` user
    attribute (a retry of a dead trial inherits both)."""
    for entry, fixed in zip(entries, params, strict=True):
        study.enqueue_trial(fixed, user_attrs={QUEUED: True, ENTRY: entry})
    return len(entries)


def trials_in(study: optuna.Study, *states: TrialState) -> list[FrozenTrial]:
    """The study's trials in any of `states` (all of them when none is named)."""
    return study.get_trials(deepcopy=False, states=states or None)


def fail_dead_trials(study: optuna.Study) -> None:
    """Fail the running trials whose heartbeat stopped (their retry is queued by the callback)."""
    optuna.storages.fail_stale_trials(study)


def failed_run_ids(study: optuna.Study) -> list[str]:
    """The MLflow run ids of every failed trial, for the caller to mark the ones still RUNNING as KILLED."""
    return [t.user_attrs["mlflow_run_id"] for t in trials_in(study, TrialState.FAIL) if "mlflow_run_id" in t.user_attrs]


def retried_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials of a dead worker that were queued again (their retry stands for them)."""
    trials = study.get_trials(deepcopy=False)
    retried = {number for t in trials for number in RetryHeartbeatStaleTrialCallback.retry_history(t)}
    return [t for t in trials if t.number in retried]


def settled_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials that settle a configuration: finished ones, and failures that are not re-queued
    (a NaN loss fails for good; a dead process's trial is retried)."""
    retried = {t.number for t in retried_trials(study)}
    return [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and t.number not in retried)
    ]


def completed_trials(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in trials_in(study, TrialState.COMPLETE) if "mlflow_run_id" in t.user_attrs]
