"""The seed-to-seed noise of a decision metric: σ pooled over the configurations that have two or
more finished runs, with its degrees of freedom. Every test of a phase is run against it.

A σ pooled from a handful of runs can come out far below the true one by chance (on 4 degrees of
freedom, below half of it one time in 30), and every p-value tested against it is then too small.
So the σ a decision uses (`decision_noise`) pools this sweep's replicated configurations with the
runs of earlier sweeps of the same model, profile and data in the tracking store (the prior), and
where that still rests on fewer than MIN_DOF degrees of freedom it is replaced by its 80 % upper
confidence bound. Every verdict says where its σ came from and on how many degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd
from scipy import stats

from burgerfries.keys import CONFIG_KEY

MIN_DOF = 10  # below this, σ is raised to its upper confidence bound
UPPER_BOUND = 0.8  # the one-sided confidence level of that bound
THIS_SWEEP = "this sweep"
EARLIER_RUNS = "earlier sweeps' runs of this model, profile and data"


@dataclass(frozen=True)
class Noise:
    """The seed-to-seed standard deviation of one metric, pooled over configurations."""

    sigma: float
    dof: int  # Σ (runs − 1) over the configurations it pools
    configurations: int
    source: str = THIS_SWEEP  # whose runs it pools
    raised_from: float | None = None  # the pooled σ, where the MIN_DOF floor raised it

    def describe(self, digits: int = 3) -> str:
        text = (
            f"σ {self.sigma:.{digits}f} ({self.dof} degrees of freedom, {self.configurations} configurations; "
            f"from {self.source}"
        )
        if self.raised_from is not None:
            text += (
                f"; raised from {self.raised_from:.{digits}f}, its {UPPER_BOUND:.0%} upper bound under {MIN_DOF} dof"
            )
        return text + ")"


def combine(first: Noise | None, second: Noise | None) -> Noise | None:
    """One σ from two pools of configurations: their sums of squares and degrees of freedom added."""
    if first is None or second is None:
        return first or second
    dof = first.dof + second.dof
    squares = first.sigma**2 * first.dof + second.sigma**2 * second.dof
    configurations = first.configurations + second.configurations
    return Noise(math.sqrt(squares / dof), dof, configurations, f"{first.source} and {second.source}")


def floored(noise: Noise | None, min_dof: int = MIN_DOF) -> Noise | None:
    """`noise` itself on `min_dof` or more degrees of freedom; below, its σ replaced by the upper
    UPPER_BOUND confidence bound of σ (χ² on its dof), so a lucky small spread cannot make a
    difference look significant. The t tests keep its own degrees of freedom."""
    if noise is None or noise.dof >= min_dof:
        return noise
    bound = noise.sigma * math.sqrt(noise.dof / stats.chi2.ppf(1 - UPPER_BOUND, noise.dof))
    return replace(noise, sigma=bound, raised_from=noise.sigma)


def decision_noise(runs: pd.DataFrame, column: str, prior: pd.DataFrame | None = None) -> Noise | None:
    """The σ a phase's tests use: `runs` (this model's runs of the sweep so far) pooled with
    `prior` (earlier sweeps' runs of the same model, profile and data), floored."""
    own = pooled_noise(runs, column)
    earlier = pooled_noise(prior, column) if prior is not None and len(prior) else None
    return floored(combine(own, replace(earlier, source=EARLIER_RUNS) if earlier else None))


def pooled_noise(runs: pd.DataFrame, column: str) -> Noise | None:
    """σ of `column` pooled over the configurations (`config_key`) with two or more finished
    runs; a run that counts in several phases counts once. None when no configuration has two."""
    if column not in runs:
        return None
    unique = runs[~runs.index.duplicated(keep="first")]
    squares, dof, configurations = 0.0, 0, 0
    for _, members in unique.groupby(CONFIG_KEY, sort=False):
        values = members[column].astype(float).dropna()
        if len(values) >= 2:
            squares += float(((values - values.mean()) ** 2).sum())
            dof += len(values) - 1
            configurations += 1
    if dof == 0:
        return None
    return Noise(math.sqrt(squares / dof), dof, configurations)
