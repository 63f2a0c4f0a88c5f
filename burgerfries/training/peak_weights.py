"""The weights at the validation curve's peak, so that a run whose curve peaks before its end
ends with the weights it evaluated best, not with its last ones.

One fixed length does not fit every set: on one real set two of four seeds peaked before the
end (at 2/3 and at 5/6 of the run), on cards every seed was still rising. So at each evaluation
whose value of the decision metric is at least the best so far, the evaluated weights (the
averaged ones, where the run averages them) are copied aside. A later evaluation that equals the
peak replaces it: a tie keeps the longer training. The run keeps the peak's weights only when no
later evaluation reached it (`kept`); they are what its test photos, its logged model and its
export then read, from `<run's checkpoint folder>/peak/`. Only the validation photos choose: the
test photos are read once, after the choice.

The copy is a NumPy one (0.05 s for FPNLite at smoke, against 0.3 s for writing a checkpoint,
both measured on the AVX2 machine of bench/RESULTS.md). A resumable run (`persist`) also writes
each new peak to disk, with the value, step and last evaluation in `peak.json`, so a resumed run
goes on from them; a sweep's trials, restarted from their start when they die, write only a peak
they keep.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from burgerfries.training.checkpoints import make_checkpoint
from burgerfries.training.loop import Hooks

PEAK_FOLDER = "peak"
STATE_FILE = "peak.json"


def at_least_as_good(value: float, best: float, higher_is_better: bool) -> bool:
    """Whether an evaluation's `value` replaces the `best` so far: the later of equal ones wins."""
    return value >= best if higher_is_better else value <= best


@dataclass(frozen=True)
class Evaluated:
    step: int
    value: float


@dataclass(frozen=True)
class KeptWeights:
    """Which evaluated weights a run ends with, and why."""

    step: int  # the kept evaluation's step
    last_step: int  # the run's last evaluation
    key: str  # the metric that chose, read on the validation photos
    value: float
    last_value: float

    @property
    def is_peak_before_end(self) -> bool:
        return self.step != self.last_step

    def describe(self) -> str:
        if not self.is_peak_before_end:
            return f"kept the last weights (step {self.step}): {self.key} {self.value:.3f}, the validation curve's peak"
        return (
            f"kept the weights of step {self.step} (the validation curve's peak): {self.key} {self.value:.3f} "
            f"against {self.last_value:.3f} at the last evaluation (step {self.last_step})"
        )


class PeakWeights(Hooks):
    """The hook that keeps the peak's weights of one run (see the module)."""

    def __init__(
        self, model: keras.Model, key: str, higher_is_better: bool, checkpoint_folder: Path, persist: bool = True
    ):
        self.model = model
        self.key = key
        self.higher_is_better = higher_is_better
        self.persist = persist
        self.folder = Path(checkpoint_folder) / PEAK_FOLDER
        self.peak: Evaluated | None = None
        self.last: Evaluated | None = None
        self._copy: list[np.ndarray] | None = None  # the peak's weights, where this process evaluated it
        self._step = tf.Variable(0, dtype=tf.int64)  # the peak's, saved with its weights
        # a run's checkpoint without its optimizer (what every reader of a trained run restores), one kept
        self._manager = tf.train.CheckpointManager(
            make_checkpoint(model, None, self._step), str(self.folder), max_to_keep=1
        )
        state = self.folder / STATE_FILE
        if state.is_file():  # a resumed run: the peak and last evaluation before it stopped
            saved = json.loads(state.read_text(encoding="utf-8"))
            self.peak, self.last = Evaluated(**saved["peak"]), Evaluated(**saved["last"])

    def after_evaluation(self, step: int, metrics: Mapping[str, float]) -> None:
        value = metrics.get(self.key)
        if value is None or not math.isfinite(value):
            return
        self.last = Evaluated(step, float(value))
        if self.peak is None or at_least_as_good(self.last.value, self.peak.value, self.higher_is_better):
            self.peak = self.last
            self._copy = [weight.numpy().copy() for weight in self.model.weights]
            if self.persist:
                self._save()
        if self.persist:
            (self.folder / STATE_FILE).write_text(json.dumps({"peak": asdict(self.peak), "last": asdict(self.last)}))

    def kept(self) -> KeptWeights | None:
        """The weights the run ends with (None when nothing was evaluated)."""
        if self.peak is None or self.last is None:
            return None
        return KeptWeights(self.peak.step, self.last.step, self.key, self.peak.value, self.last.value)

    def load_peak(self) -> str:
        """Load the peak's weights into the model; their checkpoint's prefix (written now where it was not)."""
        kept = self.kept()
        if kept is None or not kept.is_peak_before_end:
            raise ValueError("no peak before the last evaluation to load")
        if self._copy is not None:
            self.model.set_weights(self._copy)
            return self._manager.latest_checkpoint if self.persist else self._save()
        self._manager.checkpoint.restore(self._manager.latest_checkpoint).assert_existing_objects_matched()
        return self._manager.latest_checkpoint

    def _save(self) -> str:
        self._step.assign(self.peak.step)
        return self._manager.save(checkpoint_number=self.peak.step)
