"""What only a sweep worker builds: the eval split held in memory, the traced training steps
reused across trials, and the trials' MLflow runs. A `TrialRunner` queues a phase's trials (once,
across workers) and trains this worker's share of them.

The coordinator of `--workers N` never builds one: it only starts the workers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.sweep_runs import SweepRuns
from burgerfries.jobs.train import TrainSettings, train
from burgerfries.keys import STUDY_KNOBS, SweepRole, Tag
from burgerfries.report.configurations import config_key
from burgerfries.sweep.definition import Phase
from burgerfries.sweep.plan import SweepPlan
from burgerfries.sweep.storage import (
    POLL_SECONDS,
    QUEUED,
    completed_trials,
    fail_dead_trials,
    failed_run_ids,
    once,
    open_study,
    queue_trials,
    retried_trials,
    settled_trials,
    trials_in,
    worker_name,
)
from burgerfries.sweep.trials import config_of, phase_trials, trial_config, varied_label
from burgerfries.training.setups import TrainingSetups

SHORT_NAMES = {"ssd_mobilenet_v2_320x320": "ssd", "ssd_mobilenet_v2_fpnlite_320x320": "fpnlite"}
# Unweighted: a search over loss weights must not favour small weights (selection.loss_basis)
OBJECTIVE = "eval/loss_total_unweighted"


class TrialRunner:
    """Trains a sweep's trials in this process; any number of runners (in other processes or
    machines) may share one plan's storage."""

    def __init__(self, plan: SweepPlan, storage: RDBStorage, runs: SweepRuns, progress: bool):
        self.plan = plan
        self.storage = storage
        self.runs = runs
        self.progress = progress
        self.evaluation = Evaluation(plan.data, score_threshold=plan.definition.analysis.score_threshold)
        self.setups = TrainingSetups()  # one traced step per shape, reused across trials
        # model → {(configuration key, seed): (MLflow run id, configuration)} of finished trials so
        # far, so a later phase reuses a configuration already trained with the same seed
        self.trained: dict[str, dict[tuple[str, int], tuple[str, dict[str, Any]]]] = {
            model: {} for model in plan.definition.models
        }

    @staticmethod
    def _trained_key(model: str, config: dict[str, Any]) -> tuple[str, int]:
        return config_key({**config, "model": model}), int(config["seed"])

    def remember(self, model: str, study: optuna.Study) -> None:
        """Record the study's finished trials, for later phases to reuse."""
        for trial in completed_trials(study):
            config = trial.user_attrs["config"]
            self.trained[model][self._trained_key(model, config)] = (trial.user_attrs["mlflow_run_id"], config)

    def config_of_run(self, model: str, run_id: str) -> dict[str, Any]:
        """The configuration (with seed) of a finished trial run of `model`."""
        return next(config for trained_id, config in self.trained[model].values() if trained_id == run_id)

    def open_phase(
        self, phase: Phase, model: str, inherited: dict[str, Any], phase_id: str
    ) -> tuple[optuna.Study, dict[str, str]]:
        """The (phase, model) study, its trials queued by whichever worker opened it first, and the
        runs it reuses ({run id: label}): configurations already trained with the same seed."""
        plan = self.plan
        study = open_study(self.storage, plan.study_name(phase.name, model), searched=not phase.is_grid)

        def queue() -> dict[str, Any]:
            entries, reused = [], {}
            for entry in phase_trials(plan.definition, phase, inherited, plan.repeats, plan.noise_seeds):
                config = config_of(plan.definition, phase, inherited, entry)
                earlier = self.trained[model].get(self._trained_key(model, config)) if config else None
                if earlier is None:
                    entries.append(entry)
                else:
                    reused[earlier[0]] = varied_label(phase, config)
            queue_trials(study, entries)
            if reused:
                self.runs.record_reused(phase_id, model, reused)
            return {"queued": len(entries), "reused": reused}

        what = f"queue the trials of phase {phase.name} for {model}"
        queued = once(self.storage, plan.once_name(f"{phase.name}:{model}:queue"), queue, what)
        return study, queued["reused"]

    def _settings(self, phase: Phase, model: str, config: dict[str, Any], label: str, number: int) -> TrainSettings:
        definition = self.plan.definition
        varied = varied_label(phase, config)
        is_base = all(config.get(k) == v for k, v in definition.base.items())
        return TrainSettings(
            data=self.plan.data,
            model=model,
            **{knob: config[knob] for knob in STUDY_KNOBS},
            num_steps=config.get("num_steps"),
            profile=self.plan.profile,
            seed=config["seed"],
            weights=Path(definition.weights[model]) if model in definition.weights else None,
            restore=definition.restore[model],
            checkpoint_root=self.plan.checkpoint_root,
            resumable=False,  # a dead trial is retried from its start, in a new run
            experiment=definition.name,
            nested=True,
            run_name=f"{label} · {SHORT_NAMES.get(model, model)} {phase.name}={varied} seed {config['seed']}",
            tags={
                Tag.PHASE: phase.name,
                Tag.TRIAL: str(number),
                Tag.STUDY: definition.name,
                Tag.VARIED: varied,
                Tag.IS_BASE: str(is_base).lower(),
                Tag.SWEEP_ROLE: SweepRole.TRIAL,
                Tag.WORKER: worker_name(),
            },
        )

    def _objective(self, phase: Phase, model: str, inherited: dict[str, Any], label: str):
        plan = self.plan

        def objective(trial: optuna.Trial) -> float:
            if not trial.user_attrs.get(QUEUED):
                # Another worker took the last queued trial between our look and our ask: Optuna
                # then samples a new one, which no configuration asked for.
                raise optuna.TrialPruned("no queued trial left")
            config = trial_config(plan.definition, phase, inherited, trial, plan.repeats, plan.noise_seeds)
            # A retry inherits the dead trial's run id. If that run finished, its worker died after
            # training but before Optuna recorded the result: use the run instead of training it twice.
            dead_run = trial.user_attrs.get("mlflow_run_id")
            if dead_run:
                value = self.runs.finished_value(dead_run, OBJECTIVE)
                if value is not None:
                    print(f"{label} · {model}: run {dead_run} finished before its worker died; using it", flush=True)
                    return value
            trial.set_user_attr("config", config)
            trial.set_user_attr("worker", worker_name())
            result = train(
                self._settings(phase, model, config, label, trial.number),
                self.evaluation,
                progress=self.progress,
                on_run_start=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id),
                setups=self.setups,
            )
            final = result.eval_metrics.get(result.step, {})
            return float(final.get(OBJECTIVE, float("nan")))

        return objective

    def train_queued(
        self, phase: Phase, studies: dict[str, optuna.Study], inherited: dict[str, dict], label: str
    ) -> None:
        """Train queued trials (this worker's share) until none waits, then wait for the trials
        other workers run; a dead worker's trial is failed after its heartbeat's grace period,
        queued again, and trained here if no one else takes it first."""
        waiting_said = False
        while True:
            for model, study in studies.items():
                fail_dead_trials(study)
                self.runs.mark_killed(failed_run_ids(study))
                while trials_in(study, TrialState.WAITING):
                    total = len(trials_in(study)) - len(retried_trials(study))
                    print(f"{label} · {model}: trial {len(settled_trials(study)) + 1} of {total}", flush=True)
                    study.optimize(
                        self._objective(phase, model, inherited[model], label),
                        n_trials=1,
                        catch=(Exception,),
                        gc_after_trial=True,
                    )
                    waiting_said = False
            running = sum(len(trials_in(study, TrialState.RUNNING, TrialState.WAITING)) for study in studies.values())
            if not running:
                return
            if not waiting_said:
                print(f"{label}: waiting for {running} trial(s) running in other workers", flush=True)
                waiting_said = True
            time.sleep(POLL_SECONDS)
