"""The σ a decision tests with cannot collapse: a small pool is floored, earlier runs join it,
and every verdict says where σ came from and what the runs could have seen."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from burgerfries.decision.noise import MIN_DOF, Noise, combine, decision_noise, floored, pooled_noise
from burgerfries.decision.power import describe_power, detectable_effect, repeat_chance, seeds_needed


def runs_of(configs: dict[str, list[float]], column: str = "last_mAP_50") -> pd.DataFrame:
    rows = [{"config_key": key, column: value} for key, values in configs.items() for value in values]
    frame = pd.DataFrame(rows)
    frame.index = [f"run{index}" for index in range(len(frame))]
    return frame


def test_a_sigma_on_few_degrees_of_freedom_is_raised_to_its_upper_bound():
    small = Noise(0.0044, 4, 2)
    raised = floored(small)
    # the one-sided 80 % upper confidence bound of σ from χ² on 4 dof: σ √(4 / χ²₀.₂(4)) = 2.01 σ
    assert raised.sigma == pytest.approx(0.0044 * np.sqrt(4 / stats.chi2.ppf(0.2, 4)), rel=1e-12)
    assert raised.dof == 4 and raised.raised_from == small.sigma
    assert floored(Noise(0.011, MIN_DOF, 5)) == Noise(0.011, MIN_DOF, 5)  # enough dof: as it is
    assert "raised from 0.004" in raised.describe()


def test_earlier_runs_of_the_same_model_join_the_pool():
    sweep = runs_of({"a": [0.800, 0.801, 0.799], "b": [0.82, 0.821, 0.819]})  # a lucky tight pool
    rng = np.random.default_rng(0)
    earlier = runs_of({f"c{k}": list(0.8 + rng.normal(0, 0.011, 4)) for k in range(7)})  # 21 dof
    alone = decision_noise(sweep, "last_mAP_50")
    pooled = decision_noise(sweep, "last_mAP_50", earlier)
    assert pooled.dof == 4 + 21 and pooled.raised_from is None
    squares = sum(
        float(np.sum((np.asarray(values) - np.mean(values)) ** 2))
        for frame in (sweep, earlier)
        for _, values in frame.groupby("config_key")["last_mAP_50"]
    )
    assert pooled.sigma == pytest.approx(np.sqrt(squares / 25), rel=1e-12)  # sums of squares over all dof
    assert pooled_noise(sweep, "last_mAP_50").sigma == pytest.approx(0.001, rel=1e-9)
    assert "earlier sweeps' runs" in pooled.describe() and "this sweep" in pooled.describe()
    assert alone.raised_from is not None  # 4 dof alone: floored
    assert combine(None, None) is None and combine(pooled, None) == pooled


def test_power_figures_agree_with_the_noncentral_t_power_of_the_pooled_test():
    noise = Noise(0.011, 20, 7)
    alpha = 0.025
    critical = stats.t.ppf(1 - alpha, noise.dof)
    # The detectable effect: the exact power of the one-sided pooled t test there (noncentral t)
    # is 80 % (the shifted-t approximation is exact to 1e-4 at this power).
    effect = detectable_effect(noise, (9, 9), alpha)
    se = noise.sigma * np.sqrt(2 / 9)
    assert stats.nct.sf(critical, noise.dof, effect / se) == pytest.approx(0.80, abs=0.001)
    assert effect == pytest.approx((critical + stats.t.ppf(0.8, noise.dof)) * se, rel=1e-12)
    # Seeds per side: the smallest n with that effect at √(2/n), in closed form
    k = critical + stats.t.ppf(0.8, noise.dof)
    for wanted in (0.02, 0.012, 0.006):
        assert seeds_needed(noise, wanted, alpha) == max(2, int(np.ceil(2 * (k * noise.sigma / wanted) ** 2)))
    assert seeds_needed(noise, 0.0001, alpha) is None  # more than the cap
    assert seeds_needed(noise, 0.0, alpha) is None
    # A rerun's chance to switch again: the shifted t's tail, within 0.015 of the exact
    # noncentral-t power (the approximation's error here is at most 0.013, at low power)
    for gain, runs in ((0.02, 6), (0.01, 3), (0.03, 9)):
        se = noise.sigma * np.sqrt(2 / runs)
        chance = repeat_chance(noise, gain, (runs, runs), alpha)
        assert chance == pytest.approx(stats.t.sf(critical - gain / se, noise.dof), rel=1e-12)
        assert chance == pytest.approx(stats.nct.sf(critical, noise.dof, gain / se), abs=0.015)


def test_no_run_on_a_side_detects_nothing_and_repeats_nothing():
    noise = Noise(0.011, 20, 7)
    assert detectable_effect(noise, (0, 3), 0.05) == float("inf")
    assert repeat_chance(noise, 0.05, (3, 0), 0.05) == 0.0
    assert "a side has no finished run" in describe_power(noise, (0, 3), 0.05, 3)
    still = Noise(0.0, 20, 7)  # σ 0: any gain repeats, no gain does not
    assert repeat_chance(still, 0.01, (3, 3), 0.05) == 1.0 and repeat_chance(still, 0.0, (3, 3), 0.05) == 0.0


def test_a_noise_says_its_sigma_its_degrees_of_freedom_its_configurations_and_whose_runs_in_one_clause():
    assert Noise(0.02345, 12, 4).describe() == "σ 0.023 (12 degrees of freedom, 4 configurations; from this sweep)"
    raised = floored(Noise(0.01, 2, 1))
    assert raised.describe(2) == (
        f"σ {raised.sigma:.2f} (2 degrees of freedom, 1 configurations; from this sweep; "
        "raised from 0.01, its 80% upper bound under 10 dof)"
    )


def test_two_pools_combine_their_configurations_and_sources():
    both = combine(Noise(0.02, 4, 2), Noise(0.03, 6, 3, source="earlier"))
    assert (both.dof, both.configurations, both.source) == (10, 5, "this sweep and earlier")
    assert both.sigma == pytest.approx(((0.02**2 * 4 + 0.03**2 * 6) / 10) ** 0.5)


def test_power_without_runs_on_one_side_names_both_counts():
    assert describe_power(Noise(0.02, 10, 3), (0, 3), 0.05, 3) == (
        "0 vs 3 runs detect no effect: a side has no finished run"
    )
