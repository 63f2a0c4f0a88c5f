"""Checkpoints of a run (model + optimizer + step) and loading initial weights.

A run's checkpoints live in `<checkpoint_root>/<run_id>/`, so re-running the same run id
resumes at the step it reached; the last checkpoint is also logged to MLflow so that evaluate
and export can work from the tracking store alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import tensorflow as tf

from burgerfries.training.loop import Hooks
from burgerfries.training.weight_average import CHECKPOINT_NAME as WEIGHT_AVERAGE
from burgerfries.training.weight_average import WeightAverage

DEFAULT_CHECKPOINT_ROOT = Path("checkpoints")
NOT_WEIGHTS = (
    "optimizer/_variables",
    "optimizer/_iterations",
    "optimizer/iter",
    "save_counter",
    "step/",
    "_CHECKPOINTABLE_OBJECT_GRAPH",
    f"{WEIGHT_AVERAGE}/",
)


class WeightsError(ValueError):
    """Initial weights that cannot be loaded; the message names the file and why."""


def make_checkpoint(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer | None,
    step: tf.Variable,
    average: WeightAverage | None = None,
) -> tf.train.Checkpoint:
    """What a run saves: the model (the averaged weights, where the run averages them), the
    optimizer, the step and the average's own state (to resume it)."""
    parts = {"model": model, "step": step}
    if optimizer is not None:
        parts["optimizer"] = optimizer
    if average is not None:
        parts[WEIGHT_AVERAGE] = average.trackable()
    return tf.train.Checkpoint(**parts)


def checkpoint_step(prefix: str) -> int:
    """The step of a `ckpt-N` prefix, as tf.train.CheckpointManager numbers them."""
    return int(re.search(r"ckpt-(\d+)$", str(prefix)).group(1))


def resolve_checkpoint(path: Path) -> str:
    """A checkpoint prefix from a prefix, a folder with a `checkpoint` index file, or a folder
    holding such a folder (a run's artifact directory)."""
    path = Path(path)
    if path.is_dir():
        for folder in (path, path / "checkpoint", path / "checkpoints"):
            latest = tf.train.latest_checkpoint(str(folder)) if folder.is_dir() else None
            if latest:
                return latest
        raise WeightsError(f"{path}: folder holds no TensorFlow checkpoint (no 'checkpoint' index file)")
    if Path(f"{path}.index").is_file():
        return str(path)
    raise WeightsError(f"{path}: not found (expected a .weights.h5 file, a checkpoint prefix or a checkpoint folder)")


def load_initial_weights(model: keras.Model, path: Path) -> str:
    """Load a Keras weights file or one of our checkpoints into `model` (fine-tuning start).

    Returns a one-line description for the logs. Loading requires every model variable to be
    restored, so a checkpoint of the other architecture or class count is refused, not half-used.
    """
    path = Path(path)
    if path.suffix == ".h5" or path.name.endswith(".weights.h5"):
        if not path.is_file():
            raise WeightsError(f"{path}: not found")
        try:
            model.load_weights(str(path))
        except (ValueError, OSError) as error:
            raise WeightsError(f"{path}: does not fit model {model.name} ({error})") from error
        return f"Keras weights {path}"
    prefix = resolve_checkpoint(path)
    listed = tf.train.list_variables(prefix)
    if not any(name.startswith("model/") for name, _ in listed):
        raise WeightsError(f"{prefix}: not a burgerfries checkpoint (no 'model/' variables)")
    # A checkpoint stores each variable once, under its first path: trainable weights may sit
    # under optimizer/_trainable_variables, the rest under model/. Slots and counters are not weights.
    stored = [
        (name, shape) for name, shape in listed if not name.startswith(NOT_WEIGHTS) and "OPTIMIZER_SLOT" not in name
    ]
    # Compare shapes before restoring: a half-applied restore of another architecture would
    # leave the model mixed and TensorFlow complaining about every unmatched value.
    if sorted(tuple(shape) for _, shape in stored) != sorted(tuple(w.shape) for w in model.weights):
        raise WeightsError(
            f"{prefix}: does not fit model {model.name}: {len(stored)} stored variables vs "
            f"{len(model.weights)} in the model, or different shapes (another model, size or class count?)"
        )
    try:
        status = tf.train.Checkpoint(model=model).restore(prefix)
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:
        raise WeightsError(f"{prefix}: does not fit model {model.name}: {str(error)[:300]}") from error
    status.expect_partial()  # the optimizer slots and step of the old run are not wanted
    return f"checkpoint {prefix}"


class CheckpointHook(Hooks):
    """Saves model, optimizer and step at the loop's checkpoint steps (`loop.checkpoint_steps`)."""

    def __init__(self, manager: tf.train.CheckpointManager, step: tf.Variable):
        self.manager = manager
        self.step = step

    def at_checkpoint(self, step: int) -> None:
        self.step.assign(step)
        self.manager.save(checkpoint_number=step)
