"""The `sweep` job: the phases of a sweep definition in order, each as one Optuna study per model;
each phase's winner carried into the next; then the final picks and the report.

The plan (`sweep/plan.py`) is resolved once here; with `--workers N` this process only starts N
workers (`workers.py`), each of which resolves the same plan and runs `run_worker`. A worker
trains trials through its `TrialRunner` (`runner.py`); what to train next comes from the
decisions (`decision/next_step.py`) on the sweep's runs as read back (`tracking/reader.py`);
MLflow bookkeeping is in `runs.py`, Optuna's storage and recovery in `sweep/storage.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from optuna.storages import RDBStorage
from tqdm import tqdm

from burgerfries.data.folder import DataFolder
from burgerfries.decision.next_step import carried_on, confirmation_entries, knob_config
from burgerfries.decision.tables import DecisionTables, decision_tables
from burgerfries.jobs.data_prep import resolve_data
from burgerfries.jobs.report import write_report
from burgerfries.jobs.sweep.registry import name_mapping, register_finals
from burgerfries.jobs.sweep.runner import TrialRunner, run_config_key
from burgerfries.jobs.sweep.runs import SweepRuns
from burgerfries.jobs.sweep.saturation import still_tuned
from burgerfries.jobs.sweep.workers import run_local_workers
from burgerfries.keys import Tag
from burgerfries.machine import describe_machine
from burgerfries.model.config import build_config
from burgerfries.pretrained import resolve_weights
from burgerfries.runs.run_set import RunSet
from burgerfries.sweep import study_path
from burgerfries.sweep.definition import Phase, load_definition
from burgerfries.sweep.plan import SweepPlan
from burgerfries.sweep.storage import (
    default_storage,
    done_value,
    once,
    open_storage,
    quiet_optuna,
    redact,
    worker_name,
)
from burgerfries.sweep.trials import Race, race_of
from burgerfries.tracking import configure_tracking, entry_run_as_parent, open_store, resolve_experiment
from burgerfries.tracking.reader import analysis_of, read_run_set
from burgerfries.training.assemble import assemble
from burgerfries.training.checkpoints import DEFAULT_CHECKPOINT_ROOT
from burgerfries.training.loop import run_steps

REPORT_STEP = "report"  # the `once` step whose stored value says the sweep is finished


def _decision_tables(parent_run_id: str) -> DecisionTables:
    return sweep_tables(parent_run_id)[1]


def sweep_tables(parent_run_id: str) -> tuple[RunSet, DecisionTables]:
    """The sweep's runs so far, read back, and their decision tables (decisions, phase tables, finals)."""
    run_set = read_run_set(run_id=parent_run_id)
    analysis, decision = analysis_of(parent_run_id)
    return run_set, decision_tables(run_set, decision, analysis)


class SweepReportError(RuntimeError):
    """Every trial finished but the report could not be built; the runs are kept."""


class SweepWorkersError(RuntimeError):
    """The local worker processes stopped before the sweep was finished."""


@dataclass
class SweepSettings:
    """What a user gave `burgerfries sweep`; None means the study's (or the default) value."""

    study: Path | None = None  # None: the photos study with `data`, else the original study
    data: Path | None = None  # None: the synthetic set, prepared into data/synthetic
    profile: str | None = None  # None: the study's
    storage: str | None = None  # None: sqlite next to the tracking database
    repeats: int = 1
    noise_seeds: int | None = None  # None: the study's (noise_seeds, default 3)
    dry_run: bool = False
    checkpoint_root: Path = DEFAULT_CHECKPOINT_ROOT
    progress: bool = True
    workers: int = 1  # >1: start that many worker processes here (jobs/sweep/workers.py)
    experiment: str | None = None  # None: MLFLOW_EXPERIMENT_NAME/ID when set, else the study's name
    register: str | None = None  # None: the study's name
    system_metrics: bool = True


@dataclass
class SweepResult:
    parent_run_id: str | None
    winners: dict[str, dict[str, Any]] = field(default_factory=dict)  # model → final configuration
    report_path: Path | None = None
    plan: str = ""
    phase_winners: dict[str, dict[str, Any]] = field(default_factory=dict)  # model → last phase's winner
    experiment_id: str = ""


def resolve_plan(settings: SweepSettings) -> SweepPlan:
    """Every default applied once: the study, its profile and weights (checked before any trial),
    the data folder (the synthetic set prepared when none is given), noise seeds and storage."""
    study = study_path(settings.study, settings.data is not None)
    definition = load_definition(study)
    profile = settings.profile or definition.profile
    for model, weights in definition.weights.items():  # before any trial: e.g. no shipped weights for the profile
        resolve_weights(weights, profile, model)
    data = settings.data
    if data is None:
        from burgerfries.jobs.data_prep import run_data_prep

        data = Path("data") / "synthetic"
        with entry_run_as_parent() as nested:
            run_data_prep("synthetic", data, nested=nested)
    folder = DataFolder.open(resolve_data(data).resolve())
    noise_seeds = definition.noise_seeds if settings.noise_seeds is None else settings.noise_seeds
    # each look at a close call adds as many seeds per side as the incumbent starts with
    definition = replace(definition, decision=replace(definition.decision, look_seeds=noise_seeds))
    return SweepPlan(
        definition=definition,
        study_path=study,
        data=folder.path,
        dataset_hash=folder.hash,
        num_train_images=folder.num_train_images,
        profile=profile,
        repeats=settings.repeats,
        noise_seeds=noise_seeds,
        storage_url=settings.storage or default_storage(mlflow.get_tracking_uri()),
        workers=settings.workers,
        checkpoint_root=settings.checkpoint_root,
        experiment=resolve_experiment(settings.experiment, definition.name),
        register=settings.register or definition.name,
        system_metrics=settings.system_metrics,
    )


# The dry run's steps: the first traces; the next ones find batches prefetched while it traced and
# ran faster than a trial's steps (timing 3 gave 0.184 / 0.222 s vs 0.22 / 0.32 s in the main job's
# trials, bench/RESULTS.md, and an estimate below the real duration). Timing steps 7–16 instead gave
# 0.29 / 0.39 s on the same machine: slower than the trials' median, so the estimate is an upper bound.
DRY_RUN_SKIPPED_STEPS = 6
DRY_RUN_TIMED_STEPS = 10


def measure_seconds_per_step(plan: SweepPlan) -> dict[str, float]:
    """Real training steps of each model at the base batch size, once the input pipeline runs
    beside the step as in a trial."""
    folder = DataFolder.open(plan.data)
    measured = {}
    for model in plan.definition.models:
        knobs = {"batch_size": plan.definition.base["batch_size"], "input_size": plan.input_size(model)}
        config = build_config(
            model, plan.profile, len(folder.class_names), knobs, num_train_images=plan.num_train_images
        )
        total = DRY_RUN_SKIPPED_STEPS + DRY_RUN_TIMED_STEPS
        results = list(run_steps(assemble(config, folder.train_record), 0, total))
        measured[model] = sum(r.seconds for r in results[DRY_RUN_SKIPPED_STEPS:]) / DRY_RUN_TIMED_STEPS
    return measured


def _choose_winner(
    runs: SweepRuns,
    tables: Callable[[], DecisionTables],
    phase_id: str,
    phase: Phase,
    model: str,
    default_size: int,
) -> dict[str, Any] | None:
    """The phase's decision for `model` (from the decision tables of the sweep so far, `tables()`),
    recorded on the phase run; None (the inherited configuration stays) when no run of the phase
    finished. The configuration carried on names its input size only where it is not the one every
    trial trains at (`default_size`), so that it equals the configurations the phases queued."""
    won = carried_on(tables(), phase.name, model)
    if won is not None and won["config"].get("input_size") == default_size:
        del won["config"]["input_size"]
    if won is None:
        print(f"phase {phase.name} · {model}: no trial finished; keeping the inherited configuration")
    else:
        runs.record_winner(phase_id, model, won)
        print(f"phase {phase.name} · {model}: {won['reason']}", flush=True)
    return won


def _run_phase(
    plan: SweepPlan,
    storage: RDBStorage,
    runs: SweepRuns,
    runner: TrialRunner,
    parent_id: str,
    phase: Phase,
    inherited: dict[str, dict[str, Any]],
    label: str,
    models: list[str],
    race: Race | None = None,
) -> dict[str, dict[str, Any]]:
    """One phase for `models`: screening, confirmation of the challengers that earned it, the
    decision; {model: what it carried on}. `race`: the phase is a reference race for its models."""
    phase_id = runs.start_phase(
        parent_id, phase, partial(once, storage, plan.once_name(f"{phase.name}:run"), what=f"create phase {phase.name}")
    )
    for model, reference in (race.references if race else {}).items():
        runs.record_reference(phase_id, model, run_config_key(plan, model, reference))

    # The sweep's tables as this worker read them after each round (a look's index, then "end"): the
    # models' decisions of one round come from one read (nothing trains between them here).
    read: dict[object, DecisionTables] = {}

    def tables(after: object) -> DecisionTables:
        if after not in read:
            read[after] = sweep_tables(parent_id)[1]
        return read[after]

    def challengers(model: str, look: int) -> tuple[list[dict[str, Any]], int]:
        searched = () if phase.is_grid else tuple(phase.search_space)
        return confirmation_entries(tables(look), phase.name, model, searched)

    runner.run_phase(phase, inherited, phase_id, label, challengers, models)
    decided = {}
    for model in models:
        choose = partial(_choose_winner, runs, partial(tables, "end"), phase_id, phase, model, plan.input_size(model))
        what = f"choose the winner of phase {phase.name} for {model}"
        won = once(storage, plan.once_name(f"{phase.name}:{model}:winner"), choose, what)
        if won is not None:
            decided[model] = won
    mlflow.end_run("FINISHED")
    return decided


def _run_phases(plan: SweepPlan, storage: RDBStorage, runs: SweepRuns, runner: TrialRunner, parent_id: str) -> dict:
    """Every phase in order for every model; {model: the last phase's decision}. A reference race
    carries nothing on by itself: the points it carries are tested at each model's incumbent in
    the phase after it (`Race.test`), which decides."""
    definition, models = plan.definition, list(plan.definition.models)
    inherited: dict[str, dict[str, Any]] = {model: {} for model in models}
    winners: dict[str, dict[str, Any]] = {}
    phases = definition.phases
    for index, phase in enumerate(tqdm(phases, desc="phases", unit="phase", disable=not runner.progress)):
        if index and definition.decision.stop_when_saturated:  # a base that leaves nothing to detect: stop
            read = partial(_decision_tables, parent_id)
            models = still_tuned(plan, storage, runs, read, parent_id, models, phase.name)
        if not models:
            break
        label = f"phase {index + 1}/{len(phases)} {phase.name}"
        race = race_of(definition, phase, {model: inherited[model] for model in models})
        decided = _run_phase(plan, storage, runs, runner, parent_id, phase, inherited, label, models, race)
        leaders = race.leaders(decided) if race else {}
        if leaders:
            test, test_label = race.test(leaders), f"{label} (tested at the incumbent)"
            decided.update(
                _run_phase(plan, storage, runs, runner, parent_id, test, inherited, test_label, list(leaders))
            )
        for model, won in decided.items():
            if race and model in race.references and model not in leaders:
                continue  # the race carried nothing: the incumbent stays
            inherited[model] = won["config"]  # (a leader's: its carried test's decision)
            winners[model] = won
    return winners


def _register(computed: DecisionTables, register: str, parent_id: str) -> None:
    """Register the final picks; a registry that refuses them costs the registration, not the
    finished sweep or its report (the failure is printed and tagged on the parent run)."""
    mapping = name_mapping(register)
    if mapping:
        print(mapping, flush=True)
    try:
        for line in register_finals(computed, register, parent_id):
            print(f"registered {line}", flush=True)
    except MlflowException as error:
        message = f"{type(error).__name__}: {error}"
        mlflow.MlflowClient().set_tag(parent_id, Tag.REGISTRY_ERROR, message[:5000])
        print(
            f"the report is written, but registering the final picks failed ({message}); the picks are on the "
            f"parent run {parent_id} (tags final/<model>); register them with `burgerfries export --run-id RUN "
            "--register NAME`",
            flush=True,
        )


def _finish(runs: SweepRuns, parent_id: str, register: str) -> dict[str, Any]:
    """The final pick per model, recorded on the parent run and registered, and the report."""
    try:
        run_set, computed = sweep_tables(parent_id)
        finals = {}
        for run_id, row in computed.finals.iterrows():
            finals[row["model"]] = knob_config(row)
            runs.record_final(parent_id, row["model"], run_id, finals[row["model"]], str(row["reason"]))
        built = write_report(run_set, computed)
        _register(computed, register, parent_id)
    except Exception as error:
        mlflow.set_tag(Tag.REPORT_ERROR, f"{type(error).__name__}: {error}"[:5000])
        raise SweepReportError(
            f"every trial finished, but the report failed ({type(error).__name__}: {error}); "
            f"the runs are kept — rebuild it with: burgerfries report --run-id {parent_id}"
        ) from error
    return {"path": str(built.path.resolve()), "finals": finals, "worker": worker_name()}


def run_worker(plan: SweepPlan, progress: bool = True) -> SweepResult:
    """One worker of a sweep. Any number of workers may run the same plan at once against one
    Optuna storage and one tracking server: they share each phase's queued trials, wait for each
    other at the end of a phase, and continue from the same winner (see `sweep/storage.py`)."""
    storage = open_storage(plan.storage_url)
    runs = SweepRuns(plan.definition, plan.key, plan.experiment)
    built = done_value(storage, plan.once_name(REPORT_STEP))
    if built is not None:
        print(f"sweep {plan.definition.name} is finished; its report was written by {built['worker']}")
        experiment_id = runs.resolve_experiment_id()
        return SweepResult(runs.find_parent(), built["finals"], Path(built["path"]), experiment_id=experiment_id)
    params = {
        "study": str(plan.definition.source),
        "data": str(plan.data),
        "profile": plan.profile,
        "storage": redact(plan.storage_url),
        "repeats": plan.repeats,
        "noise_seeds": plan.noise_seeds,
    }
    parent_id = runs.start_parent(
        params, partial(once, storage, plan.once_name("parent"), what="create the parent run")
    )
    try:
        winners = _run_phases(plan, storage, runs, TrialRunner(plan, storage, runs, progress), parent_id)
    except BaseException:
        while mlflow.active_run():
            mlflow.end_run("FAILED")
        raise
    # Every trial has finished: from here on nothing may mark the runs FAILED.
    try:
        finish = partial(_finish, runs, parent_id, plan.register)
        built = once(storage, plan.once_name(REPORT_STEP), finish, "build the report")
    finally:
        mlflow.end_run("FINISHED")
    phase_winners = {model: won["config"] for model, won in winners.items()}
    return SweepResult(
        parent_id, built["finals"], Path(built["path"]), phase_winners=phase_winners, experiment_id=runs.experiment_id
    )


def _report_failure(plan: SweepPlan) -> None:
    """Raise SweepReportError when the workers trained every trial and only the report failed
    (its error is tagged on the parent run): that, not a stopped sweep, is what the user must hear."""
    parent_id = SweepRuns(plan.definition, plan.key, plan.experiment).find_parent()
    error = mlflow.MlflowClient().get_run(parent_id).data.tags.get(Tag.REPORT_ERROR) if parent_id else None
    if error:
        raise SweepReportError(
            f"every trial finished, but the report failed ({error}); the runs are kept — rebuild it with: "
            f"burgerfries report --run-id {parent_id}"
        )


def run_sweep(settings: SweepSettings) -> SweepResult:
    """The `sweep` command: a dry run prints the plan with measured step times; `--workers N`
    starts N local workers and waits for them; otherwise this process is the one worker."""
    quiet_optuna()
    configure_tracking()
    plan = resolve_plan(settings)
    if settings.dry_run:
        text = plan.describe(measure_seconds_per_step(plan)) + "\n" + describe_machine().lstrip("# ")
        print(text)
        return SweepResult(None, plan=text)
    if settings.progress:  # (local workers run without: the command that started them printed it)
        print(plan.describe())
    if plan.workers > 1:
        open_store()
        codes = run_local_workers(plan.workers, plan.worker_arguments(), mlflow.get_tracking_uri())
        if done_value(open_storage(plan.storage_url), plan.once_name(REPORT_STEP)) is None:
            _report_failure(plan)
            raise SweepWorkersError(
                f"the {plan.workers} workers stopped (exit codes {codes}) before the sweep was finished; "
                "their output above says why. Rerun the same command to go on from the trials already trained."
            )
    return run_worker(plan, settings.progress)
