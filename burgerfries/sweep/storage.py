"""Optuna's side of a sweep: one study per (phase, model) in an RDB storage with heartbeats, the
sampler that walks a phase's grid or searches its ranges, and recovery of trials whose process died.

Resume: re-running the same command after a crash (even SIGKILL) waits out the dead trial's
heartbeat grace period, marks the trial failed and re-queues it (RetryHeartbeatStaleTrialCallback).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from burgerfries.sweep.definition import Phase

HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 15
MAX_RETRY = 2


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


def open_study(storage_url: str, study_name: str, phase: Phase, repeats: int) -> optuna.Study:
    storage = RDBStorage(
        storage_url,
        heartbeat_interval=HEARTBEAT_SECONDS,
        grace_period=GRACE_SECONDS,
        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
    )
    if phase.is_grid:
        sampler = optuna.samplers.GridSampler(
            {"point": list(range(len(phase.points))), "seed": list(range(repeats))}, seed=0
        )
    else:
        sampler = optuna.samplers.TPESampler(seed=0)
    return optuna.create_study(
        study_name=study_name, storage=storage, sampler=sampler, direction="minimize", load_if_exists=True
    )


def recover_dead_trials(study: optuna.Study) -> list[str]:
    """Fail trials whose process died (no heartbeat) so they are re-queued; returns the MLflow run
    ids of every failed trial, for the caller to mark the ones still RUNNING as KILLED."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if running:
        print(f"{len(running)} trial(s) still marked running; waiting {GRACE_SECONDS} s for their heartbeat to expire")
        time.sleep(GRACE_SECONDS + 1)
        optuna.storages.fail_stale_trials(study)
    return [
        trial.user_attrs["mlflow_run_id"]
        for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        if "mlflow_run_id" in trial.user_attrs
    ]


def settled_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials that settle a configuration: finished ones, and failures that are not re-queued
    (a NaN loss fails for good; a dead process's trial is retried)."""
    trials = study.get_trials(deepcopy=False)
    retried = {number for t in trials for number in RetryHeartbeatStaleTrialCallback.retry_history(t)}
    return [
        t for t in trials if t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and t.number not in retried)
    ]


def completed_trials(study: optuna.Study) -> list[FrozenTrial]:
    return [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if "mlflow_run_id" in t.user_attrs
    ]
