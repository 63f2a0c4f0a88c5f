"""The `train` job: one configuration trained in one MLflow run — parameters, per-step losses,
periodic evaluation, checkpoints (resumable by run id) and the final artifacts. What the run
does is its plan (`train_plan.py`: every default resolved once); this module carries it out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import tensorflow as tf
import yaml
from mlflow.data.meta_dataset import MetaDataset

from burgerfries.data.folder import TEST, VALIDATION
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.checkpoint_models import CheckpointModels, objective_key
from burgerfries.jobs.train_plan import TrainPlan, TrainSettings, resolve_train
from burgerfries.keys import Keep, Tag
from burgerfries.metrics import (
    LAST_WEIGHTS_TEST_PREFIX,
    TEST_PREFIX,
    TEST_SECONDS,
    TRAIN_LEARNING_RATE,
    TRAIN_STEPS_PER_SEC,
    as_test,
    describe_evaluation,
)
from burgerfries.model import DEFAULT_RESTORE
from burgerfries.model.config import flatten, knob_values
from burgerfries.model.ssd import Detector
from burgerfries.tracking import (
    SPLIT_CONTEXTS,
    MetricBuffer,
    log_params,
    log_pictures,
    log_split_inputs,
    resolve_experiment,
    tracked_run,
    ui_hint,
)
from burgerfries.training.assemble import TrainingSetup, assemble
from burgerfries.training.checkpoints import (
    CheckpointHook,
    load_initial_weights,
    make_checkpoint,
)
from burgerfries.training.loop import (
    Hooks,
    LoopResult,
    StepResult,
    train_loop,
)
from burgerfries.training.peak_weights import KeptWeights, PeakWeights
from burgerfries.training.progress import ProgressBar
from burgerfries.training.setups import TrainingSetups

EXPERIMENT = "train"


@dataclass
class TrainResult:
    run_id: str
    step: int
    final_losses: dict[str, float]
    eval_metrics: dict[int, dict[str, float]]
    detector: Detector  # holding the kept weights
    checkpoint: str  # the kept weights' checkpoint prefix
    experiment_id: str = ""
    test_metrics: dict[str, float] = field(default_factory=dict)  # `test/*`: the kept weights on the test photos


def short_params(plan: TrainPlan) -> dict[str, object]:
    """The sweep's short names, beside the OD API's dotted ones."""
    settings = plan.settings
    return {
        "model": settings.model,
        **knob_values(plan.config),
        "profile": settings.profile,
        "epochs": plan.config["train_config"].get("num_epochs", ""),  # "" : the length was given in steps
        "seed": settings.seed,
        "data": str(plan.folder.path.resolve()),
        "weights": plan.start.given,
        "restore": plan.start.restore,
        "checkpoint_every": settings.checkpoint_every,
        "eval_every": plan.eval_every,
    }


def load_start_weights(detector: Detector, weights: Path, restore: str = DEFAULT_RESTORE) -> str:
    """Load `--weights`: an OD-API checkpoint or zoo archive (restoring as much as `restore` says,
    the report logged to the active run), or our own."""
    from burgerfries.model.odapi_weights import is_odapi_checkpoint, load_odapi_checkpoint, pipeline_differences

    if not is_odapi_checkpoint(weights):
        return load_initial_weights(detector.model, weights)
    kind = detector.ssd["feature_extractor"]["type"]
    report = load_odapi_checkpoint(detector.model, kind, weights, restore)
    lines = [f"restored {name}" for name in report.restored] + [
        f"skipped {name}: {why}" for name, why in report.skipped
    ]
    mlflow.log_text("\n".join(lines), "initial_weights_report.txt")
    mlflow.log_metrics({"init/restored_variables": len(report.restored), "init/skipped_variables": len(report.skipped)})
    if report.pipeline_config is not None:
        for difference in pipeline_differences(report.pipeline_config, detector.config):
            print(f"warning: {difference} — training with ours")
            mlflow.set_tag(f"pipeline_config_difference/{difference.split(':')[0]}", difference[:5000])
    return f"OD API checkpoint: {report.summary()}"


class MlflowHooks(Hooks):
    """Tracking as a loop hook: per-step losses, rate and learning rate, each evaluation's metrics
    (sent at once, so a run's curve is visible while it trains, and linked to the checkpoint's
    logged model and the eval dataset), the last evaluation's pictures and, at the end, the step
    rate and what tracking cost."""

    def __init__(
        self,
        metrics: MetricBuffer,
        num_steps: int,
        pictures: Callable[[], dict] | None,
        checkpoints: CheckpointModels,
        eval_dataset: MetaDataset | None,
        peak: PeakWeights | None = None,
    ):
        self.metrics = metrics
        self.num_steps = num_steps
        self.pictures = pictures
        self.checkpoints = checkpoints  # each evaluation's metrics are linked to its checkpoint's logged model
        self.eval_dataset = eval_dataset
        self.peak = peak  # (called before this hook) whether the last evaluation's weights are the ones kept

    def after_step(self, result: StepResult) -> None:
        rate = 1.0 / max(result.seconds, 1e-9)
        losses = {f"train/{key}": value for key, value in result.losses.items()}
        self.metrics.log({**losses, TRAIN_LEARNING_RATE: result.learning_rate, TRAIN_STEPS_PER_SEC: rate}, result.step)

    def after_evaluation(self, step: int, metrics: Mapping[str, float]) -> None:
        kept = self.peak.kept() if self.peak is not None else None
        stored_here = step == self.num_steps and (kept is None or not kept.is_peak_before_end)
        model_id = self.checkpoints.model_for(step, last=stored_here)
        self.metrics.log(metrics, step, model_id=model_id, dataset=self.eval_dataset)
        self.metrics.flush()
        if step == self.num_steps and self.pictures is not None:
            log_pictures(self.pictures(), f"eval_images/step_{step}")


class EvaluationCallback(Hooks):
    """A caller's function of (step, metrics), called after each evaluation."""

    def __init__(self, call: Callable[[int, Mapping[str, float]], None]):
        self.call = call

    def after_evaluation(self, step: int, metrics: Mapping[str, float]) -> None:
        self.call(step, metrics)


def _log_loop_totals(loop: LoopResult, metrics: MetricBuffer, num_steps: int) -> None:
    if loop.steps_done > 0:
        mlflow.log_metrics(
            {
                "train/mean_steps_per_sec": loop.steps_done / max(loop.train_seconds, 1e-9),
                "train/tracking_seconds": metrics.seconds_spent,
                "train/tracking_overhead_fraction": metrics.seconds_spent / max(loop.train_seconds, 1e-9),
            },
            step=num_steps,
        )


def _log_inputs(plan: TrainPlan) -> tuple[dict[str, object], MetaDataset | None]:
    """The run's params, its effective config (pipeline.yaml, readable while it trains) and its data
    splits as dataset inputs (when the folder has a content hash); the short params and the eval
    split's dataset, which each evaluation's metrics are linked to."""
    short = short_params(plan)
    log_params({**short, **flatten(plan.config)})
    mlflow.log_text(yaml.safe_dump(plan.config, sort_keys=False), "pipeline.yaml")
    if not plan.folder.hash:
        return short, None
    splits = ("train", VALIDATION, TEST) if plan.folder.has_validation else ("train", TEST)
    datasets = log_split_inputs(plan.folder.path, plan.folder.hash, {s: SPLIT_CONTEXTS[s] for s in splits})
    return short, datasets[plan.folder.choice_split]


def _checkpoints(setup: TrainingSetup, folder: Path) -> tuple[tf.Variable, tf.train.CheckpointManager]:
    """The run's step counter and its checkpoint manager in `folder` (the newest two kept, for resuming)."""
    step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = make_checkpoint(setup.detector.model, setup.optimizer, step_var, setup.average)
    mlflow.set_tag(Tag.CHECKPOINT_DIR, str(folder))
    return step_var, tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=2)


def _start_from(
    checkpoint: tf.train.Checkpoint,
    manager: tf.train.CheckpointManager,
    setup: TrainingSetup,
    weights: Path | None,
    restore: str,
    run_id: str,
) -> None:
    """Resume at the run's newest checkpoint, else load the initial weights (if any)."""
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
        print(f"resuming run {run_id} from {manager.latest_checkpoint} at step {int(checkpoint.step.numpy())}")
    elif weights:
        description = load_start_weights(setup.detector, weights, restore)
        print(f"initial weights: {description}")
        mlflow.set_tag("initial_weights", description)


def train(
    settings: TrainSettings | TrainPlan,
    evaluator: Evaluation | None = None,
    run_id: str | None = None,
    progress: bool = True,
    on_run_start: Callable[[str], None] | None = None,
    setups: TrainingSetups | None = None,
    on_evaluation: Callable[[int, Mapping[str, float]], None] | None = None,
    test_evaluator: Evaluation | None = None,
) -> TrainResult:
    """Train one configuration in one MLflow run (a new one, or `run_id` to resume it), as its
    plan says (`settings` are resolved with `resolve_train` first).

    `evaluator` (the CLI passes an `Evaluation` of the data folder's validation split; None
    evaluates nothing) runs at the eval steps; its pictures of the last one are logged as
    `eval_images/step_N/`. `test_evaluator` (the test photos) evaluates the kept weights once,
    logged as `test/*` at the last step: nothing the run or a sweep chooses reads them.
    With `keep` PEAK the run ends with the weights where the validation curve peaked
    (`training/peak_weights.py`): the returned detector and checkpoint are those.
    `setups` (a sweep's) reuses a traced step of the same shape from an earlier call; the
    returned detector is then reset by the next call of its shape. `on_evaluation(step, metrics)`
    is called after each evaluation (a sweep reports them to Optuna).
    """
    plan = settings if isinstance(settings, TrainPlan) else resolve_train(settings)
    settings, config, num_steps = plan.settings, plan.config, plan.num_steps
    if not settings.nested:  # (a sweep prints its trials' length, size and start in its plan)
        print(plan.describe())
    experiment = resolve_experiment(settings.experiment, EXPERIMENT)
    nested, system_metrics = settings.nested, settings.system_metrics
    with tracked_run(experiment, plan.run_name, plan.tags, nested, run_id, system_metrics) as run:
        run_id = run.info.run_id
        if not nested:  # open it while the run trains: losses come in every step
            print(ui_hint(run.info.experiment_id))
        if on_run_start:
            on_run_start(run_id)
        short, eval_dataset = _log_inputs(plan)
        record = plan.folder.train_record
        started = time.perf_counter()
        setup = setups.get(config, record, settings.seed) if setups else assemble(config, record, settings.seed)
        mlflow.set_tag("traced_step", "reused" if setup.reused else "new")  # reused: no tracing in this run
        mlflow.log_metric("train/setup_seconds", time.perf_counter() - started)
        folder = Path(settings.checkpoint_root).resolve() / run_id
        step_var, manager = _checkpoints(setup, folder)
        _start_from(manager.checkpoint, manager, setup, plan.start.weights, plan.start.restore, run_id)
        peak = _peak_weights(settings, evaluator, setup, folder)

        start = int(step_var.numpy())
        bar = ProgressBar(settings.run_name or f"train {settings.model}", start, num_steps, progress)
        with MetricBuffer(run_id) as metrics:
            pictures = evaluator.pictures if evaluator is not None else None
            checkpoints = CheckpointModels(run_id, settings.model, short)  # a logged model per evaluation
            tracking = MlflowHooks(metrics, num_steps, pictures, checkpoints, eval_dataset, peak)
            hooks = [*([peak] if peak is not None else []), tracking, CheckpointHook(manager, step_var), bar]
            if on_evaluation is not None:
                hooks.append(EvaluationCallback(on_evaluation))
            try:
                loop = train_loop(
                    setup,
                    start,
                    num_steps,
                    hooks,
                    evaluate=evaluator,
                    evaluation_steps=set(plan.evaluation_steps),
                    checkpoint_at=set(plan.checkpoint_steps),
                )
            finally:
                bar.close()  # also when stopped (Ctrl-C, an error): the bar's line ends before any message
        _log_loop_totals(loop, metrics, num_steps)
        final = manager.latest_checkpoint or manager.save(checkpoint_number=num_steps)
        kept_weights, peak_checkpoint = _keep(peak, test_evaluator, setup.detector, num_steps, not nested)
        test_metrics = _test(test_evaluator, setup.detector, num_steps)
        stored = peak_checkpoint or final
        mlflow.set_tag(Tag.KEPT_CHECKPOINT, stored)
        _store(checkpoints, plan, setup.detector, stored, list(manager.checkpoints), loop, kept_weights)
        if not nested:  # (a sweep prints its own tables)
            _print_results(loop, test_metrics, num_steps)
        experiment_id = run.info.experiment_id
        return TrainResult(
            run_id, num_steps, loop.losses, loop.eval_metrics, setup.detector, stored, experiment_id, test_metrics
        )


def _peak_weights(
    settings: TrainSettings, evaluator: Evaluation | None, setup: TrainingSetup, folder: Path
) -> PeakWeights | None:
    """The hook keeping the validation peak's weights, where the run keeps them and evaluates."""
    if settings.keep != Keep.PEAK or evaluator is None:
        return None
    return PeakWeights(setup.detector.model, *objective_key(settings.best_by), folder, settings.resumable)


def _store(
    checkpoints: CheckpointModels,
    plan: TrainPlan,
    detector: Detector,
    stored: str,
    kept: list[str],
    loop: LoopResult,
    kept_weights: KeptWeights | None,
) -> None:
    """The kept weights (checkpoint `stored`) as the run's logged model, beside each evaluation's
    (`kept`: the checkpoints training keeps), timed, and the label map."""
    started = time.perf_counter()
    label_map, best_by = plan.folder.label_map, plan.settings.best_by
    size = detector.image_size
    checkpoints.finish(
        plan.num_steps, stored, kept, plan.config, label_map, size, loop.eval_metrics, best_by, kept_weights
    )
    mlflow.log_metric("train/checkpoint_model_seconds", time.perf_counter() - started, step=plan.num_steps)
    mlflow.log_artifact(str(label_map))


def _print_results(loop: LoopResult, test_metrics: Mapping[str, float], step: int) -> None:
    """The run's last losses, its last evaluation on the validation photos and its kept weights'
    on the test photos, a line each."""
    print(f"step {step}: " + ", ".join(f"{key} {value:.4f}" for key, value in loop.losses.items()))
    if loop.eval_metrics:
        print(describe_evaluation(loop.eval_metrics[max(loop.eval_metrics)], "validation photos, last evaluation"))
    if test_metrics:
        print(describe_evaluation(test_metrics, "test photos (read by no choice), kept weights", "test/"))


def _keep(
    peak: PeakWeights | None, test_evaluator: Evaluation | None, detector: Detector, step: int, verbose: bool
) -> tuple[KeptWeights | None, str | None]:
    """Which weights the run ends with, tagged and printed, and the checkpoint of a peak before its
    end: there the last weights are measured on the test photos first (`test_last_weights/*`, what
    keeping the peak did; nothing chooses on it), then the peak's are loaded into `detector`."""
    kept = peak.kept() if peak is not None else None
    if kept is None:
        return None, None
    checkpoint = None
    if kept.is_peak_before_end:
        _test(test_evaluator, detector, step, LAST_WEIGHTS_TEST_PREFIX)
        checkpoint = peak.load_peak()
    mlflow.set_tag(Tag.KEPT_WEIGHTS, kept.describe())
    if verbose:
        print(kept.describe())
    return kept, checkpoint


def _test(evaluator: Evaluation | None, detector: Detector, step: int, prefix: str = TEST_PREFIX) -> dict[str, float]:
    """The kept weights on the test photos, logged as `test/*` (or `prefix`) at `step` ({} without an evaluator)."""
    if evaluator is None:
        return {}
    started = time.perf_counter()
    measured = as_test(evaluator(detector), prefix)
    measured[prefix + TEST_SECONDS.removeprefix(TEST_PREFIX)] = time.perf_counter() - started
    mlflow.log_metrics(measured, step=step)
    return measured
