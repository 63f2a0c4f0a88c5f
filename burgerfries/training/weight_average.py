"""An exponential moving average of the trainable weights, evaluated, checkpointed and exported in
their place: the OD API's `optimizer.use_moving_average` (tf.train.ExponentialMovingAverage with
the global step as its number of updates, so the decay starts low and rises to
`moving_average_decay`), and Ultralytics' ModelEMA in spirit.

The averages live beside the model. At a checkpoint or evaluation step the loop swaps them into
the model's variables (`swap_in`), so what is evaluated, saved, logged and exported is the
averaged detector with no change to any reader; the training weights wait in `raw` and come back
(`swap_out`) before the next step. `swapped` is saved with a checkpoint, so a resumed run knows
which weights its restored variables hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

CHECKPOINT_NAME = "weight_average"  # its variables' prefix in a checkpoint (not model weights)


class WeightAverage:
    def __init__(self, variables: Sequence[tf.Variable], decay: float):
        self._variables = list(variables)  # the model's: a checkpoint saves them with the model
        self.decay = tf.Variable(decay, dtype=tf.float32, trainable=False, name="decay")
        self.averages = [tf.Variable(v, trainable=False, name=f"average_{i}") for i, v in enumerate(self._variables)]
        self.raw = [tf.Variable(v, trainable=False, name=f"raw_{i}") for i, v in enumerate(self._variables)]
        self.swapped = tf.Variable(False, trainable=False, name="swapped")

    def update(self, num_updates: tf.Tensor) -> None:
        """One step of the average (inside the traced training step, after the weights moved):
        decay min(`decay`, (1 + n) / (10 + n)) as tf.train.ExponentialMovingAverage uses it."""
        n = tf.cast(num_updates, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + n) / (10.0 + n))
        for average, variable in zip(self.averages, self._variables, strict=True):
            average.assign_sub((1.0 - decay) * (average - tf.cast(variable, average.dtype)))

    def trackable(self) -> tf.train.Checkpoint:
        """What a checkpoint saves of the average (under CHECKPOINT_NAME): the averages, the training
        weights while swapped out, whether they are, and the decay."""
        return tf.train.Checkpoint(averages=self.averages, raw=self.raw, swapped=self.swapped, decay=self.decay)

    def swap_in(self) -> None:
        """The averages into the model's variables; the training weights kept in `raw`."""
        if bool(self.swapped.numpy()):
            return
        for raw, average, variable in zip(self.raw, self.averages, self._variables, strict=True):
            raw.assign(variable)
            variable.assign(average)
        self.swapped.assign(True)

    def swap_out(self) -> None:
        """The training weights back into the model's variables."""
        if not bool(self.swapped.numpy()):
            return
        for raw, variable in zip(self.raw, self._variables, strict=True):
            variable.assign(raw)
        self.swapped.assign(False)

    def reset(self, decay: float | None = None) -> None:
        """Start averaging again from the model's current weights (a new run's start, or a reused
        setup's next trial with its own `decay`)."""
        self.swapped.assign(False)
        if decay is not None:
            self.decay.assign(decay)
        for average, variable in zip(self.averages, self._variables, strict=True):
            average.assign(variable)


def average_of(config: dict, variables: Sequence[tf.Variable]) -> WeightAverage | None:
    """The config's weight average (`train_config.optimizer.use_moving_average`), or None."""
    if not config["train_config"]["optimizer"].get("use_moving_average", False):
        return None
    return WeightAverage(variables, decay_of(config))


def decay_of(config: dict) -> float:
    """The config's `moving_average_decay` (the model YAMLs hold its default)."""
    return float(config["train_config"]["optimizer"]["moving_average_decay"])
