"""What a phase's test could see, said out loud: the smallest effect its runs detect with 80 %
power, the seeds per side a given effect would need, and the chance that a rerun with as many
seeds would reach the same switch. The same one-sided t test as `phase.compare` (σ and its
degrees of freedom from `noise.decision_noise`), with the shifted-t approximation of its power.
"""

from __future__ import annotations

import math

from scipy import stats

from burgerfries.decision.noise import Noise

POWER = 0.8
MAX_SEEDS = 99  # beyond this many seeds per side the answer is "more than" it


def detectable_effect(noise: Noise, runs: tuple[int, int], alpha: float, power: float = POWER) -> float:
    """The smallest true difference that a one-sided test at level `alpha` finds with probability
    `power`, given `runs` (challenger, incumbent) and σ on its degrees of freedom; infinite when a
    side has no run (a configuration a stored sweep names but never finished)."""
    challenger, incumbent = runs
    if min(challenger, incumbent) < 1:
        return math.inf
    se = noise.sigma * math.sqrt(1 / challenger + 1 / incumbent)
    return float((stats.t.ppf(1 - alpha, noise.dof) + stats.t.ppf(power, noise.dof)) * se)


def seeds_needed(noise: Noise, effect: float, alpha: float, power: float = POWER) -> int | None:
    """Seeds per side at which `effect` is detected with `power`; None when more than MAX_SEEDS."""
    if effect <= 0:
        return None
    for seeds in range(2, MAX_SEEDS + 1):
        if detectable_effect(noise, (seeds, seeds), alpha, power) <= effect:
            return seeds
    return None


def repeat_chance(noise: Noise, effect: float, runs: tuple[int, int], alpha: float) -> float:
    """If the true difference were `effect`, the probability that a rerun with `runs` per side
    would again be found better at level `alpha` (its power there); 0 when a side has no run."""
    challenger, incumbent = runs
    if min(challenger, incumbent) < 1:
        return 0.0
    se = noise.sigma * math.sqrt(1 / challenger + 1 / incumbent)
    if se <= 0:
        return 1.0 if effect > 0 else 0.0
    return float(stats.t.sf(stats.t.ppf(1 - alpha, noise.dof) - effect / se, noise.dof))


def describe_power(noise: Noise, runs: tuple[int, int], alpha: float, digits: int) -> str:
    """The smallest effect these runs detect, in words."""
    effect = detectable_effect(noise, runs, alpha)
    if math.isinf(effect):
        return f"{runs[0]} vs {runs[1]} runs detect no effect: a side has no finished run"
    return f"the smallest effect {runs[0]} vs {runs[1]} runs detect with {POWER:.0%} power is {effect:.{digits}f}"


def describe_needed(noise: Noise, effect: float, alpha: float, digits: int) -> str:
    """How many seeds per side would tell `effect` from noise, in words."""
    seeds = seeds_needed(noise, effect, alpha)
    amount = f"about {seeds}" if seeds is not None else f"more than {MAX_SEEDS}"
    return f"telling {effect:+.{digits}f} from noise would need {amount} seeds per side"
