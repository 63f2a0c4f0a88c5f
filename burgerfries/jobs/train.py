"""The `train` job: one configuration trained in one MLflow run — parameters, per-step losses,
periodic evaluation, checkpoints (resumable by run id) and the final artifacts.

The knobs of `TrainSettings` default to None, which means "the model YAML's value"
(`burgerfries/configs/<model>.yaml`); the CLI, MLproject and the sweep pass only what a user set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import tensorflow as tf
import yaml
from tqdm import tqdm

from burgerfries.data.label_map import read_label_map
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.model import MODEL_NAMES
from burgerfries.model.config import DEFAULT_PROFILE, build_config, flatten, knob_values
from burgerfries.model.odapi_weights import DETECTION
from burgerfries.model.ssd import Detector
from burgerfries.pretrained import resolve_weights
from burgerfries.tracking import MetricBuffer, log_params, log_pictures, resolve_experiment, tracked_run
from burgerfries.training.assemble import assemble
from burgerfries.training.checkpoints import DEFAULT_CHECKPOINT_ROOT, load_initial_weights, make_checkpoint
from burgerfries.training.loop import default_eval_every, eval_steps, run_steps
from burgerfries.training.setups import TrainingSetups

EXPERIMENT = "train"


@dataclass
class TrainSettings:
    data: Path
    model: str = MODEL_NAMES[0]
    batch_size: int | None = None  # None: the model YAML's
    learning_rate: float | None = None  # learning_rate_base of the cosine schedule
    classification_weight: float | None = None
    localization_weight: float | None = None
    num_steps: int | None = None  # None: the profile's, else the YAML's
    profile: str = DEFAULT_PROFILE
    seed: int = 0
    weights: Path | None = None  # None or `none`: from scratch; `pretrained`: burgerfries/pretrained's
    restore: str = DETECTION  # how much of an OD-API checkpoint `weights` restores (odapi_weights.RESTORE_MODES)
    checkpoint_every: int = 0  # 0: only at evaluation steps (when resumable) and the end
    # False: no checkpoints at evaluation steps, for runs nobody resumes (a sweep retries a dead
    # trial from its start); each save took ≈ 0.4–0.7 s of a smoke trial.
    resumable: bool = True
    eval_every: int | None = None  # None: EVALUATIONS_PER_RUN evaluations over the run; 0: the last step only
    overrides: dict = field(default_factory=dict)
    checkpoint_root: Path = DEFAULT_CHECKPOINT_ROOT
    experiment: str | None = None  # None: MLFLOW_EXPERIMENT_NAME/ID when set, else EXPERIMENT
    run_name: str | None = None
    tags: dict = field(default_factory=dict)
    nested: bool = False  # a child of the active run (the sweep's trials)

    def knobs(self) -> dict[str, float | int | None]:
        return {
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "classification_weight": self.classification_weight,
            "localization_weight": self.localization_weight,
            "num_steps": self.num_steps,
        }


@dataclass
class TrainResult:
    run_id: str
    step: int
    final_losses: dict[str, float]
    eval_metrics: dict[int, dict[str, float]]
    detector: Detector
    checkpoint: str


def load_dataset_info(data: Path) -> tuple[dict[int, str], dict]:
    data = Path(data)
    label_map_path = data / "label_map.pbtxt"
    if not label_map_path.is_file():
        raise FileNotFoundError(f"{label_map_path}: not found — is {data} a data_prep output folder?")
    summary_path = data / "dataset.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    return read_label_map(label_map_path), summary


def effective_config(settings: TrainSettings, num_classes: int) -> dict:
    return build_config(settings.model, settings.profile, num_classes, settings.knobs(), settings.overrides)


def short_params(settings: TrainSettings, config: dict, eval_every: int, weights: Path | None) -> dict[str, object]:
    """The sweep's short names, beside the OD API's dotted ones (`weights`: the resolved start, if any)."""
    return {
        "model": settings.model,
        **knob_values(config),
        "profile": settings.profile,
        "seed": settings.seed,
        "data": str(Path(settings.data).resolve()),
        "weights": str(settings.weights or ""),
        "restore": settings.restore if weights else "",
        "checkpoint_every": settings.checkpoint_every,
        "eval_every": eval_every,
    }


def initial_weights(detector: Detector, weights: Path, restore: str = DETECTION) -> str:
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
    shown = 3  # a sweep restores per trial: the whole list is the artifact, not the console's
    for name, why in report.skipped[:shown]:
        print(f"  skipped {name}: {why}")
    if len(report.skipped) > shown:
        print(f"  … and {len(report.skipped) - shown} more skipped (the run's initial_weights_report.txt lists all)")
    if report.pipeline_config is not None:
        for difference in pipeline_differences(report.pipeline_config, detector.config):
            print(f"warning: {difference} — training with ours")
            mlflow.set_tag(f"pipeline_config_difference/{difference.split(':')[0]}", difference[:5000])
    return f"OD API checkpoint: {report.summary()}"


def train(
    settings: TrainSettings,
    evaluator: Evaluation | None = None,
    run_id: str | None = None,
    progress: bool = True,
    on_run_start: Callable[[str], None] | None = None,
    setups: TrainingSetups | None = None,
) -> TrainResult:
    """Train one configuration in one MLflow run (a new one, or `run_id` to resume it).

    `evaluator` (the CLI passes an `Evaluation` of the data folder's eval split; None evaluates
    nothing) runs at the eval steps; its pictures of the last one are logged as `eval_images/step_N/`.
    `setups` (a sweep's) reuses a traced step of the same shape from an earlier call; the
    returned detector is then reset by the next call of its shape.
    """
    label_map, summary = load_dataset_info(settings.data)
    weights = resolve_weights(settings.weights, settings.profile, settings.model)
    config = effective_config(settings, len(label_map))
    num_steps = config["train_config"]["num_steps"]
    eval_every = default_eval_every(num_steps) if settings.eval_every is None else settings.eval_every
    tags = {"model": settings.model, "profile": settings.profile, **settings.tags}
    if summary.get("hash"):
        tags["dataset_hash"] = summary["hash"]

    experiment = resolve_experiment(settings.experiment, EXPERIMENT)
    with tracked_run(
        experiment,
        run_name=settings.run_name or f"{settings.model} {settings.profile}",
        tags=tags,
        run_id=run_id,
        nested=settings.nested,
    ) as run:
        run_id = run.info.run_id
        if on_run_start:
            on_run_start(run_id)
        log_params({**short_params(settings, config, eval_every, weights), **flatten(config)})
        mlflow.log_text(yaml.safe_dump(config, sort_keys=False), "pipeline.yaml")  # readable while it trains
        record = Path(settings.data) / "train.record"
        started = time.perf_counter()
        setup = setups.get(config, record, settings.seed) if setups else assemble(config, record, settings.seed)
        mlflow.set_tag("traced_step", "reused" if setup.reused else "new")  # reused: no tracing in this run
        mlflow.log_metric("train/setup_seconds", time.perf_counter() - started)
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        checkpoint = make_checkpoint(setup.detector.model, setup.optimizer, step_var)
        checkpoint_dir = Path(settings.checkpoint_root).resolve() / run_id
        manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_dir), max_to_keep=2)
        mlflow.set_tag("checkpoint_dir", str(checkpoint_dir))
        if manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint)
            print(f"resuming run {run_id} from {manager.latest_checkpoint} at step {int(step_var.numpy())}")
        elif weights:
            description = initial_weights(setup.detector, weights, settings.restore)
            print(f"initial weights: {description}")
            mlflow.set_tag("initial_weights", description)

        start = int(step_var.numpy())
        evaluation_steps = eval_steps(num_steps, eval_every)
        eval_metrics: dict[int, dict[str, float]] = {}
        losses: dict[str, float] = {}
        train_seconds = 0.0
        with MetricBuffer(run_id) as metrics:
            bar = tqdm(
                desc=settings.run_name or f"train {settings.model}",
                unit="step",
                initial=start,
                total=num_steps,
                disable=not progress,
            )
            for result in run_steps(setup, start, num_steps):
                step, losses = result.step, result.losses
                train_seconds += result.seconds
                step_var.assign(step)
                metrics.log(
                    {
                        **{f"train/{k}": v for k, v in losses.items()},
                        "train/learning_rate": result.learning_rate,
                        "train/steps_per_sec": 1.0 / max(result.seconds, 1e-9),
                    },
                    step,
                )
                bar.update(1)
                bar.set_postfix(
                    loss=f"{losses['loss_total']:.3f}", steps_per_s=f"{1.0 / max(result.seconds, 1e-9):.2f}"
                )
                is_eval = step in evaluation_steps
                if (
                    step == num_steps
                    or (settings.checkpoint_every and step % settings.checkpoint_every == 0)
                    or (is_eval and settings.resumable)
                ):
                    manager.save(checkpoint_number=step)
                if is_eval and evaluator is not None:
                    started = time.perf_counter()
                    eval_metrics[step] = evaluator(setup.detector)
                    eval_metrics[step]["eval/seconds"] = time.perf_counter() - started
                    metrics.log(eval_metrics[step], step)
                    metrics.flush()
                    if step == num_steps:
                        log_pictures(evaluator.pictures(), f"eval_images/step_{step}")
            bar.close()
        steps_done = num_steps - start
        if steps_done > 0:
            mlflow.log_metrics(
                {
                    "train/mean_steps_per_sec": steps_done / max(train_seconds, 1e-9),
                    "train/tracking_seconds": metrics.seconds_spent,
                    "train/tracking_overhead_fraction": metrics.seconds_spent / max(train_seconds, 1e-9),
                },
                step=num_steps,
            )
        final = manager.latest_checkpoint or manager.save(checkpoint_number=num_steps)
        mlflow.log_artifacts(str(checkpoint_dir), "checkpoint")
        mlflow.log_artifact(str(Path(settings.data) / "label_map.pbtxt"))
        return TrainResult(run_id, num_steps, losses, eval_metrics, setup.detector, final)
