"""The training run: build the detector from config, train with every step tracked, checkpoint,
evaluate every `eval_every` steps through the evaluator seam, and leave a resumable run."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import keras
import mlflow
import tensorflow as tf
import yaml
from tqdm import tqdm

from burgerfries.data.label_map import read_label_map
from burgerfries.data.pipeline import check_record, max_boxes_in, train_dataset
from burgerfries.model.config import build_config, flatten
from burgerfries.model.ssd import Detector, build_detector
from burgerfries.tracking import MetricBuffer, log_params, tracked_run
from burgerfries.training.checkpoints import DEFAULT_CHECKPOINT_ROOT, load_initial_weights, make_checkpoint
from burgerfries.training.schedule import schedule_from_config
from burgerfries.training.step import LOSS_KEYS, make_train_step

EXPERIMENT = "train"


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or Inf; the run is marked FAILED."""


class Evaluator(Protocol):
    """The periodic-evaluation seam: called at eval steps, returns `eval/*` metrics for that step."""

    def __call__(self, detector: Detector, step: int, final: bool = False) -> dict[str, float]: ...


@dataclass
class TrainSettings:
    data: Path
    model: str = "ssd_mobilenet_v2_320x320"
    batch_size: int = 10
    learning_rate: float = 0.04
    classification_weight: float = 1.0
    localization_weight: float = 1.0
    num_steps: int | None = None  # None: the profile's
    profile: str = "full"
    seed: int = 0
    weights: Path | None = None
    checkpoint_every: int = 0  # 0: only at the end (and at eval steps)
    eval_every: int = 0  # 0: only at the last step
    overrides: dict = field(default_factory=dict)
    checkpoint_root: Path = DEFAULT_CHECKPOINT_ROOT
    experiment: str = EXPERIMENT
    run_name: str | None = None
    tags: dict = field(default_factory=dict)
    nested: bool = False  # a child of the active run (the sweep's trials)


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
    return build_config(settings.model, settings.profile, num_classes, settings.batch_size, settings.learning_rate,
                        settings.classification_weight, settings.localization_weight, settings.num_steps,
                        settings.overrides)


def short_params(settings: TrainSettings, config: dict) -> dict[str, object]:
    """The sweep's short names, beside the OD API's dotted ones."""
    train = config["train_config"]
    return {"model": settings.model, "batch_size": train["batch_size"],
            "learning_rate": train["optimizer"]["momentum_optimizer"]["learning_rate"]["cosine_decay_learning_rate"]["learning_rate_base"],
            "classification_weight": config["model"]["ssd"]["loss"]["classification_weight"],
            "localization_weight": config["model"]["ssd"]["loss"]["localization_weight"],
            "num_steps": train["num_steps"], "profile": settings.profile, "seed": settings.seed,
            "data": str(Path(settings.data).resolve()), "weights": str(settings.weights or ""),
            "checkpoint_every": settings.checkpoint_every, "eval_every": settings.eval_every}


def initial_weights(detector: Detector, weights: Path) -> str:
    """Load `--weights`: an OD-API checkpoint or zoo archive (fine-tuning as
    `fine_tune_checkpoint_type: detection`, the report logged to the active run), or our own."""
    from burgerfries.model.odapi_weights import is_odapi_checkpoint, load_odapi_checkpoint, pipeline_differences

    if not is_odapi_checkpoint(weights):
        return load_initial_weights(detector.model, weights)
    kind = detector.ssd["feature_extractor"]["type"]
    report = load_odapi_checkpoint(detector.model, kind, weights)
    lines = [f"restored {name}" for name in report.restored] + [f"skipped {name}: {why}" for name, why in report.skipped]
    mlflow.log_text("\n".join(lines), "initial_weights_report.txt")
    mlflow.log_metrics({"init/restored_variables": len(report.restored), "init/skipped_variables": len(report.skipped)})
    for name, why in report.skipped:
        print(f"  skipped {name}: {why}")
    if report.pipeline_config is not None:
        for difference in pipeline_differences(report.pipeline_config, detector.config):
            print(f"warning: {difference} — training with ours")
            mlflow.set_tag(f"pipeline_config_difference/{difference.split(':')[0]}", difference[:5000])
    return f"OD API checkpoint: {report.summary()}"


def eval_steps(num_steps: int, eval_every: int) -> set[int]:
    steps = set(range(eval_every, num_steps + 1, eval_every)) if eval_every > 0 else set()
    return steps | {num_steps}


def train(settings: TrainSettings, evaluator: Evaluator | None = None, run_id: str | None = None,
          progress: bool = True, on_run_start: Callable[[str], None] | None = None) -> TrainResult:
    """Train one configuration in one MLflow run (a new one, or `run_id` to resume it)."""
    label_map, summary = load_dataset_info(settings.data)
    train_record = Path(settings.data) / "train.record"
    check_record(train_record)
    config = effective_config(settings, len(label_map))
    num_steps = config["train_config"]["num_steps"]
    batch_size = config["train_config"]["batch_size"]
    tags = {"model": settings.model, "profile": settings.profile, **settings.tags}
    if summary.get("hash"):
        tags["dataset_hash"] = summary["hash"]

    with tracked_run(settings.experiment, run_name=settings.run_name or f"{settings.model} {settings.profile}",
                     tags=tags, run_id=run_id, nested=settings.nested) as run:
        run_id = run.info.run_id
        if on_run_start:
            on_run_start(run_id)
        log_params({**short_params(settings, config), **flatten(config)})
        mlflow.log_text(yaml.safe_dump(config, sort_keys=False), "pipeline.yaml")  # readable while it trains
        keras.utils.set_random_seed(settings.seed)
        detector = build_detector(config)
        optimizer = keras.optimizers.SGD(schedule_from_config(config),
                                         momentum=config["train_config"]["optimizer"]["momentum_optimizer"]["momentum_optimizer_value"])
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        checkpoint = make_checkpoint(detector.model, optimizer, step_var)
        checkpoint_dir = Path(settings.checkpoint_root).resolve() / run_id
        manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_dir), max_to_keep=2)
        mlflow.set_tag("checkpoint_dir", str(checkpoint_dir))
        if manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint)
            print(f"resuming run {run_id} from {manager.latest_checkpoint} at step {int(step_var.numpy())}")
        elif settings.weights:
            description = initial_weights(detector, settings.weights)
            print(f"initial weights: {description}")
            mlflow.set_tag("initial_weights", description)

        start = int(step_var.numpy())
        dataset = train_dataset(train_record, detector.image_size, batch_size,
                                config["train_config"]["data_augmentation_options"], settings.seed + start,
                                max(1, min(max_boxes_in(train_record), config["train_config"]["max_number_of_boxes"])))
        train_step = make_train_step(detector, optimizer)
        evaluation_steps = eval_steps(num_steps, settings.eval_every)
        eval_metrics: dict[int, dict[str, float]] = {}
        losses: dict[str, float] = {}
        with MetricBuffer(run_id) as metrics:
            batches = iter(dataset)
            bar = tqdm(range(start + 1, num_steps + 1), desc=settings.run_name or f"train {settings.model}", unit="step",
                       initial=start, total=num_steps, disable=not progress)
            last = time.perf_counter()
            train_seconds = 0.0
            for step in bar:
                learning_rate = float(optimizer.learning_rate)  # the schedule at this step's iteration
                output = train_step(*next(batches))
                losses = {key: float(output[key]) for key in LOSS_KEYS}
                now = time.perf_counter()
                step_seconds, last = now - last, now
                train_seconds += step_seconds
                step_var.assign(step)
                metrics.log({**{f"train/{k}": v for k, v in losses.items()}, "train/learning_rate": learning_rate,
                             "train/steps_per_sec": 1.0 / max(step_seconds, 1e-9)}, step)
                if not math.isfinite(losses["loss_total"]):
                    raise NonFiniteLossError(f"run {run_id}: loss became {losses['loss_total']} at step {step} "
                                             f"({losses}); try a lower learning rate")
                bar.set_postfix(loss=f"{losses['loss_total']:.3f}", steps_per_s=f"{1.0 / max(step_seconds, 1e-9):.2f}")
                is_eval = step in evaluation_steps
                if (settings.checkpoint_every and step % settings.checkpoint_every == 0) or is_eval:
                    manager.save(checkpoint_number=step)
                if is_eval and evaluator is not None:
                    started = time.perf_counter()
                    result = evaluator(detector, step, final=step == num_steps)
                    result["eval/seconds"] = time.perf_counter() - started
                    eval_metrics[step] = result
                    metrics.log(result, step)
                    metrics.flush()
                    last = time.perf_counter()  # evaluation time is not training time
            bar.close()
        steps_done = num_steps - start
        if steps_done > 0:
            mlflow.log_metrics({"train/mean_steps_per_sec": steps_done / max(train_seconds, 1e-9),
                                "train/tracking_seconds": metrics.seconds_spent,
                                "train/tracking_overhead_fraction": metrics.seconds_spent / max(train_seconds, 1e-9)},
                               step=num_steps)
        final = manager.latest_checkpoint or manager.save(checkpoint_number=num_steps)
        mlflow.log_artifacts(str(checkpoint_dir), "checkpoint")
        mlflow.log_artifact(str(Path(settings.data) / "label_map.pbtxt"))
        return TrainResult(run_id, num_steps, losses, eval_metrics, detector, final)
