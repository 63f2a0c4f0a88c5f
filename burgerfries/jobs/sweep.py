"""The `sweep` job: the phases of a study in order, each as one Optuna study per model, trials
trained in-process, each phase's winner (by the one ranking of configurations, as the report
ranks them) carried into the next phase; then the report.

MLflow bookkeeping is in `sweep_runs.py`, Optuna's storage and recovery in `sweep/storage.py`,
the plan and each trial's configuration in `sweep/plan.py`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import mlflow
import optuna
from optuna.trial import TrialState
from tqdm import tqdm

from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.local_workers import run_local_workers
from burgerfries.jobs.report import read_runs, report
from burgerfries.jobs.sweep_runs import SweepRuns
from burgerfries.jobs.train import TrainSettings, load_dataset_info, train
from burgerfries.model import RESTORE_MODES
from burgerfries.model.config import build_config
from burgerfries.pretrained import resolve_weights
from burgerfries.report.configurations import config_key
from burgerfries.report.selection import rank_configurations, rule_from_names
from burgerfries.report.tables import summarize_runs
from burgerfries.sweep import DEFAULT_STUDY
from burgerfries.sweep.definition import PARAMETERS, Phase, StudyDefinition, load_definition
from burgerfries.sweep.plan import config_of, phase_trials, plan, trial_config, varied_label
from burgerfries.sweep.storage import (
    POLL_SECONDS,
    QUEUED,
    completed_trials,
    default_storage,
    done_value,
    fail_dead_trials,
    failed_run_ids,
    once,
    open_storage,
    open_study,
    queue_trials,
    quiet_optuna,
    redact,
    retried_trials,
    settled_trials,
    trials_in,
    worker_name,
)
from burgerfries.tracking import configure_tracking
from burgerfries.training.assemble import assemble
from burgerfries.training.checkpoints import DEFAULT_CHECKPOINT_ROOT
from burgerfries.training.loop import run_steps
from burgerfries.training.setups import TrainingSetups

SHORT_NAMES = {"ssd_mobilenet_v2_320x320": "ssd", "ssd_mobilenet_v2_fpnlite_320x320": "fpnlite"}
# Part of the sweep key: a storage written by an older layout (GridSampler picking the points, no
# queue) is not resumed by this one, which would queue every point again.
STORAGE_LAYOUT = "queued-trials"
# Unweighted: a search over loss weights must not favour small weights (selection.loss_basis)
OBJECTIVE = "eval/loss_total_unweighted"
FINAL_KNOBS = ("batch_size", "learning_rate", "classification_weight", "localization_weight")


class SweepReportError(RuntimeError):
    """Every trial finished but the report could not be built; the runs are kept."""


class SweepWorkersError(RuntimeError):
    """The local worker processes stopped before the sweep was finished."""


@dataclass
class SweepSettings:
    study: Path = DEFAULT_STUDY
    data: Path | None = None
    profile: str | None = None  # None: the study's
    storage: str | None = None
    repeats: int = 1
    noise_seeds: int | None = None  # None: the study's (noise_seeds, default 3)
    dry_run: bool = False
    checkpoint_root: Path = DEFAULT_CHECKPOINT_ROOT
    progress: bool = True
    workers: int = 1  # >1: start that many worker processes here (jobs/local_workers.py)


@dataclass
class SweepResult:
    parent_run_id: str | None
    winners: dict[str, dict[str, Any]] = field(default_factory=dict)  # model → final configuration
    report_path: Path | None = None
    plan: str = ""
    phase_winners: dict[str, dict[str, Any]] = field(default_factory=dict)  # model → last phase's winner


class Sweep:
    """One worker of a sweep. Any number of workers may run the same sweep at once against one
    Optuna storage and one tracking server: they share each phase's queued trials, wait for each
    other at the end of a phase, and continue from the same winner (see `sweep/storage.py`)."""

    def __init__(
        self, definition: StudyDefinition, settings: SweepSettings, profile: str, data: Path, dataset_hash: str
    ):
        self.definition = definition
        self.settings = settings
        self.profile = profile
        self.data = data
        self.rule = rule_from_names(definition.selection)
        self.noise_seeds = definition.noise_seeds if settings.noise_seeds is None else settings.noise_seeds
        # model → {(configuration key, seed): (MLflow run id, configuration)} of finished trials so
        # far, so a later phase reuses a configuration already trained with the same seed
        self.trained: dict[str, dict[tuple[str, int], tuple[str, dict[str, Any]]]] = {
            model: {} for model in definition.models
        }
        self.storage_url = settings.storage or default_storage(mlflow.get_tracking_uri())
        self.storage = open_storage(self.storage_url)
        key = json.dumps(
            [
                STORAGE_LAYOUT,
                definition.fingerprint,
                dataset_hash,
                profile,
                settings.repeats,
                definition.num_steps,
                self.noise_seeds,
            ],
            sort_keys=True,
        )
        self.key = hashlib.sha256(key.encode()).hexdigest()[:12]
        self.prefix = f"{definition.name}:{self.key}"
        self.evaluation = Evaluation(data, score_threshold=definition.analysis.score_threshold)
        self.setups = TrainingSetups()  # one traced step per shape, reused across trials
        self.runs = SweepRuns(definition, self.key)

    def once(self, step: str, make: Callable[[], Any], what: str) -> Any:
        return once(self.storage, f"{self.prefix}:once:{step}", make, what)

    def _objective(self, phase: Phase, model: str, inherited: dict[str, Any], label: str):
        def objective(trial: optuna.Trial) -> float:
            if not trial.user_attrs.get(QUEUED):
                # Another worker took the last queued trial between our look and our ask: Optuna
                # then samples a new one, which no configuration asked for.
                raise optuna.TrialPruned("no queued trial left")
            config = trial_config(self.definition, phase, inherited, trial, self.settings.repeats, self.noise_seeds)
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
            varied = varied_label(phase, config)
            is_base = all(config.get(k) == v for k, v in self.definition.base.items())
            settings = TrainSettings(
                data=self.data,
                model=model,
                batch_size=config["batch_size"],
                learning_rate=config["learning_rate"],
                classification_weight=config["classification_weight"],
                localization_weight=config["localization_weight"],
                num_steps=config.get("num_steps"),
                profile=self.profile,
                seed=config["seed"],
                weights=Path(self.definition.weights[model]) if model in self.definition.weights else None,
                restore=self.definition.restore.get(model, RESTORE_MODES[0]),
                checkpoint_root=self.settings.checkpoint_root,
                resumable=False,  # a dead trial is retried from its start, in a new run
                experiment=self.definition.name,
                nested=True,
                run_name=f"{label} · {SHORT_NAMES.get(model, model)} {phase.name}={varied} seed {config['seed']}",
                tags={
                    "phase": phase.name,
                    "trial": str(trial.number),
                    "study": self.definition.name,
                    "varied": varied,
                    "is_base": str(is_base).lower(),
                    "sweep_role": "trial",
                    "worker": worker_name(),
                },
            )
            result = train(
                settings,
                self.evaluation,
                progress=self.settings.progress,
                on_run_start=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id),
                setups=self.setups,
            )
            final = result.eval_metrics.get(result.step, {})
            return float(final.get(OBJECTIVE, float("nan")))

        return objective

    def open_phase(
        self, phase: Phase, model: str, inherited: dict[str, Any], phase_id: str
    ) -> tuple[optuna.Study, dict[str, str]]:
        """The (phase, model) study, its trials queued by whichever worker opened it first, and the
        runs it reuses ({run id: label}): configurations already trained with the same seed."""
        study = open_study(self.storage, f"{self.prefix}:{phase.name}:{model}", searched=not phase.is_grid)

        def queue() -> dict[str, Any]:
            entries, reused = [], {}
            for entry in phase_trials(self.definition, phase, inherited, self.settings.repeats, self.noise_seeds):
                config = config_of(self.definition, phase, inherited, entry)
                earlier = self.trained[model].get(self._trained_key(model, config)) if config else None
                if earlier is None:
                    entries.append(entry)
                else:
                    reused[earlier[0]] = varied_label(phase, config)
            queue_trials(study, entries)
            if reused:
                self.runs.record_reused(phase_id, model, reused)
            return {"queued": len(entries), "reused": reused}

        queued = self.once(f"{phase.name}:{model}:queue", queue, f"queue the trials of phase {phase.name} for {model}")
        return study, queued["reused"]

    def _trained_key(self, model: str, config: dict[str, Any]) -> tuple[str, int]:
        return config_key({**config, "model": model}), int(config["seed"])

    def _remember_trained(self, model: str, study: optuna.Study) -> None:
        for trial in completed_trials(study):
            config = trial.user_attrs["config"]
            self.trained[model][self._trained_key(model, config)] = (trial.user_attrs["mlflow_run_id"], config)

    def run_phase(self, phase: Phase, studies: dict[str, optuna.Study], inherited: dict[str, dict], label: str) -> None:
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

    def _winner(self, study: optuna.Study, phase: Phase, model: str, reused: dict[str, str]) -> dict[str, Any] | None:
        """The phase's best configuration for this model, ranked exactly as the report ranks it."""
        configs = {t.user_attrs["mlflow_run_id"]: t.user_attrs["config"] for t in completed_trials(study)}
        by_run = {run_id: config for run_id, config in self.trained[model].values()}
        configs.update({run_id: by_run[run_id] for run_id in reused})
        if not configs:
            print(f"phase {phase.name} · {model}: no trial finished; keeping the inherited configuration")
            return None
        runs, metrics = read_runs(list(configs))
        runs = runs.assign(phase=phase.name, varied=[varied_label(phase, configs[run_id]) for run_id in runs.index])
        ranked = rank_configurations(summarize_runs(runs, metrics, self.definition.analysis), self.rule)
        winner_id = ranked["run_id"].iloc[0]
        config = {k: v for k, v in configs[winner_id].items() if k != "seed"}
        return {"run_id": winner_id, "config": config, "reason": ranked["reason"].iloc[0]}

    def _choose_winner(
        self, study: optuna.Study, phase: Phase, model: str, phase_id: str, reused: dict[str, str]
    ) -> dict[str, Any] | None:
        won = self._winner(study, phase, model, reused)
        if won is not None:
            self.runs.record_winner(phase_id, model, won)
        return won

    def _build_report(self, parent_id: str) -> dict[str, Any]:
        try:
            # The final pick is the report's: every phase's winners ranked by the same rule
            # (the last phase's winner need not be the best configuration seen).
            built = report(run_id=parent_id)
            finals = {}
            for run_id, row in built.final.iterrows():
                finals[row["model"]] = {key: PARAMETERS[key](row[key]) for key in FINAL_KNOBS}
                self.runs.record_final(parent_id, row["model"], run_id, finals[row["model"]], str(row["reason"]))
        except Exception as error:
            mlflow.set_tag("report_error", f"{type(error).__name__}: {error}"[:5000])
            raise SweepReportError(
                f"every trial finished, but the report failed ({type(error).__name__}: {error}); "
                f"the runs are kept — rebuild it with: burgerfries report --run-id {parent_id}"
            ) from error
        return {"path": str(built.path.resolve()), "finals": finals, "worker": worker_name()}

    def run(self) -> SweepResult:
        built = done_value(self.storage, f"{self.prefix}:once:report")
        if built is not None:
            print(f"sweep {self.definition.name} is finished; its report was written by {built['worker']}")
            return SweepResult(self.runs.find_parent(), built["finals"], Path(built["path"]))
        parent_id = self.runs.start_parent(
            {
                "study": str(self.definition.source),
                "data": str(self.data),
                "profile": self.profile,
                "storage": redact(self.storage_url),
                "repeats": self.settings.repeats,
                "noise_seeds": self.noise_seeds,
            },
            partial(self.once, "parent", what="create the parent run"),
        )
        inherited: dict[str, dict[str, Any]] = {model: {} for model in self.definition.models}
        winners: dict[str, dict[str, Any]] = {}
        try:
            phases = self.definition.phases
            for index, phase in enumerate(
                tqdm(phases, desc="phases", unit="phase", disable=not self.settings.progress)
            ):
                phase_id = self.runs.start_phase(
                    parent_id, phase, partial(self.once, f"{phase.name}:run", what=f"create phase {phase.name}")
                )
                opened = {
                    model: self.open_phase(phase, model, inherited[model], phase_id) for model in self.definition.models
                }
                studies = {model: study for model, (study, _) in opened.items()}
                self.run_phase(phase, studies, inherited, f"phase {index + 1}/{len(phases)} {phase.name}")
                for model, (study, reused) in opened.items():
                    self._remember_trained(model, study)
                    won = self.once(
                        f"{phase.name}:{model}:winner",
                        partial(self._choose_winner, study, phase, model, phase_id, reused),
                        f"choose the winner of phase {phase.name} for {model}",
                    )
                    if won is None:
                        continue
                    inherited[model] = won["config"]
                    winners[model] = won
                mlflow.end_run("FINISHED")
        except BaseException:
            while mlflow.active_run():
                mlflow.end_run("FAILED")
            raise
        # Every trial has finished: from here on nothing may mark the runs FAILED.
        try:
            built = self.once("report", lambda: self._build_report(parent_id), "build the report")
        finally:
            mlflow.end_run("FINISHED")
        return SweepResult(
            parent_id,
            built["finals"],
            Path(built["path"]),
            phase_winners={m: w["config"] for m, w in winners.items()},
        )


# The dry run's steps: the first traces; the next ones find batches prefetched while it traced and
# ran faster than a trial's steps (timing 3 gave 0.184 / 0.222 s vs 0.22 / 0.32 s in the main job's
# trials, bench/RESULTS.md, and an estimate below the real duration). Timing steps 7–16 instead gave
# 0.29 / 0.39 s on the same machine: slower than the trials' median, so the estimate is an upper bound.
DRY_RUN_SKIPPED_STEPS = 6
DRY_RUN_TIMED_STEPS = 10


def measure_seconds_per_step(definition: StudyDefinition, profile: str, data: Path) -> dict[str, float]:
    """Real training steps of each model at the base batch size, once the input pipeline runs
    beside the step as in a trial."""
    label_map, _ = load_dataset_info(data)
    measured = {}
    for model in definition.models:
        config = build_config(model, profile, len(label_map), {"batch_size": definition.base["batch_size"]})
        total = DRY_RUN_SKIPPED_STEPS + DRY_RUN_TIMED_STEPS
        results = list(run_steps(assemble(config, data / "train.record"), 0, total))
        measured[model] = sum(r.seconds for r in results[DRY_RUN_SKIPPED_STEPS:]) / DRY_RUN_TIMED_STEPS
    return measured


def run_sweep(settings: SweepSettings) -> SweepResult:
    quiet_optuna()
    definition = load_definition(settings.study)
    profile = settings.profile or definition.profile
    for model, weights in definition.weights.items():  # before any trial: e.g. no shipped weights for the profile
        resolve_weights(weights, profile, model)
    configure_tracking()
    data = settings.data
    if data is None:
        from burgerfries.jobs.data_prep import run_data_prep

        data = Path("data") / "synthetic"
        run_data_prep("synthetic", data)
    data = Path(data).resolve()
    summary = json.loads((data / "dataset.json").read_text()) if (data / "dataset.json").is_file() else {}
    if settings.dry_run:
        text = plan(
            definition,
            profile,
            settings.repeats,
            measure_seconds_per_step(definition, profile, data),
            settings.noise_seeds,
            settings.workers,
        )
        print(text)
        return SweepResult(None, plan=text)
    if settings.progress:  # (local workers run without: the command that started them printed it)
        print(plan(definition, profile, settings.repeats, noise_seeds=settings.noise_seeds, workers=settings.workers))
    sweep = Sweep(definition, settings, profile, data, summary.get("hash", ""))
    if settings.workers > 1:
        codes = run_local_workers(settings.workers, worker_arguments(settings, data), mlflow.get_tracking_uri())
        if done_value(sweep.storage, f"{sweep.prefix}:once:report") is None:
            raise SweepWorkersError(
                f"the {settings.workers} workers stopped (exit codes {codes}) before the sweep was finished; "
                "their output above says why. Rerun the same command to go on from the trials already trained."
            )
    return sweep.run()


def worker_arguments(settings: SweepSettings, data: Path) -> list[str]:
    """`burgerfries sweep` flags that make a worker process join this sweep (same key, same storage)."""
    arguments = ["--study", str(settings.study), "--data", str(data)]
    given = {
        "--profile": settings.profile,
        "--storage": settings.storage,
        "--repeats": settings.repeats,
        "--noise-seeds": settings.noise_seeds,
    }
    for flag, value in given.items():
        if value is not None:
            arguments += [flag, str(value)]
    return arguments
