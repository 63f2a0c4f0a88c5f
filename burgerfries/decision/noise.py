"""The seed-to-seed noise of a decision metric: σ pooled over the configurations that have two or
more finished runs, with its degrees of freedom. Every test of a phase is run against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from burgerfries.keys import CONFIG_KEY


@dataclass(frozen=True)
class Noise:
    """The seed-to-seed standard deviation of one metric, pooled over configurations."""

    sigma: float
    dof: int  # Σ (runs − 1) over the configurations it pools
    configurations: int

    def describe(self, digits: int = 3) -> str:
        return f"σ {self.sigma:.{digits}f} ({self.dof} degrees of freedom, {self.configurations} configurations)"


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
