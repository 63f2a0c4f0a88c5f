"""Stopping a clearly-worse challenger early, through Optuna's pruner interface.

Only a challenger's screening trial (one of its first `repeats` seeds; never a run of the
incumbent, never a confirmation or look seed) is stopped, and only when, at two thirds of its
steps or later, its decision metric trails the mean of the incumbent's finished runs at the same
evaluation by more than MARGIN and by more than SPREADS of their standard deviations there (two
incumbent runs at least). Confirmation seeds go only to a challenger that beats the incumbent at
its last evaluation, so such a challenger is far from earning them; stopping it saves the rest of
its steps. The stopped run is not counted among the phase's challengers.

Only a trial that trains as many steps as the incumbent is compared, step for step: a value at a
step depends on where that step falls in the run's cosine learning-rate schedule, so a run half
through a longer schedule (another length, or a smaller batch at a fixed number of passes) would be
held against the incumbent's finished one. Such a trial is never stopped.

After the first phase the incumbent's runs were trained by an earlier phase and are reused, not
trials of this phase's study: their curves come in as `earlier` (the sweep reads them from the
runs' metric histories), so the rule works in every phase.
"""

from __future__ import annotations

import statistics

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from burgerfries.sweep.storage import ENTRY, STEPS

MIN_FRACTION = 2 / 3  # of the trial's steps, before which nothing is stopped
MARGIN = 0.10  # of the decision metric (mAP@0.5: 0.10), at least
SPREADS = 4  # incumbent standard deviations, at least


def curves(metrics: pd.DataFrame, key: str) -> list[dict[int, float]]:
    """Each run's `key` by step ({step: value}), from metric histories in the long form the report
    reads them (`run_id`, `key`, `step`, `value`): the `earlier` of `ClearlyWorse`."""
    wanted = metrics[metrics["key"] == key]
    return [dict(zip(curve["step"], curve["value"])) for _, curve in wanted.groupby("run_id")]


class ClearlyWorse(optuna.pruners.BasePruner):
    """The pruner of one (phase, model) study; `incumbent_points` are the grid points (or
    INCUMBENT) whose entries are the incumbent's runs; `num_steps`: the incumbent's steps (a
    trial's own are its STEPS user attribute)."""

    def __init__(
        self,
        incumbent_points: set[int],
        repeats: int,
        num_steps: int,
        higher_is_better: bool,
        earlier: list[dict[int, float]] | None = None,
    ):
        self.incumbent_points = incumbent_points
        self.repeats = repeats
        self.num_steps = num_steps
        self.higher_is_better = higher_is_better
        self.earlier = earlier or []  # the incumbent's reused runs: {step: value} each

    def _is_incumbent(self, trial: FrozenTrial) -> bool:
        return trial.user_attrs.get(ENTRY, {}).get("point") in self.incumbent_points

    def gap(self, study: optuna.Study, trial: FrozenTrial) -> tuple[float, float] | None:
        """(how far the trial trails the incumbent's mean at its last evaluation, the threshold),
        or None where the rule does not apply (an incumbent or extra seed, another number of steps
        than the incumbent's, too early, too few incumbent runs)."""
        entry, step = trial.user_attrs.get(ENTRY, {}), trial.last_step
        if self._is_incumbent(trial) or entry.get("seed", 0) >= self.repeats or step is None:
            return None
        if trial.user_attrs.get(STEPS) != self.num_steps:
            return None
        if step < MIN_FRACTION * self.num_steps:
            return None
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        values = [
            t.intermediate_values[step] for t in finished if self._is_incumbent(t) and step in t.intermediate_values
        ]
        values += [curve[step] for curve in self.earlier if step in curve]
        if len(values) < 2:
            return None
        mean = statistics.fmean(values)
        value = trial.intermediate_values[step]
        trailing = mean - value if self.higher_is_better else value - mean
        return trailing, max(MARGIN, SPREADS * statistics.stdev(values))

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        found = self.gap(study, trial)
        return found is not None and found[0] > found[1]
