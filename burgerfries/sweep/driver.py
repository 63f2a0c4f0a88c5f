"""The sweep driver: phases in order, each as one Optuna study per model, trials trained
in-process, each phase's winner (by the report's rule) carried into the next phase.

MLflow: one parent run for the study, one child run per phase, one grandchild run per trial.
Resume: Optuna's RDB storage keeps trial states with a heartbeat. Re-running the same command
after a crash (even SIGKILL) waits out the dead trial's heartbeat grace period, marks the trial
failed and re-queues it (RetryHeartbeatStaleTrialCallback), marks its MLflow run KILLED, and skips every
configuration that already has a finished run.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import optuna
import pandas as pd
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState
from tqdm import tqdm

from burgerfries.evaluate import Evaluation
from burgerfries.report.reader import metrics_of
from burgerfries.report.selection import rank_runs, rule_from_names
from burgerfries.report.summary import summarize_run
from burgerfries.sweep.definition import Phase, StudyDefinition, load_definition
from burgerfries.tracking import configure_tracking, log_params
from burgerfries.training.checkpoints import DEFAULT_CHECKPOINT_ROOT
from burgerfries.training.train import TrainSettings, train

DEFAULT_STUDY = Path(__file__).resolve().parents[2] / "sweeps" / "original_study.yaml"
HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 15
EVALUATIONS_PER_RUN = 6  # enough points for the plateau analysis
optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own progress lines say what a trial is
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
SHORT_NAMES = {"ssd_mobilenet_v2_320x320": "ssd", "ssd_mobilenet_v2_fpnlite_320x320": "fpnlite"}


@dataclass
class SweepSettings:
    study: Path = DEFAULT_STUDY
    data: Path | None = None
    profile: str = "smoke"
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


def default_storage(tracking_uri: str) -> str:
    """Optuna's sqlite file next to the tracking database (or in the working directory)."""
    if tracking_uri.startswith("sqlite:///"):
        return f"sqlite:///{Path(tracking_uri[len('sqlite:///'):]).with_name('optuna.db')}"
    return "sqlite:///optuna.db"


def varied_label(phase: Phase, config: dict[str, Any]) -> str:
    keys = sorted({key for point in phase.points for key in point} | set(phase.search_space))
    if keys == ["classification_weight", "localization_weight"]:
        return f"{config['classification_weight']:g}:{config['localization_weight']:g}"
    return ", ".join(f"{config[key]:g}" if len(keys) == 1 else f"{key}={config[key]:g}" for key in keys)


class Sweep:
    def __init__(self, definition: StudyDefinition, settings: SweepSettings, data: Path, dataset_hash: str):
        self.definition = definition
        self.settings = settings
        self.data = data
        self.rule = rule_from_names(definition.selection)
        self.storage_url = settings.storage or default_storage(mlflow.get_tracking_uri())
        key = json.dumps([definition.fingerprint, dataset_hash, settings.profile, settings.repeats,
                          definition.num_steps], sort_keys=True)
        self.key = hashlib.sha256(key.encode()).hexdigest()[:12]
        self.evaluation = Evaluation(data)
        self.client = mlflow.MlflowClient()
        self.experiment_id = ""  # set when the parent run starts

    # ------------------------------------------------------------------ MLflow runs
    def _find_run(self, filter_string: str) -> str | None:
        runs = self.client.search_runs([self.experiment_id], filter_string, max_results=1,
                                       order_by=["attributes.start_time DESC"])
        return runs[0].info.run_id if runs else None

    def _start_parent(self) -> str:
        """Start the study's parent run, or resume the unfinished one with the same sweep key.

        Under `mlflow run`, MLflow has already created a run (MLFLOW_RUN_ID) in the experiment it
        was given: a fresh sweep uses it as the parent; a resumed sweep tags it with the parent it
        continues and goes on under that parent, so one study keeps one parent run.
        """
        entry_run = os.environ.get("MLFLOW_RUN_ID")
        if entry_run:
            self.experiment_id = self.client.get_run(entry_run).info.experiment_id
        else:
            self.experiment_id = mlflow.set_experiment(self.definition.name).experiment_id
        existing = self._find_run(f"tags.sweep_key = '{self.key}' and tags.sweep_role = 'study'")
        if existing and existing != entry_run:
            print(f"resuming sweep {self.definition.name} (parent run {existing})")
            if entry_run:
                self.client.set_tag(entry_run, "continues_sweep", existing)
                os.environ.pop("MLFLOW_RUN_ID")
            return mlflow.start_run(run_id=existing).info.run_id
        run = mlflow.start_run(run_name=None if entry_run else f"sweep {self.definition.name}", tags={
            "sweep_key": self.key, "sweep_role": "study", "study": self.definition.name, "profile": self.settings.profile})
        if existing:
            return run.info.run_id
        log_params({"study": str(self.definition.source), "data": str(self.data), "profile": self.settings.profile,
                    "storage": self.storage_url, "repeats": self.settings.repeats})
        mlflow.log_text(self.definition.text, "study.yaml")
        return run.info.run_id

    def _start_phase(self, parent_id: str, phase: Phase) -> str:
        existing = self._find_run(f"tags.mlflow.parentRunId = '{parent_id}' and tags.phase = '{phase.name}'")
        if existing:
            return mlflow.start_run(run_id=existing, nested=True).info.run_id
        return mlflow.start_run(run_name=f"phase {phase.name}", nested=True, tags={
            "phase": phase.name, "sweep_role": "phase", "study": self.definition.name}).info.run_id

    # ------------------------------------------------------------------ Optuna studies
    def _optuna_study(self, phase: Phase, model: str) -> optuna.Study:
        storage = RDBStorage(self.storage_url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                             heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2))
        if phase.is_grid:
            sampler = optuna.samplers.GridSampler({"point": list(range(len(phase.points))),
                                                   "seed": list(range(self.settings.repeats))}, seed=0)
        else:
            sampler = optuna.samplers.TPESampler(seed=0)
        return optuna.create_study(study_name=f"{self.definition.name}:{self.key}:{phase.name}:{model}",
                                   storage=storage, sampler=sampler, direction="minimize", load_if_exists=True)

    def _recover_dead_trials(self, study: optuna.Study) -> None:
        """Fail trials whose process died (no heartbeat), re-queue them, mark their runs KILLED."""
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if running:
            print(f"{len(running)} trial(s) still marked running; waiting {GRACE_SECONDS} s for their heartbeat to expire")
            time.sleep(GRACE_SECONDS + 1)
            optuna.storages.fail_stale_trials(study)
        for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
            run_id = trial.user_attrs.get("mlflow_run_id")
            if run_id and self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_terminated(run_id, "KILLED")
                self.client.set_tag(run_id, "killed_reason", "sweep process died; trial re-queued on resume")

    @staticmethod
    def _done(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
        """Trials that settle a configuration: finished ones, and failures that are not re-queued
        (a NaN loss fails for good; a dead process's trial is retried)."""
        trials = study.get_trials(deepcopy=False)
        retried = {number for t in trials for number in RetryHeartbeatStaleTrialCallback.retry_history(t)}
        return [t for t in trials if t.state == TrialState.COMPLETE
                or (t.state == TrialState.FAIL and t.number not in retried)]

    # ------------------------------------------------------------------ trials
    def _config(self, phase: Phase, inherited: dict[str, Any], trial: optuna.Trial) -> dict[str, Any]:
        config = {**self.definition.base, **inherited, **phase.fixed}
        if phase.is_grid:
            config.update(phase.points[trial.suggest_categorical("point", list(range(len(phase.points))))])
            config["seed"] = trial.suggest_categorical("seed", list(range(self.settings.repeats)))
        else:
            for key, spec in phase.search_space.items():
                if "choices" in spec:
                    config[key] = trial.suggest_categorical(key, spec["choices"])
                elif key in ("batch_size", "num_steps"):
                    config[key] = trial.suggest_int(key, int(spec["low"]), int(spec["high"]), log=bool(spec.get("log")))
                else:
                    config[key] = trial.suggest_float(key, float(spec["low"]), float(spec["high"]), log=bool(spec.get("log")))
            config["seed"] = trial.suggest_categorical("seed", list(range(self.settings.repeats)))
        if self.definition.num_steps and "num_steps" not in config:
            config["num_steps"] = self.definition.num_steps
        return config

    def _objective(self, phase: Phase, model: str, inherited: dict[str, Any], label: str):
        def objective(trial: optuna.Trial) -> float:
            config = self._config(phase, inherited, trial)
            trial.set_user_attr("config", config)
            varied = varied_label(phase, config)
            is_base = all(config.get(k) == v for k, v in self.definition.base.items())
            settings = TrainSettings(
                data=self.data, model=model, batch_size=config["batch_size"], learning_rate=config["learning_rate"],
                classification_weight=config["classification_weight"], localization_weight=config["localization_weight"],
                num_steps=config.get("num_steps"), profile=self.settings.profile, seed=config["seed"],
                weights=Path(self.definition.weights[model]) if model in self.definition.weights else None,
                checkpoint_root=self.settings.checkpoint_root, experiment=self.definition.name, nested=True,
                run_name=f"{label} · {SHORT_NAMES.get(model, model)} {phase.name}={varied} seed {config['seed']}",
                tags={"phase": phase.name, "trial": str(trial.number), "study": self.definition.name, "varied": varied,
                      "is_base": str(is_base).lower(), "sweep_role": "trial"})
            settings.eval_every = max(1, self._num_steps(settings) // EVALUATIONS_PER_RUN)
            result = train(settings, self.evaluation, progress=self.settings.progress,
                           on_run_start=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id))
            final = result.eval_metrics.get(result.step, {})
            return float(final.get("eval/loss_total", float("nan")))

        return objective

    def _num_steps(self, settings: TrainSettings) -> int:
        from burgerfries.model.config import PROFILES, load_config

        if settings.num_steps:
            return settings.num_steps
        return PROFILES[settings.profile].get("num_steps", load_config(settings.model)["train_config"]["num_steps"])

    def run_phase_model(self, phase: Phase, model: str, inherited: dict[str, Any], label: str) -> dict[str, Any] | None:
        study = self._optuna_study(phase, model)
        self._recover_dead_trials(study)
        total = phase.num_configs * (self.settings.repeats if phase.is_grid else 1)
        for _ in range(3 * total):
            done = self._done(study)
            if len(done) >= total:
                break
            print(f"{label} · {model}: trial {len(done) + 1} of {total}")
            study.optimize(self._objective(phase, model, inherited, label), n_trials=1, catch=(Exception,),
                           gc_after_trial=True)
        return self._winner(study, phase, model)

    def _winner(self, study: optuna.Study, phase: Phase, model: str) -> dict[str, Any] | None:
        complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if "mlflow_run_id" in t.user_attrs]
        if not complete:
            print(f"phase {phase.name} · {model}: no trial finished; keeping the inherited configuration")
            return None
        run_ids = [t.user_attrs["mlflow_run_id"] for t in complete]
        metrics = metrics_of(self.client, run_ids)
        rows = {}
        for trial, run_id in zip(complete, run_ids):
            config = trial.user_attrs["config"]
            rows[run_id] = {"name": self.client.get_run(run_id).info.run_name, "config_key": json.dumps(
                {k: v for k, v in config.items() if k != "seed"}, sort_keys=True), **summarize_run(metrics[metrics["run_id"] == run_id])}
        summaries = pd.DataFrame.from_dict(rows, orient="index")
        # With repeats, configurations compete on their mean over seeds; the best seed's run represents it.
        numeric = summaries.select_dtypes("number").columns
        per_config = summaries.groupby("config_key")[list(numeric)].mean()
        per_config["name"] = per_config.index
        config_ranking = rank_runs(per_config, self.rule)
        best_key = config_ranking.index[0]
        winner_id = rank_runs(summaries[summaries["config_key"] == best_key], self.rule).index[0]
        if len(per_config) == len(summaries):  # one run per configuration: explain it in terms of runs
            reason = rank_runs(summaries, self.rule).loc[winner_id, "reason"]
        else:
            reason = config_ranking["reason"].iloc[0]
        return {"run_id": winner_id, "config": json.loads(best_key), "reason": reason}

    # ------------------------------------------------------------------ the whole study
    def run(self) -> SweepResult:
        parent_id = self._start_parent()
        inherited: dict[str, dict[str, Any]] = {model: {} for model in self.definition.models}
        winners: dict[str, dict[str, Any]] = {}
        try:
            phases = self.definition.phases
            for index, phase in enumerate(tqdm(phases, desc="phases", unit="phase", disable=not self.settings.progress)):
                phase_id = self._start_phase(parent_id, phase)
                for model in self.definition.models:
                    label = f"phase {index + 1}/{len(phases)} {phase.name}"
                    won = self.run_phase_model(phase, model, inherited[model], label)
                    if won is None:
                        continue
                    inherited[model] = {k: v for k, v in won["config"].items() if k != "seed"}
                    winners[model] = won
                    self.client.set_tag(phase_id, f"winner/{model}", won["run_id"])
                    self.client.set_tag(phase_id, f"winner_reason/{model}", won["reason"][:5000])
                    self.client.set_tag(phase_id, f"winner_config/{model}", json.dumps(won["config"]))
                mlflow.end_run("FINISHED")
            from burgerfries.report.html import report

            # The final pick is the report's: every phase's finalists ranked by the same rule
            # (the last phase's winner need not be the best configuration seen).
            built = report(run_id=parent_id)
            finals = {}
            for run_id, row in built.final.iterrows():
                finals[row["model"]] = {key: float(row[key]) if key != "batch_size" else int(float(row[key]))
                                        for key in ("batch_size", "learning_rate", "classification_weight", "localization_weight")}
                self.client.set_tag(parent_id, f"final/{row['model']}", run_id)
                self.client.set_tag(parent_id, f"final_config/{row['model']}", json.dumps(finals[row["model"]]))
                self.client.set_tag(parent_id, f"final_reason/{row['model']}", str(row["reason"])[:5000])
        except BaseException:
            while mlflow.active_run():
                mlflow.end_run("FAILED")
            raise
        mlflow.end_run("FINISHED")
        return SweepResult(parent_id, finals, built.path, phase_winners={m: w["config"] for m, w in winners.items()})


def plan(definition: StudyDefinition, settings: SweepSettings, seconds_per_step: dict[str, float] | None = None) -> str:
    """The phases and trials a sweep will run, with an estimated duration when step times are known."""
    from burgerfries.model.config import PROFILES, load_config

    lines = [f"study {definition.name} ({definition.source}), profile {settings.profile}, repeats {settings.repeats}"]
    total_seconds = 0.0
    base_batch = definition.base["batch_size"]
    for index, phase in enumerate(definition.phases, start=1):
        configs = phase.points if phase.is_grid else [{}] * phase.n_trials
        kind = "grid" if phase.is_grid else f"TPE search over {', '.join(phase.search_space)}"
        lines.append(f"phase {index} {phase.name}: {kind}, {len(configs)} configuration(s) × {len(definition.models)} "
                     f"model(s) × {settings.repeats} seed(s)" + (f"; fixed {phase.fixed}" if phase.fixed else ""))
        for model in definition.models:
            steps = definition.num_steps or PROFILES[settings.profile].get("num_steps", load_config(model)["train_config"]["num_steps"])
            for point in configs:
                batch = {**definition.base, **phase.fixed, **point}.get("batch_size", base_batch)
                if seconds_per_step and model in seconds_per_step:
                    total_seconds += settings.repeats * (steps * seconds_per_step[model] * batch / base_batch + 10.0)
                if phase.is_grid:
                    lines.append(f"  {model}: {point}" + (f" (+ {phase.fixed})" if phase.fixed else ""))
    trials = sum(p.num_configs for p in definition.phases) * len(definition.models) * settings.repeats
    lines.append(f"{trials} trials in all")
    if seconds_per_step:
        lines.append(f"estimated duration: {total_seconds / 60:.1f} min "
                     f"(measured s/step at batch {base_batch}: " + ", ".join(f"{m} {s:.3f}" for m, s in seconds_per_step.items())
                     + "; + ~10 s per trial for building, tracing and evaluation)")
    return "\n".join(lines)


def measure_seconds_per_step(definition: StudyDefinition, settings: SweepSettings, data: Path) -> dict[str, float]:
    """A few real training steps of each model at the base batch size, after tracing."""
    import keras

    from burgerfries.data.pipeline import max_boxes_in, train_dataset
    from burgerfries.model.config import build_config
    from burgerfries.model.ssd import build_detector
    from burgerfries.training.schedule import schedule_from_config
    from burgerfries.training.step import make_train_step
    from burgerfries.training.train import load_dataset_info

    label_map, _ = load_dataset_info(data)
    record = data / "train.record"
    measured = {}
    for model in definition.models:
        config = build_config(model, settings.profile, len(label_map), batch_size=definition.base["batch_size"])
        detector = build_detector(config)
        step = make_train_step(detector, keras.optimizers.SGD(schedule_from_config(config), momentum=0.9))
        batches = iter(train_dataset(record, detector.image_size, definition.base["batch_size"],
                                     config["train_config"]["data_augmentation_options"], 0, max(1, max_boxes_in(record))))
        float(step(*next(batches))["loss_total"])
        started = time.perf_counter()
        for _ in range(3):
            float(step(*next(batches))["loss_total"])
        measured[model] = (time.perf_counter() - started) / 3
    return measured


def run_sweep(settings: SweepSettings) -> SweepResult:
    definition = load_definition(settings.study)
    configure_tracking()
    data = settings.data
    if data is None:
        from burgerfries.data_prep import run_data_prep

        data = Path("data") / "synthetic"
        run_data_prep("synthetic", data)
    data = Path(data).resolve()
    summary = json.loads((data / "dataset.json").read_text()) if (data / "dataset.json").is_file() else {}
    if settings.dry_run:
        text = plan(definition, settings, measure_seconds_per_step(definition, settings, data))
        print(text)
        return SweepResult(None, plan=text)
    print(plan(definition, settings))
    return Sweep(definition, settings, data, summary.get("hash", "")).run()
