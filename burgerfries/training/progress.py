"""A run's progress bar, as a loop hook: steps done, the last loss and the step rate."""

from __future__ import annotations

from tqdm import tqdm

from burgerfries.training.loop import Hooks, StepResult


class ProgressBar(Hooks):
    def __init__(self, description: str, start: int, num_steps: int, enabled: bool = True):
        self.bar = tqdm(desc=description, unit="step", initial=start, total=num_steps, disable=not enabled)

    def after_step(self, result: StepResult) -> None:
        self.bar.update(1)
        rate = 1.0 / max(result.seconds, 1e-9)
        self.bar.set_postfix(loss=f"{result.losses['loss_total']:.3f}", steps_per_s=f"{rate:.2f}")

    def at_end(self, step: int) -> None:
        self.close()

    def close(self) -> None:
        """End the bar's line (closing twice is harmless)."""
        self.bar.close()
