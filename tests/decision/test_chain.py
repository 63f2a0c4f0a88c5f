"""`decision/chain.py` on hand-made summaries: each phase of a model starts from what the previous
one carried on, a reference race never moves the chain, configurations are aggregated over their
runs with Student-t intervals, and the final is compared with the base on σ from every run."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from burgerfries.decision.chain import (
    best_group,
    chain,
    confidence_half_width,
    decide_chains,
    final_against_base,
    final_choices,
    finished_runs,
    model_prior,
    model_runs,
    per_configuration,
    phase_order,
)
from burgerfries.decision.phase import decide_phase
from burgerfries.decision.settings import BETTER, KEPT, SWITCHED, DecisionSettings

SSD, FPN = "ssd_mobilenet_v2_320x320", "ssd_mobilenet_v2_fpnlite_320x320"
COLUMN = DecisionSettings().metric.column  # last_mAP_50
# Seed offsets with mean 0 and a spread σ ≈ 0.0045: three runs a side tell 0.10 apart at once
OFFSETS = (-0.005, 0.0, 0.005)


def summaries(rows: list[tuple]) -> pd.DataFrame:
    """rows: (model, phase, config key, values per seed, is_base, order[, reference])."""
    records, index = [], []
    for start, row in enumerate(rows):
        model, phase, key, values, is_base, order, *reference = row
        for seed, value in enumerate(values):
            index.append(f"{model[:3]}-{phase}-{key}-{seed}")
            records.append(
                {
                    "model": model,
                    "phase": phase,
                    "config_key": key,
                    "varied": key,
                    "seed": seed,
                    "status": "FINISHED",
                    "is_base": is_base,
                    "order": order,
                    "start_time": start,
                    "reused_from": "",
                    "reference": reference[0] if reference else "",
                    COLUMN: value,
                }
            )
    return pd.DataFrame(records, index=index)


def around(mean: float) -> list[float]:
    return [mean + offset for offset in OFFSETS]


def test_each_phase_starts_from_what_the_previous_one_carried_on():
    frame = summaries(
        [
            (SSD, "weights", "base", around(0.50), True, -1),
            (SSD, "weights", "w2", around(0.60), False, 0),  # clearly better: switched to
            (SSD, "batch", "w2", around(0.60), False, -1),  # the new incumbent, as the sweep reuses it
            (SSD, "batch", "b5", around(0.40), False, 0),
        ]
    )
    decisions = decide_chains(frame, DecisionSettings())
    assert decisions[("weights", SSD)].outcome == SWITCHED and decisions[("weights", SSD)].winner == "w2"
    assert decisions[("batch", SSD)].incumbent == "w2"  # not the base: the chain moved
    assert decisions[("batch", SSD)].outcome == KEPT
    assert final_choices(decisions, DecisionSettings())[SSD][:2] == ("batch", "w2")


def test_the_first_incumbent_is_the_base_even_when_it_is_not_first_in_yaml_order():
    frame = summaries([(SSD, "weights", "w1", around(0.5), False, 0), (SSD, "weights", "base", around(0.5), True, 1)])
    assert decide_chains(frame, DecisionSettings())[("weights", SSD)].incumbent == "base"
    without_base = frame.assign(is_base=False)  # no base marked: the first in YAML order
    assert decide_chains(without_base, DecisionSettings())[("weights", SSD)].incumbent == "w1"


def test_a_reference_race_does_not_move_the_chain_and_is_left_out_of_it():
    frame = summaries(
        [
            (SSD, "weights", "base", around(0.50), True, -1),
            (SSD, "lr", "ref", around(0.40), False, -1, "ref"),
            (SSD, "lr", "fast", around(0.60), False, 0, "ref"),
        ]
    )
    decisions = decide_chains(frame, DecisionSettings())
    race = decisions[("lr", SSD)]
    assert race.race and race.incumbent == "ref"
    assert [phase for phase, _ in chain(decisions, SSD)] == ["weights"]
    assert final_choices(decisions, DecisionSettings())[SSD][:2] == ("weights", "base")


def test_models_chain_apart():
    frame = summaries(
        [
            (SSD, "weights", "base", around(0.50), True, -1),
            (SSD, "weights", "w2", around(0.60), False, 0),
            (FPN, "weights", "base", around(0.70), True, -1),
            (FPN, "weights", "w2", around(0.60), False, 0),
        ]
    )
    finals = final_choices(decide_chains(frame, DecisionSettings()), DecisionSettings())
    assert finals[SSD][1] == "w2" and finals[FPN][1] == "base"


def test_unfinished_runs_take_no_part():
    frame = summaries([(SSD, "weights", "base", around(0.50), True, -1), (SSD, "weights", "w2", [0.9] * 3, False, 0)])
    frame.loc[frame["config_key"] == "w2", "status"] = "KILLED"
    assert len(finished_runs(frame)) == 3
    decision = decide_chains(frame, DecisionSettings())[("weights", SSD)]
    assert decision.outcome == KEPT and "w2" not in decision.comparisons


def test_the_confidence_half_width_is_students_t_on_n_minus_one_degrees_of_freedom():
    values = pd.Series([0.70, 0.74, 0.79, 0.71])
    expected = stats.t.ppf(0.975, 3) * np.std(values, ddof=1) / 2
    assert confidence_half_width(values) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(confidence_half_width(pd.Series([0.7])))
    assert math.isnan(confidence_half_width(pd.Series([0.7, float("nan")])))  # one value left


def test_phases_are_ordered_by_their_first_own_run_whatever_their_names():
    frame = summaries(
        [
            (SSD, "zeta", "base", [0.5], True, -1),
            (SSD, "alpha", "a", [0.5], False, 0),
            (SSD, "mid", "m", [0.5], False, 0),
        ]
    )
    assert phase_order(frame) == ["zeta", "alpha", "mid"]
    reused = frame.copy()
    reused.loc[reused["phase"] == "zeta", "reused_from"] = "earlier"  # a reused run started before its phase
    assert phase_order(reused) == ["alpha", "mid", "zeta"]
    assert phase_order(frame.iloc[::-1].drop(columns="start_time")) == ["mid", "alpha", "zeta"]  # as they come


def test_per_configuration_means_counts_and_picks_the_best_run_with_ties_to_the_lower_seed():
    frame = summaries([(SSD, "weights", "base", [0.5, 0.7, 0.7], True, -1), (SSD, "weights", "w", [0.4], False, 0)])
    table = per_configuration(frame, COLUMN, higher_is_better=True)
    base = table.loc["base"]
    assert base[COLUMN] == pytest.approx(0.6333333333333333) and base["runs"] == 3
    assert base["run_id"] == "ssd-weights-base-1"  # 0.7 twice: seed 1 before seed 2
    assert base[f"{COLUMN}_ci"] == pytest.approx(confidence_half_width(pd.Series([0.5, 0.7, 0.7])))
    lower = per_configuration(frame, COLUMN, higher_is_better=False)
    assert lower.loc["base", "run_id"] == "ssd-weights-base-0"


def test_the_final_against_the_base_pools_sigma_over_every_run_of_the_model():
    frame = summaries(
        [
            (SSD, "weights", "base", around(0.50), True, -1),
            (SSD, "weights", "w2", around(0.60), False, 0),
            (SSD, "batch", "b", [0.55, 0.65], False, 0),  # a third configuration: more spread, counted in σ
        ]
    )
    own = model_runs(frame, SSD)
    result = final_against_base(own, "base", "w2", DecisionSettings())
    squares = 2 * np.var(around(0), ddof=1) * 2 + np.var([0.55, 0.65], ddof=1)  # Σ (n − 1) s² over all three
    pooled = math.sqrt(squares / 5)
    raised = pooled * math.sqrt(5 / stats.chi2.ppf(0.2, 5))  # its 80 % upper bound: fewer than 10 dof
    half = stats.t.ppf(0.975, 5) * raised * math.sqrt(2 / 3)
    assert result.delta == pytest.approx(0.10)
    assert (result.low, result.high) == pytest.approx((0.10 - half, 0.10 + half), rel=1e-9)
    assert result.p_better == pytest.approx(stats.t.sf(0.10 / (raised * math.sqrt(2 / 3)), 5), rel=1e-9)
    assert result.verdict == BETTER and result.runs == (3, 3)


def test_a_run_reused_by_a_later_phase_counts_once_for_its_model():
    frame = summaries([(SSD, "weights", "base", [0.5, 0.6], True, -1)])
    again = frame.assign(phase="batch")
    both = pd.concat([frame, again])
    assert len(model_runs(both, SSD)) == 2


def test_model_prior_keeps_one_models_finished_runs():
    prior = summaries([(SSD, "old", "base", [0.5, 0.6], True, -1), (FPN, "old", "base", [0.7], True, -1)])
    prior.iloc[1, prior.columns.get_loc("status")] = "FAILED"
    assert list(model_prior(prior, SSD).index) == ["ssd-old-base-0"]
    assert model_prior(prior, "other") is None
    assert model_prior(None, SSD) is None and model_prior(pd.DataFrame(), SSD) is None


def test_the_final_against_the_base_pools_earlier_runs_too():
    frame = summaries(
        [(SSD, "weights", "base", around(0.50), True, -1), (SSD, "weights", "w2", around(0.52), False, 0)]
    )
    prior = summaries([(SSD, "old", "x", [0.40, 0.60, 0.50, 0.45, 0.55], True, -1)])
    own = model_runs(frame, SSD)
    alone = final_against_base(own, "base", "w2", DecisionSettings())
    pooled = final_against_base(own, "base", "w2", DecisionSettings(), prior)
    assert pooled.p_better != alone.p_better and (pooled.high - pooled.low) > (alone.high - alone.low)


def test_on_the_test_photos_the_final_is_compared_with_the_base_as_on_the_decision_metric():
    from burgerfries.decision.chain import TEST_METRIC, on_test_photos

    frame = summaries(
        [(SSD, "weights", "base", around(0.50), True, -1), (SSD, "weights", "w2", around(0.60), False, 0)]
    )
    # the test photos read 0.05 lower than the validation photos for the base, 0.01 for the final
    frame[TEST_METRIC.column] = frame[COLUMN] - np.where(frame["config_key"] == "base", 0.05, 0.01)
    own = model_runs(frame, SSD)
    tested = on_test_photos(own, "base", "w2", DecisionSettings(), None)
    assert (tested.base, tested.final) == pytest.approx((0.45, 0.59))
    pooled = math.sqrt(np.var(around(0), ddof=1))  # both sides spread alike: the pooled σ, 4 dof
    raised = pooled * math.sqrt(4 / stats.chi2.ppf(0.2, 4))  # the decisions' 80 % bound
    assert tested.comparison.delta == pytest.approx(0.14) and tested.dof == 4
    assert tested.comparison.p_better == pytest.approx(stats.t.sf(0.14 / (raised * math.sqrt(2 / 3)), 4), rel=1e-9)
    same = on_test_photos(own, "w2", "w2", DecisionSettings(), None)
    assert (same.base, same.final, same.comparison, same.dof) == (pytest.approx(0.59), pytest.approx(0.59), None, None)
    # earlier runs of the model pool into the σ, as they do for the decisions
    prior = summaries([(SSD, "old", "x", [0.40, 0.60, 0.50, 0.45, 0.55], True, -1)])
    prior[TEST_METRIC.column] = prior[COLUMN]
    with_prior = on_test_photos(own, "base", "w2", DecisionSettings(), prior)
    assert with_prior.dof == 8 and with_prior.comparison.p_better != tested.comparison.p_better
    # one run a side and no earlier runs: a difference, but no σ to judge it by
    single = on_test_photos(own[own["seed"] == 0], "base", "w2", DecisionSettings(), None)
    assert single.dof is None and math.isnan(single.comparison.p_better)
    # runs that measured no test photos (older stores): nothing to compare
    assert on_test_photos(own.drop(columns=TEST_METRIC.column), "base", "w2", DecisionSettings(), None) is None
    unmeasured = own.assign(**{TEST_METRIC.column: np.where(own["config_key"] == "w2", np.nan, 0.5)})
    assert on_test_photos(unmeasured, "base", "w2", DecisionSettings(), None) is None


def test_the_best_run_of_a_configuration_ties_to_the_lower_seed_whatever_the_order_of_the_rows():
    frame = summaries([(SSD, "weights", "base", [0.5, 0.7, 0.7], True, -1)]).iloc[::-1]  # seed 2's row first
    assert per_configuration(frame, COLUMN, higher_is_better=True).loc["base", "run_id"] == "ssd-weights-base-1"
    # a seed that is not a number ties after every seed that is; runs without seeds tie in row order
    odd = frame.assign(seed=["2", "n/a", "0"])  # rows: seed 2, the former seed 1, seed 0
    assert per_configuration(odd, COLUMN, higher_is_better=True).loc["base", "run_id"] == "ssd-weights-base-2"
    unseeded = frame.drop(columns="seed")
    assert per_configuration(unseeded, COLUMN, higher_is_better=True).loc["base", "run_id"] == "ssd-weights-base-2"


def test_the_configurations_not_shown_worse_than_the_leader_are_each_compared_on_their_own_runs():
    frame = summaries(
        [
            (SSD, "weights", "base", around(0.80), True, -1),
            (SSD, "weights", "close", around(0.795), False, 0),  # within noise of the leader
            (SSD, "weights", "far", around(0.50), False, 1),  # clearly worse
        ]
    )
    settings = DecisionSettings()
    decision = decide_phase(frame, "base", frame, settings)
    group = best_group(frame, per_configuration(frame, COLUMN, True), decision, settings.metric)
    assert group == {"base", "close"}


def test_a_chain_names_configurations_by_their_labels_and_a_race_reads_earlier_sweeps_runs_too():
    frame = summaries(
        [
            (SSD, "weights", "base", around(0.50), True, -1),
            (SSD, "weights", "w", around(0.70), False, 0),
            (SSD, "lr", "ref", around(0.40), False, -1, "ref"),
            (SSD, "lr", "fast", around(0.60), False, 0, "ref"),
        ]
    )
    frame["varied"] = "knob " + frame["config_key"]
    prior = summaries([(SSD, "old", "x", [0.40, 0.60, 0.50, 0.45, 0.55], True, -1)])
    decisions = decide_chains(frame, DecisionSettings(), prior)
    assert decisions[("weights", SSD)].sentence.startswith("switched to knob w: ")
    assert "over knob base" in decisions[("weights", SSD)].sentence
    race = decisions[("lr", SSD)]
    assert race.sentence.startswith("carried knob fast to the incumbent: ahead of the reference knob ref")
    assert race.noise.dof == 4 + 4 + 4 and "earlier sweeps" in race.noise.source  # both phases, then earlier


def test_a_model_without_runs_in_a_phase_goes_on_to_its_later_phases():
    # FPNLite did not race in lr (e.g. its race carried nothing, so it has no lr-carried runs)
    frame = summaries(
        [
            (SSD, "weights", "base", around(0.50), True, -1),
            (FPN, "weights", "base", around(0.70), True, -1),
            (SSD, "lr", "base", around(0.50), False, -1),
            (SSD, "lr", "fast", around(0.40), False, 0),
            (SSD, "batch", "base", around(0.50), False, -1),
            (FPN, "batch", "base", around(0.70), False, -1),
            (FPN, "batch", "b5", around(0.80), False, 0),
        ]
    )
    decisions = decide_chains(frame, DecisionSettings())
    assert ("lr", FPN) not in decisions and decisions[("batch", FPN)].winner == "b5"
    assert [phase for phase, _ in chain(decisions, FPN)] == ["weights", "batch"]


def test_a_phase_pools_sigma_over_the_phases_decided_so_far_not_later_ones():
    frame = summaries(
        [
            (SSD, "weights", "base", around(0.50), True, -1),
            (SSD, "weights", "w2", [0.52], False, 0),
            (SSD, "batch", "base", around(0.50), False, -1),
            (SSD, "batch", "b5", [0.30, 0.70, 0.50], False, 0),  # noisy: it would widen an earlier σ
        ]
    )
    decisions = decide_chains(frame, DecisionSettings())
    weights_only = frame[frame["phase"] == "weights"]
    alone = decide_phase(weights_only, "base", weights_only, DecisionSettings(), {})
    assert decisions[("weights", SSD)].noise == alone.noise  # the batch phase's runs are not in it
    assert decisions[("batch", SSD)].noise.dof > alone.noise.dof  # the batch phase pools both


def test_a_race_with_one_finished_run_so_far_is_still_decided_against_its_reference():
    frame = summaries([(SSD, "weights", "base", around(0.50), True, -1), (SSD, "lr", "ref", [0.40], False, -1, "ref")])
    race = decide_chains(frame, DecisionSettings())[("lr", SSD)]
    assert race.race and race.incumbent == "ref" and race.outcome == KEPT


def test_the_next_phase_starts_from_the_choice_even_when_it_is_not_first_in_yaml_order():
    frame = summaries(
        [
            (SSD, "weights", "base", around(0.50), True, -1),
            (SSD, "weights", "w2", around(0.60), False, 0),  # switched to
            (SSD, "batch", "b5", around(0.40), False, 0),
            (SSD, "batch", "w2", around(0.60), False, 1),  # the grid's second point is the incumbent
        ]
    )
    assert decide_chains(frame, DecisionSettings())[("batch", SSD)].incumbent == "w2"
