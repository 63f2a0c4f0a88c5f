"""The figures a decision states about its own power, and when a close call earns another look —
pinned at their boundaries (the cap of seeds, the smallest run count, a tie with the threshold)."""

import math

import pytest
from scipy import stats

from burgerfries.decision.noise import Noise
from burgerfries.decision.phase import FUTILITY, Comparison, next_look
from burgerfries.decision.power import (
    MAX_SEEDS,
    describe_needed,
    detectable_effect,
    repeat_chance,
    seeds_needed,
)
from burgerfries.decision.settings import BETTER, INCONCLUSIVE, DecisionSettings

NOISE = Noise(0.011, 20, 7)
ALPHA = 0.025


def test_seeds_needed_at_its_boundaries():
    assert seeds_needed(NOISE, 1.0, ALPHA) == 2  # however large the effect: two seeds a side at least
    exact = detectable_effect(NOISE, (6, 6), ALPHA)
    assert seeds_needed(NOISE, exact, ALPHA) == 6  # detected with exactly 80 % power at 6: 6
    at_cap = detectable_effect(NOISE, (MAX_SEEDS, MAX_SEEDS), ALPHA)
    assert seeds_needed(NOISE, at_cap, ALPHA) == MAX_SEEDS
    assert seeds_needed(NOISE, at_cap * 0.999, ALPHA) is None  # past the cap: "more than"
    assert seeds_needed(NOISE, 0.02, ALPHA, power=0.95) > seeds_needed(NOISE, 0.02, ALPHA)
    assert seeds_needed(NOISE, -0.01, ALPHA) is None


def test_a_rerun_of_one_run_against_three_has_its_closed_form_chance():
    se = NOISE.sigma * math.sqrt(1 / 1 + 1 / 3)
    expected = stats.t.sf(stats.t.ppf(1 - ALPHA, NOISE.dof) - 0.02 / se, NOISE.dof)
    assert repeat_chance(NOISE, 0.02, (1, 3), ALPHA) == pytest.approx(expected, rel=1e-12)


def test_the_seeds_sentence_says_how_many_or_more_than_the_cap():
    assert describe_needed(NOISE, 0.02, ALPHA, 3) == "telling +0.020 from noise would need about 6 seeds per side"
    assert describe_needed(NOISE, 0.0001, ALPHA, 4) == (
        f"telling +0.0001 from noise would need more than {MAX_SEEDS} seeds per side"
    )


def leader(runs: tuple[int, int], verdict: str = INCONCLUSIVE) -> Comparison:
    return Comparison("last_mAP_50", 0.01, -0.01, 0.03, 0.1, 0.1, runs, verdict, True)


def futility_line(runs: int, settings: DecisionSettings) -> float:
    """The smallest lead that earns a look: FUTILITY × what the last look's runs detect, σ's dof
    grown by the runs still to come (2 a look per side)."""
    cap = settings.looks * settings.look_seeds
    last = Noise(NOISE.sigma, NOISE.dof + 2 * (cap - runs), NOISE.configurations)
    return FUTILITY * detectable_effect(last, (cap, cap), ALPHA)


def test_the_next_look_at_a_close_call_and_when_there_is_none():
    settings = DecisionSettings()  # 3 looks of 3 seeds: at most 9 runs a side
    line = futility_line(3, settings)
    assert next_look(leader((2, 3)), line, NOISE, ALPHA, settings) == 6  # two runs are a confirmed leader
    assert next_look(leader((1, 3)), line, NOISE, ALPHA, settings) == 0  # one run: confirm it first
    assert next_look(leader((3, 3), BETTER), line, NOISE, ALPHA, settings) == 0  # decided: no look
    assert next_look(leader((9, 9)), 1.0, NOISE, ALPHA, settings) == 0  # the looks are spent
    assert next_look(leader((4, 4)), futility_line(4, settings), NOISE, ALPHA, settings) == 6  # to the next multiple
    # exactly at the futility line: a look; just under it: none
    assert next_look(leader((3, 3)), line, NOISE, ALPHA, settings) == 6
    assert next_look(leader((3, 3)), line * (1 - 1e-9), NOISE, ALPHA, settings) == 0
    # the line uses the degrees of freedom the last look would have (here 20 + 2·6), not more
    fewer = Noise(NOISE.sigma, NOISE.dof + 3 * 6, NOISE.configurations)
    looser = FUTILITY * detectable_effect(fewer, (9, 9), ALPHA)
    assert looser < line and next_look(leader((3, 3)), (looser + line) / 2, NOISE, ALPHA, settings) == 0
