"""What only a sweep worker builds: the eval split held in memory, the traced training steps
reused across trials, and the trials' MLflow runs. A `TrialRunner` queues a phase's trials (once,
across workers) and trains this worker's share of them.

The coordinator of `--workers N` never builds one: it only starts the workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import mlflow
import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from burgerfries.data.folder import TEST, VALIDATION
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.sweep.runs import SweepRuns
from burgerfries.jobs.train import TrainSettings, train
from burgerfries.keys import SHORT_NAMES, STUDY_KNOBS, SweepRole, Tag
from burgerfries.pretrained import NONE
from burgerfries.runs.configurations import config_key
from burgerfries.sweep.definition import Phase
from burgerfries.sweep.plan import SweepPlan
from burgerfries.sweep.pruning import ClearlyWorse, curves
from burgerfries.sweep.storage import (
    POLL_SECONDS,
    QUEUED,
    STEPS,
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
from burgerfries.sweep.trials import (
    INCUMBENT,
    config_of,
    confirmation_trials,
    fixed_params,
    incumbent_point,
    phase_trials,
    trial_config,
    varied_label,
)
from burgerfries.tracking.reader import metrics_of, run_value
from burgerfries.training.setups import TrainingSetups


def trained_key(model: str, config: dict[str, Any]) -> tuple[str, int]:
    """What makes two trials the same training: the configuration and the seed."""
    return config_key({**config, "model": model}), int(config["seed"])


def report_evaluation(trial: optuna.Trial, key: str, step: int, metrics: Mapping[str, float]) -> None:
    """An evaluation's decision metric as an Optuna intermediate value (the trial's learning
    curve); raises TrialPruned when the study's pruner stops the trial (`sweep/pruning.py`)."""
    if key in metrics:
        trial.report(float(metrics[key]), step)
        if trial.should_prune():
            raise optuna.TrialPruned(
                f"stopped early at step {step}: {key} {metrics[key]:.3f}, far below the incumbent's runs there"
            )


def phase_pruner(
    plan: SweepPlan, phase: Phase, model: str, inherited: dict[str, Any], earlier_runs: list[str]
) -> optuna.pruners.BasePruner:
    """What stops a phase's clearly-worse challengers early (none when the study says not to, or
    when its decision metric is not read at single evaluations); `earlier_runs`: the runs of the
    phase's incumbent that earlier phases trained, whose curves it compares with too."""
    decision = plan.definition.decision
    if not decision.stop_early or not decision.metric.eval_key:
        return optuna.pruners.NopPruner()
    home = incumbent_point(plan.definition, phase, inherited) if phase.is_grid else INCUMBENT
    # finished runs: their histories were read (and kept) when the sweep last read itself back
    histories = metrics_of(mlflow.MlflowClient(), earlier_runs, set(earlier_runs))
    earlier = curves(histories, decision.metric.eval_key)
    reference = config_of(plan.definition, phase, inherited, {"point": INCUMBENT, "seed": 0})
    steps = plan.trial_steps(model, reference)  # the incumbent's: only trials as long are compared
    return ClearlyWorse({home, INCUMBENT}, plan.repeats, steps, decision.metric.higher_is_better, earlier)


def reference_runs(runner: TrialRunner, phase: Phase, model: str, inherited: dict[str, Any]) -> list[str]:
    """The runs of the phase's reference (its incumbent) that earlier phases trained."""
    reference = config_of(runner.plan.definition, phase, inherited, {"point": INCUMBENT, "seed": 0})
    key = trained_key(model, reference)[0]
    return [run_id for (trained, _), (run_id, _) in runner.trained[model].items() if trained == key]


def run_config_key(plan: SweepPlan, model: str, config: dict[str, Any]) -> str:
    """The configuration key the report gives a trial of `config` (`report.configurations`): its
    knobs as the run logs them, the steps it trains included."""
    size = config.get("input_size") or plan.input_size(model)
    return config_key({**config, "num_steps": plan.trial_steps(model, config), "input_size": size, "model": model})


def trial_settings(
    plan: SweepPlan, phase: Phase, model: str, config: dict[str, Any], entry: dict[str, Any], label: str, number: int
) -> TrainSettings:
    """How one trial trains: its configuration as the plan runs it (a nested run of the phase's)."""
    definition = plan.definition
    varied = varied_label(phase, config)
    is_base = all(config.get(k) == v for k, v in definition.base.items())
    return TrainSettings(
        data=plan.data,
        model=model,
        **{knob: config[knob] for knob in STUDY_KNOBS},
        # a length in passes is resolved by the run itself (the same steps; its num_epochs is logged)
        num_steps=None if config.get("epochs") and not config.get("num_steps") else plan.trial_steps(model, config),
        epochs=config.get("epochs"),
        input_size=config.get("input_size") or plan.input_size(model),
        profile=plan.profile,
        seed=config["seed"],
        weights=Path(definition.weights[model]) if model in definition.weights else NONE,
        restore=definition.restore[model],
        checkpoint_root=plan.checkpoint_root,
        resumable=False,  # a dead trial is retried from its start, in a new run
        experiment=plan.experiment,  # (a nested run: in its parent's, which the plan named)
        nested=True,
        system_metrics=plan.system_metrics,
        best_by=definition.decision.objective,
        run_name=f"{label} · {SHORT_NAMES.get(model, model)} {phase.name}={varied} seed {config['seed']}",
        tags={
            Tag.PHASE: phase.name,
            Tag.TRIAL: str(number),
            Tag.STUDY: definition.name,
            Tag.VARIED: varied,
            Tag.POINT: str(entry.get("point", "")),
            Tag.IS_BASE: str(is_base).lower(),
            Tag.SWEEP_ROLE: SweepRole.TRIAL,
            Tag.WORKER: worker_name(),
        },
    )


def evaluations(plan: SweepPlan) -> tuple[Evaluation, Evaluation]:
    """A trial's evaluations: its validation photos, which decisions read, and its test photos,
    on which a finished trial's kept weights are measured once."""
    threshold = plan.definition.analysis.score_threshold
    return tuple(Evaluation(plan.data, score_threshold=threshold, split=split) for split in (VALIDATION, TEST))


class TrialRunner:
    """Trains a sweep's trials in this process; any number of runners (in other processes or
    machines) may share one plan's storage."""

    def __init__(self, plan: SweepPlan, storage: RDBStorage, runs: SweepRuns, progress: bool):
        self.plan = plan
        self.storage = storage
        self.runs = runs
        self.progress = progress
        self.evaluation, self.test_evaluation = evaluations(plan)
        self.setups = TrainingSetups()  # one traced step per shape, reused across trials
        # model → {(configuration key, seed): (MLflow run id, configuration)} of finished trials so
        # far, so a later phase reuses a configuration already trained with the same seed
        self.trained: dict[str, dict[tuple[str, int], tuple[str, dict]]] = {m: {} for m in plan.definition.models}

    def remember(self, model: str, study: optuna.Study) -> None:
        """Record the study's finished trials, for later phases to reuse."""
        for trial in completed_trials(study):
            config = trial.user_attrs["config"]
            self.trained[model][trained_key(model, config)] = (trial.user_attrs["mlflow_run_id"], config)

    def _queue(
        self,
        study: optuna.Study,
        phase: Phase,
        model: str,
        inherited: dict[str, Any],
        phase_id: str,
        entries: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Queue the entries not trained before; record the ones an earlier phase trained (same
        configuration and seed) as reused by this phase."""
        queued, reused = [], {}
        for entry in entries:
            config = config_of(self.plan.definition, phase, inherited, entry)
            earlier = self.trained[model].get(trained_key(model, config)) if config else None
            if earlier is None:
                queued.append(entry)
            else:
                reused[earlier[0]] = {"label": varied_label(phase, config), "point": entry.get("point", "")}
        queue_trials(study, queued, [fixed_params(self.plan.definition, phase, inherited, entry) for entry in queued])
        if reused:
            self.runs.record_reused(phase_id, model, reused)
        return {"queued": len(queued), "reused": reused}

    def open_phase(self, phase: Phase, model: str, inherited: dict[str, Any], phase_id: str) -> optuna.Study:
        """The (phase, model) study, its screening trials queued by whoever opened it first."""
        plan = self.plan
        metric = plan.definition.decision.metric
        study = open_study(
            self.storage,
            plan.study_name(phase.name, model),
            not phase.is_grid,
            metric.higher_is_better,
            plan.definition.decision.objective,
            phase_pruner(plan, phase, model, inherited, reference_runs(self, phase, model, inherited)),
        )
        entries = phase_trials(plan.definition, phase, inherited, plan.repeats, plan.noise_seeds, model)
        what = f"queue the trials of phase {phase.name} for {model}"
        queue = partial(self._queue, study, phase, model, inherited, phase_id, entries)
        once(self.storage, plan.once_name(f"{phase.name}:{model}:queue"), queue, what)
        return study

    def confirm(
        self,
        study: optuna.Study,
        phase: Phase,
        model: str,
        inherited: dict[str, Any],
        phase_id: str,
        challengers: Callable[[], tuple[list[dict[str, Any]], int]],
        look: int = 0,
    ) -> int:
        """Queue (once per look, across workers) more seeds of the configurations that earned
        them: `challengers()` gives their entries with the seeds they have, and the run count to
        bring them to (`decision.next_step.confirmation_entries`); the runs it reuses are recorded on
        the phase run. Returns how many trials it queued."""

        def queue() -> dict[str, Any]:
            found, target = challengers()
            entries = [
                new
                for challenger in found
                for new in confirmation_trials(
                    {k: v for k, v in challenger.items() if k != "seeds"}, challenger["seeds"], target
                )
            ]
            return self._queue(study, phase, model, inherited, phase_id, entries)

        what = f"queue the confirmation trials of phase {phase.name} for {model} (look {look + 1})"
        name = f"{phase.name}:{model}:confirm" + (f":{look}" if look else "")
        return int(once(self.storage, self.plan.once_name(name), queue, what)["queued"])

    def run_phase(
        self,
        phase: Phase,
        inherited: dict[str, dict[str, Any]],
        phase_id: str,
        label: str,
        challengers: Callable[[str, int], tuple[list[dict[str, Any]], int]],
        models: list[str],
    ) -> None:
        """A phase's trials for `models`: screening, then up to `looks` rounds of more seeds for
        the configurations that earned them (`challengers(model, look)`, read after the round before:
        confirmation, then a close call's next looks), each round queued once across workers,
        trained by whoever is free, and remembered for later phases to reuse."""
        studies = {model: self.open_phase(phase, model, inherited[model], phase_id) for model in models}
        self.train_queued(phase, studies, inherited, label)
        for look in range(self.plan.definition.decision.looks):
            queued = 0
            for model, study in studies.items():
                self.remember(model, study)
                more = partial(challengers, model, look)
                queued += self.confirm(study, phase, model, inherited[model], phase_id, more, look)
            if not queued:
                break
            self.train_queued(phase, studies, inherited, f"{label} (look {look + 1} at a close call)")
        for model, study in studies.items():
            self.remember(model, study)

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
                        trial_objective(self, phase, model, inherited[model], label),
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


def trial_objective(runner: TrialRunner, phase: Phase, model: str, inherited: dict[str, Any], label: str):
    """Optuna's objective: train the trial's configuration; its value is the study's decision
    metric (`DecisionSettings.read_at`), as the report reads it."""
    plan = runner.plan
    metric = plan.definition.decision.metric

    def objective(trial: optuna.Trial) -> float:
        if not trial.user_attrs.get(QUEUED):
            # Another worker took the last queued trial between our look and our ask: Optuna
            # then samples a new one, which no configuration asked for.
            raise optuna.TrialPruned("no queued trial left")
        config, entry = trial_config(plan.definition, phase, inherited, trial)
        # A retry inherits the dead trial's run id. If that run finished, its worker died after
        # training but before Optuna recorded the result: use the run instead of training it twice.
        dead_run = trial.user_attrs.get("mlflow_run_id")
        if dead_run and runner.runs.finished(dead_run):
            print(f"{label} · {model}: run {dead_run} finished before its worker died; using it", flush=True)
            return run_value(dead_run, metric.column, plan.definition.analysis)
        trial.set_user_attr("config", config)
        trial.set_user_attr("worker", worker_name())
        trial.set_user_attr(STEPS, plan.trial_steps(model, config))  # what the pruner compares on
        settings = trial_settings(plan, phase, model, config, entry, label, trial.number)
        try:
            result = train(
                settings,
                runner.evaluation,
                progress=runner.progress,
                on_run_start=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id),
                setups=runner.setups,
                on_evaluation=partial(report_evaluation, trial, metric.eval_key),
                test_evaluator=runner.test_evaluation,
            )
        except optuna.TrialPruned as stopped:
            runner.runs.mark_stopped_early(trial.user_attrs["mlflow_run_id"], str(stopped))
            print(f"{label} · {model}: {stopped}", flush=True)
            raise
        return run_value(result.run_id, metric.column, plan.definition.analysis)

    return objective
