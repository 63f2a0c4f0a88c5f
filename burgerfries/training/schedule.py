"""`cosine_decay_learning_rate` with linear warm-up, as the OD API's `cosine_decay_with_warmup`."""

from __future__ import annotations

import math

import keras
import tensorflow as tf


class CosineDecayWithWarmup(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(
        self, learning_rate_base: float, total_steps: int, warmup_learning_rate: float = 0.0, warmup_steps: int = 0
    ):
        if total_steps < warmup_steps:
            raise ValueError(f"total_steps {total_steps} is smaller than warmup_steps {warmup_steps}")
        if warmup_steps and learning_rate_base < warmup_learning_rate:
            raise ValueError("learning_rate_base must be at least warmup_learning_rate")
        self.learning_rate_base = float(learning_rate_base)
        self.total_steps = int(total_steps)
        self.warmup_learning_rate = float(warmup_learning_rate)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        decay_steps = max(1, self.total_steps - self.warmup_steps)
        rate = 0.5 * self.learning_rate_base * (1.0 + tf.cos(math.pi * (step - self.warmup_steps) / decay_steps))
        if self.warmup_steps > 0:
            slope = (self.learning_rate_base - self.warmup_learning_rate) / self.warmup_steps
            rate = tf.where(step < self.warmup_steps, slope * step + self.warmup_learning_rate, rate)
        return tf.where(step > self.total_steps, 0.0, rate)

    def get_config(self) -> dict:
        return {
            "learning_rate_base": self.learning_rate_base,
            "total_steps": self.total_steps,
            "warmup_learning_rate": self.warmup_learning_rate,
            "warmup_steps": self.warmup_steps,
        }


def schedule_from_config(config: dict) -> CosineDecayWithWarmup:
    spec = config["train_config"]["optimizer"]["momentum_optimizer"]["learning_rate"]["cosine_decay_learning_rate"]
    return CosineDecayWithWarmup(
        spec["learning_rate_base"],
        spec["total_steps"],
        spec.get("warmup_learning_rate", 0.0),
        spec.get("warmup_steps", 0),
    )
