"""`cosine_decay_learning_rate` with linear warm-up, as the OD API's `cosine_decay_with_warmup`.

Its four numbers are variables, read when the step runs: a traced training step reused for a
sweep's next trial (training/setups.py) follows that trial's learning rate after `assign`.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from burgerfries.model.config import SCHEDULE, get

SCHEDULE_FIELDS = ("learning_rate_base", "total_steps", "warmup_learning_rate", "warmup_steps")


class CosineDecayWithWarmup(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(
        self, learning_rate_base: float, total_steps: int, warmup_learning_rate: float = 0.0, warmup_steps: int = 0
    ):
        self.learning_rate_base, self.total_steps, self.warmup_learning_rate, self.warmup_steps = (
            tf.Variable(0.0, trainable=False, dtype=tf.float32) for _ in SCHEDULE_FIELDS
        )
        self.assign(learning_rate_base, total_steps, warmup_learning_rate, warmup_steps)

    def assign(
        self, learning_rate_base: float, total_steps: int, warmup_learning_rate: float = 0.0, warmup_steps: int = 0
    ) -> None:
        if total_steps < warmup_steps:
            raise ValueError(f"total_steps {total_steps} is smaller than warmup_steps {warmup_steps}")
        if warmup_steps and learning_rate_base < warmup_learning_rate:
            raise ValueError("learning_rate_base must be at least warmup_learning_rate")
        self.learning_rate_base.assign(float(learning_rate_base))
        self.total_steps.assign(float(total_steps))
        self.warmup_learning_rate.assign(float(warmup_learning_rate))
        self.warmup_steps.assign(float(warmup_steps))

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        base, total = self.learning_rate_base, self.total_steps
        warmup_rate, warmup_steps = self.warmup_learning_rate, self.warmup_steps
        decay_steps = tf.maximum(1.0, total - warmup_steps)
        rate = 0.5 * base * (1.0 + tf.cos(math.pi * (step - warmup_steps) / decay_steps))
        warming = warmup_rate + step * tf.math.divide_no_nan(base - warmup_rate, warmup_steps)
        rate = tf.where(step < warmup_steps, warming, rate)
        return tf.where(step > total, 0.0, rate)

    def get_config(self) -> dict:
        return {
            "learning_rate_base": float(self.learning_rate_base.numpy()),
            "total_steps": int(self.total_steps.numpy()),
            "warmup_learning_rate": float(self.warmup_learning_rate.numpy()),
            "warmup_steps": int(self.warmup_steps.numpy()),
        }


def schedule_values(config: dict) -> dict[str, float]:
    """The schedule's numbers in a config (`CosineDecayWithWarmup`'s and `assign`'s arguments)."""
    spec = get(config, SCHEDULE)
    return {
        "learning_rate_base": spec["learning_rate_base"],
        "total_steps": spec["total_steps"],
        "warmup_learning_rate": spec.get("warmup_learning_rate", 0.0),
        "warmup_steps": spec.get("warmup_steps", 0),
    }


def schedule_from_config(config: dict) -> CosineDecayWithWarmup:
    return CosineDecayWithWarmup(**schedule_values(config))
