"""The `sweep` job: the phases of a study in order, each as one Optuna study per model, trials
trained in-process, each phase's winner (by the one ranking of configurations, as the report
ranks them) carried into the next phase; then the report.

MLflow bookkeeping is in `sweep_runs.py`, Optuna's storage and recovery in `sweep/storage.py`,
the plan and each trial's configuration in `sweep/plan.py`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import optuna
from tqdm import tqdm

from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.report import read_runs, report
from burgerfries.jobs.sweep_runs import SweepRuns
from burgerfries.jobs.train import TrainSettings, load_dataset_info, train
from burgerfries.model.config import build_config
from burgerfries.report.selection import rank_configurations, rule_from_names
from burgerfries.report.tables import summarize_runs
from burgerfries.sweep import DEFAULT_STUDY
from burgerfries.sweep.definition import PARAMETERS, Phase, StudyDefinition, load_definition
from burgerfries.sweep.plan import plan, trial_config, varied_label
from burgerfries.sweep.storage import (
    completed_trials,
    default_storage,
    open_study,
    quiet_optuna,
    recover_dead_trials,
    settled_trials,
)
from burgerfries.tracking import configure_tracking
from burgerfries.training.assemble import assemble
from burgerfries.training.checkpoints import DEFAULT_CHECKPOINT_ROOT
from burgerfries.training.loop import run_steps

SHORT_NAMES = {"ssd_mobilenet_v2_320x320": "ssd", "ssd_mobilenet_v2_fpnlite_320x320": "fpnlite"}
FINAL_KNOBS = ("batch_size", "learning_rate", "classification_weight", "localization_weight")


class SweepReportError(RuntimeError):
    """Every trial finished but the report could not be built; the runs are kept."""


@dataclass
class SweepSettings:
    study: Path = DEFAULT_STUDY
    data: Path | None = None
    profile: str | None = None  # None: the study's
    storage: str | None = None
    repeats: int = 1
    dry_run: bool = False
    checkpoint_root: Path = DEFAULT_CHECKPOINT_ROOT
    progress: bool = True


@dataclass
class SweepResult:
    parent_run_id: str | None
    winners: dict[str, dict[str, Any]] = field(default_factory=dict)  # model → final configuration
    report_path: Path | None = None
    plan: str = ""
    phase_winners: dict[str, dict[str, Any]] = field(default_factory=dict)  # model → last phase's winner


class Sweep:
    def __init__(
        self, definition: StudyDefinition, settings: SweepSettings, profile: str, data: Path, dataset_hash: str
    ):
        self.definition = definition
        self.settings = settings
        self.profile = profile
        self.data = data
        self.rule = rule_from_names(definition.selection)
        self.storage_url = settings.storage or default_storage(mlflow.get_tracking_uri())
        key = json.dumps(
            [definition.fingerprint, dataset_hash, profile, settings.repeats, definition.num_steps], sort_keys=True
        )
        self.key = hashlib.sha256(key.encode()).hexdigest()[:12]
        self.evaluation = Evaluation(data, score_threshold=definition.analysis.score_threshold)
        self.runs = SweepRuns(definition, self.key)

    def _objective(self, phase: Phase, model: str, inherited: dict[str, Any], label: str):
        def objective(trial: optuna.Trial) -> float:
            config = trial_config(self.definition, phase, inherited, trial, self.settings.repeats)
            trial.set_user_attr("config", config)
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
                checkpoint_root=self.settings.checkpoint_root,
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
                },
            )
            result = train(
                settings,
                self.evaluation,
                progress=self.settings.progress,
                on_run_start=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id),
            )
            final = result.eval_metrics.get(result.step, {})
            return float(final.get("eval/loss_total", float("nan")))

        return objective

    def run_phase_model(self, phase: Phase, model: str, inherited: dict[str, Any], label: str) -> dict[str, Any] | None:
        study = open_study(
            self.storage_url, f"{self.definition.name}:{self.key}:{phase.name}:{model}", phase, self.settings.repeats
        )
        self.runs.mark_killed(recover_dead_trials(study))
        total = phase.num_configs * (self.settings.repeats if phase.is_grid else 1)
        for _ in range(3 * total):
            done = settled_trials(study)
            if len(done) >= total:
                break
            print(f"{label} · {model}: trial {len(done) + 1} of {total}")
            study.optimize(
                self._objective(phase, model, inherited, label), n_trials=1, catch=(Exception,), gc_after_trial=True
            )
        return self._winner(study, phase, model)

    def _winner(self, study: optuna.Study, phase: Phase, model: str) -> dict[str, Any] | None:
        """The phase's best configuration for this model, ranked exactly as the report ranks it."""
        complete = completed_trials(study)
        if not complete:
            print(f"phase {phase.name} · {model}: no trial finished; keeping the inherited configuration")
            return None
        configs = {t.user_attrs["mlflow_run_id"]: t.user_attrs["config"] for t in complete}
        runs, metrics = read_runs(list(configs))
        ranked = rank_configurations(summarize_runs(runs, metrics, self.definition.analysis), self.rule)
        winner_id = ranked["run_id"].iloc[0]
        config = {k: v for k, v in configs[winner_id].items() if k != "seed"}
        return {"run_id": winner_id, "config": config, "reason": ranked["reason"].iloc[0]}

    def run(self) -> SweepResult:
        parent_id = self.runs.start_parent(
            {
                "study": str(self.definition.source),
                "data": str(self.data),
                "profile": self.profile,
                "storage": self.storage_url,
                "repeats": self.settings.repeats,
            }
        )
        inherited: dict[str, dict[str, Any]] = {model: {} for model in self.definition.models}
        winners: dict[str, dict[str, Any]] = {}
        try:
            phases = self.definition.phases
            for index, phase in enumerate(
                tqdm(phases, desc="phases", unit="phase", disable=not self.settings.progress)
            ):
                phase_id = self.runs.start_phase(parent_id, phase)
                for model in self.definition.models:
                    won = self.run_phase_model(
                        phase, model, inherited[model], f"phase {index + 1}/{len(phases)} {phase.name}"
                    )
                    if won is None:
                        continue
                    inherited[model] = won["config"]
                    winners[model] = won
                    self.runs.record_winner(phase_id, model, won)
                mlflow.end_run("FINISHED")
        except BaseException:
            while mlflow.active_run():
                mlflow.end_run("FAILED")
            raise
        # Every trial has finished: from here on nothing may mark the runs FAILED.
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
            mlflow.end_run("FINISHED")
            raise SweepReportError(
                f"every trial finished, but the report failed ({type(error).__name__}: {error}); "
                f"the runs are kept — rebuild it with: burgerfries report --run-id {parent_id}"
            ) from error
        mlflow.end_run("FINISHED")
        return SweepResult(parent_id, finals, built.path, phase_winners={m: w["config"] for m, w in winners.items()})


def measure_seconds_per_step(definition: StudyDefinition, profile: str, data: Path) -> dict[str, float]:
    """A few real training steps of each model at the base batch size, after tracing."""
    label_map, _ = load_dataset_info(data)
    measured = {}
    for model in definition.models:
        config = build_config(model, profile, len(label_map), {"batch_size": definition.base["batch_size"]})
        steps = run_steps(assemble(config, data / "train.record"), 0, 4)
        next(steps)  # traces the step
        seconds = [next(steps).seconds for _ in range(3)]
        measured[model] = sum(seconds) / 3
    return measured


def run_sweep(settings: SweepSettings) -> SweepResult:
    quiet_optuna()
    definition = load_definition(settings.study)
    profile = settings.profile or definition.profile
    configure_tracking()
    data = settings.data
    if data is None:
        from burgerfries.jobs.data_prep import run_data_prep

        data = Path("data") / "synthetic"
        run_data_prep("synthetic", data)
    data = Path(data).resolve()
    summary = json.loads((data / "dataset.json").read_text()) if (data / "dataset.json").is_file() else {}
    if settings.dry_run:
        text = plan(definition, profile, settings.repeats, measure_seconds_per_step(definition, profile, data))
        print(text)
        return SweepResult(None, plan=text)
    print(plan(definition, profile, settings.repeats))
    return Sweep(definition, settings, profile, data, summary.get("hash", "")).run()
