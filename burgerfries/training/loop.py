"""The training loop, as a generator of per-step results.

It knows nothing of tracking, checkpoints or evaluation: the caller (the `train` job, a
benchmark, a test) consumes one `StepResult` per step and does what it needs between steps; the
time it spends there is not counted in `seconds`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

from burgerfries.training.assemble import TrainingSetup
from burgerfries.training.step import LOSS_KEYS

EVALUATIONS_PER_RUN = 6  # the plateau analysis needs several points per run


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or Inf."""


@dataclass
class StepResult:
    step: int
    losses: dict[str, float]
    learning_rate: float  # the schedule's rate at this step
    seconds: float  # this step alone: its batch and its update


def default_eval_every(num_steps: int) -> int:
    """Evaluate `EVALUATIONS_PER_RUN` times over a run, so every run has a curve to read."""
    return max(1, num_steps // EVALUATIONS_PER_RUN)


def eval_steps(num_steps: int, eval_every: int) -> set[int]:
    """The steps that evaluate: every `eval_every`-th, and always the last."""
    steps = set(range(eval_every, num_steps + 1, eval_every)) if eval_every > 0 else set()
    return steps | {num_steps}


def run_steps(setup: TrainingSetup, start: int, num_steps: int) -> Iterator[StepResult]:
    """Train steps `start + 1 … num_steps`, yielding each step's losses; a NaN or Inf loss raises."""
    batches = iter(setup.batches(start))
    for step in range(start + 1, num_steps + 1):
        started = time.perf_counter()
        learning_rate = float(setup.optimizer.learning_rate)
        output = setup.train_step(*next(batches))
        losses = {key: float(output[key]) for key in LOSS_KEYS}
        seconds = time.perf_counter() - started
        if not math.isfinite(losses["loss_total"]):
            raise NonFiniteLossError(
                f"loss became {losses['loss_total']} at step {step} ({losses}); try a lower learning rate"
            )
        yield StepResult(step, losses, learning_rate, seconds)
