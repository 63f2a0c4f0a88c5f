"""The σ a decision tests with cannot collapse: a small pool is floored, earlier runs join it,
and every verdict says where σ came from and what the runs could have seen."""

import numpy as np
import pandas as pd
import pytest

from burgerfries.decision.noise import MIN_DOF, Noise, combine, decision_noise, floored, pooled_noise
from burgerfries.decision.power import detectable_effect, repeat_chance, seeds_needed


def runs_of(configs: dict[str, list[float]], column: str = "last_mAP_50") -> pd.DataFrame:
    rows = [{"config_key": key, column: value} for key, values in configs.items() for value in values]
    frame = pd.DataFrame(rows)
    frame.index = [f"run{index}" for index in range(len(frame))]
    return frame


def test_a_sigma_on_few_degrees_of_freedom_is_raised_to_its_upper_bound():
    small = Noise(0.0044, 4, 2)
    raised = floored(small)
    assert raised.sigma > 1.5 * small.sigma and raised.dof == 4 and raised.raised_from == small.sigma
    assert floored(Noise(0.011, MIN_DOF, 5)) == Noise(0.011, MIN_DOF, 5)  # enough dof: as it is
    assert "raised from 0.004" in raised.describe()


def test_earlier_runs_of_the_same_model_join_the_pool():
    sweep = runs_of({"a": [0.800, 0.801, 0.799], "b": [0.82, 0.821, 0.819]})  # a lucky tight pool
    rng = np.random.default_rng(0)
    earlier = runs_of({f"c{k}": list(0.8 + rng.normal(0, 0.011, 4)) for k in range(7)})  # 21 dof
    alone = decision_noise(sweep, "last_mAP_50")
    pooled = decision_noise(sweep, "last_mAP_50", earlier)
    assert pooled.dof == 4 + 21 and pooled.raised_from is None
    assert pooled.sigma > 5 * pooled_noise(sweep, "last_mAP_50").sigma
    assert "earlier sweeps' runs" in pooled.describe() and "this sweep" in pooled.describe()
    assert alone.raised_from is not None  # 4 dof alone: floored
    assert combine(None, None) is None and combine(pooled, None) == pooled


def test_power_figures_agree_with_a_simulated_t_test():
    noise = Noise(0.011, 20, 7)
    alpha = 0.025
    effect = detectable_effect(noise, (9, 9), alpha)
    assert 0.013 < effect < 0.017
    assert seeds_needed(noise, 0.02, alpha) <= 9 < seeds_needed(noise, 0.012, alpha)
    assert seeds_needed(noise, 0.0001, alpha) is None  # more than the cap
    # the chance a rerun repeats a switch, against a simulation of the pooled t test it approximates
    from scipy import stats

    rng = np.random.default_rng(1)
    se = noise.sigma * np.sqrt(2 / 6)
    deltas = rng.normal(0.02, se, 20000)
    sigmas = noise.sigma * np.sqrt(rng.chisquare(noise.dof, 20000) / noise.dof)
    simulated = np.mean(deltas / (sigmas * np.sqrt(2 / 6)) > stats.t.ppf(1 - alpha, noise.dof))
    assert repeat_chance(noise, 0.02, (6, 6), alpha) == pytest.approx(simulated, abs=0.03)
