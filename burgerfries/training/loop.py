"""The training loop: `run_steps` yields per-step results; `train_loop` drives a whole run and
calls hooks at the moments that matter (after a step, at a checkpoint step, after an evaluation,
at the end).

It knows nothing of tracking or files: the `train` job plugs MLflow in as a hook, and
checkpoints and the progress bar are hooks too (as torchvision's `references/detection/engine.py`
keeps its loop free of I/O). A benchmark or a test uses `run_steps` alone. Time spent in hooks is
not counted in a step's `seconds`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from burgerfries.metrics import EVAL_SECONDS
from burgerfries.model.ssd import Detector
from burgerfries.training.assemble import TrainingSetup
from burgerfries.training.step import LOSS_KEYS


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or Inf."""


@dataclass
class StepResult:
    step: int
    losses: dict[str, float]
    learning_rate: float  # the schedule's rate at this step
    seconds: float  # this step alone: its batch and its update


def run_steps(setup: TrainingSetup, start: int, num_steps: int) -> Iterator[StepResult]:
    """Train steps `start + 1 … num_steps`, yielding each step's losses; a NaN or Inf loss raises."""
    if start >= num_steps:  # (a resumed run that had finished: no input pipeline to build)
        return
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


class Hooks:
    """What a run does around its steps; every method does nothing unless a subclass says so.

    Per step the loop calls `after_step`, then `at_checkpoint` on a checkpoint step, then
    `after_evaluation` on an evaluation step (so an evaluation's checkpoint exists when it is logged);
    `at_end` once, after the last step (also when a resumed run had no step left)."""

    def after_step(self, result: StepResult) -> None:
        """Called after every training step."""

    def at_checkpoint(self, step: int) -> None:
        """Called at every checkpoint step, after `after_step`."""

    def after_evaluation(self, step: int, metrics: Mapping[str, float]) -> None:
        """Called with the evaluation's metrics at every evaluation step."""

    def at_end(self, step: int) -> None:
        """Called once when the loop ends normally."""


@dataclass
class LoopResult:
    step: int  # the last step trained (the start, when there was nothing left to train)
    losses: dict[str, float]  # the last step's losses (empty when no step ran)
    eval_metrics: dict[int, dict[str, float]] = field(default_factory=dict)  # step → metrics
    steps_done: int = 0
    train_seconds: float = 0.0  # the steps alone, not the hooks or evaluations


def train_loop(
    setup: TrainingSetup,
    start: int,
    num_steps: int,
    hooks: Sequence[Hooks] = (),
    evaluate: Callable[[Detector], dict[str, float]] | None = None,
    evaluation_steps: set[int] | frozenset[int] = frozenset(),
    checkpoint_at: set[int] | frozenset[int] = frozenset(),
) -> LoopResult:
    """Train steps `start + 1 … num_steps`, calling `hooks`; `evaluate(detector)` runs at
    `evaluation_steps` (its wall time added as `eval/seconds`). Where the setup averages its
    weights, checkpoints and evaluations see the averaged detector, and so does the caller after
    the loop (`training/weight_average.py`)."""
    result = LoopResult(start, {})
    average = setup.average if setup is not None else None  # (a resumed run with no step left has no setup)
    if average is not None:
        if start == 0:
            average.reset()  # from the start's weights, whatever was loaded into the model since the build
        else:
            average.swap_out()  # a resumed run's checkpoint holds the averages in the model's variables
    for step_result in run_steps(setup, start, num_steps):
        step = step_result.step
        result.step, result.losses = step, step_result.losses
        result.steps_done += 1
        result.train_seconds += step_result.seconds
        for hook in hooks:
            hook.after_step(step_result)
        evaluating = evaluate is not None and step in evaluation_steps
        if average is not None and (evaluating or step in checkpoint_at):
            average.swap_in()
        if step in checkpoint_at:
            for hook in hooks:
                hook.at_checkpoint(step)
        if evaluating:
            started = time.perf_counter()
            metrics = evaluate(setup.detector)
            metrics[EVAL_SECONDS] = time.perf_counter() - started
            result.eval_metrics[step] = metrics
            for hook in hooks:
                hook.after_evaluation(step, metrics)
        if average is not None and step < num_steps:
            average.swap_out()
    if average is not None:
        average.swap_in()
    for hook in hooks:
        hook.at_end(result.step)
    return result
