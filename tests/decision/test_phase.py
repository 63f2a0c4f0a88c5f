"""A phase keeps its incumbent unless a confirmed challenger is shown better on the one decision
metric; ties keep what was there; the answer does not depend on the order of the runs."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from burgerfries.decision.noise import Noise, pooled_noise
from burgerfries.decision.phase import chosen, compare, decide_phase
from burgerfries.decision.power import describe_power
from burgerfries.decision.settings import KEPT, OBJECTIVES, STUDY_RULE, SWITCHED, DecisionSettings

INCUMBENT = "1:1"
READ_POINT = DecisionSettings(read_at="read_point")  # the frames hold the values at the read point


def phase_runs(configs: dict[str, dict[str, list[float]]], order: list[str] | None = None) -> pd.DataFrame:
    """One row per run: {config key: {column: values per seed}}; `order` is the YAML order."""
    order = order or list(configs)
    rows = []
    for key, columns in configs.items():
        seeds = len(next(iter(columns.values())))
        for seed in range(seeds):
            row = {"config_key": key, "varied": key, "order": order.index(key), "seed": seed}
            row.update({column: values[seed] for column, values in columns.items()})
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame.index = [f"{row['config_key']}#{row['seed']}" for _, row in frame.iterrows()]
    return frame


def test_a_single_lucky_run_with_fewer_wrong_detections_does_not_replace_a_better_incumbent():
    # The main job's FPNLite weights phase: the base (3 seeds) against 0.5:1 (one seed). The study's
    # criteria put 0.5:1 first (fewer wrong detections, lower weighted eval loss); on mAP@0.5 it is
    # clearly worse. Racing keeps the base, and 0.5:1 earns no confirmation.
    runs = phase_runs(
        {
            INCUMBENT: {"mAP_50": [0.833, 0.839, 0.836], "wrong_detection_rate": [0.86, 0.87, 0.86]},
            "1:0.5": {"mAP_50": [0.826], "wrong_detection_rate": [0.70]},
            "0.5:1": {"mAP_50": [0.759], "wrong_detection_rate": [0.47]},
        }
    )
    decision = decide_phase(runs, INCUMBENT, runs, READ_POINT)
    assert (decision.outcome, decision.winner) == (KEPT, INCUMBENT)
    assert decision.to_confirm == []
    assert decision.comparisons["0.5:1"].verdict == "worse"
    assert "kept 1:1: no point beat it beyond noise" in decision.sentence


def test_a_challenger_clearly_better_over_three_seeds_replaces_the_incumbent():
    runs = phase_runs(
        {
            INCUMBENT: {"mAP_50": [0.60, 0.62, 0.58]},
            "1:0.5": {"mAP_50": [0.71, 0.73, 0.70]},
            "0.5:1": {"mAP_50": [0.59]},
        }
    )
    decision = decide_phase(runs, INCUMBENT, runs, READ_POINT)
    assert (decision.outcome, decision.winner) == (SWITCHED, "1:0.5")
    won = decision.comparisons["1:0.5"]
    assert won.verdict == "better" and won.p_better < decision.alpha == pytest.approx(0.05 / 2 / 3)  # 3 looks
    assert won.low > 0 and won.delta == pytest.approx(np.mean([0.71, 0.73, 0.70]) - 0.60)
    assert "switched to 1:0.5" in decision.sentence and "3 vs 3 runs" in decision.sentence


def test_a_challenger_with_one_run_is_confirmed_before_it_can_win():
    runs = phase_runs(
        {INCUMBENT: {"mAP_50": [0.60, 0.62, 0.58]}, "0.032": {"mAP_50": [0.75]}, "0.048": {"mAP_50": [0.70]}}
    )
    decision = decide_phase(runs, INCUMBENT, runs, READ_POINT)
    assert decision.outcome == KEPT  # one run is never enough to switch
    assert decision.to_confirm == ["0.032"]  # the best-looking one (confirm: 1)
    two = decide_phase(runs, INCUMBENT, runs, replace(READ_POINT, confirm=2))
    assert two.to_confirm == ["0.032", "0.048"]


def test_the_same_runs_in_any_order_give_the_same_decision():
    configs = {
        INCUMBENT: {"mAP_50": [0.60, 0.61, 0.59]},
        "10": {"mAP_50": [0.64, 0.66, 0.65]},
        "15": {"mAP_50": [0.64, 0.66, 0.65]},  # tied with 10 on every number: YAML order decides
        "5": {"mAP_50": [0.55]},
    }
    runs = phase_runs(configs, order=[INCUMBENT, "5", "10", "15"])
    expected = decide_phase(runs, INCUMBENT, runs, READ_POINT)
    assert expected.winner == "10"
    generator = np.random.default_rng(0)
    for _ in range(5):
        shuffled = runs.iloc[generator.permutation(len(runs))]
        decision = decide_phase(shuffled, INCUMBENT, shuffled, READ_POINT)
        assert (decision.winner, decision.sentence, decision.to_confirm) == (
            expected.winner,
            expected.sentence,
            expected.to_confirm,
        )
    reversed_yaml = phase_runs(configs, order=[INCUMBENT, "5", "15", "10"])
    assert decide_phase(reversed_yaml, INCUMBENT, reversed_yaml, READ_POINT).winner == "15"


def test_noise_is_pooled_over_every_replicated_configuration_with_its_degrees_of_freedom():
    runs = phase_runs({"a": {"mAP_50": [0.5, 0.7]}, "b": {"mAP_50": [0.2, 0.2, 0.5]}, "c": {"mAP_50": [0.9]}})
    noise = pooled_noise(runs, "mAP_50")
    squares = (0.1**2 * 2) + ((0.1**2) * 2 + 0.2**2)
    assert noise.dof == 3 and noise.configurations == 2 and noise.sigma == pytest.approx(np.sqrt(squares / 3))
    assert pooled_noise(runs.drop(index=["a#1", "b#1", "b#2"]), "mAP_50") is None
    twice = pd.concat([runs, runs.loc[["a#0", "a#1"]]])  # a reused run counts once
    assert pooled_noise(twice, "mAP_50") == noise


def test_losses_are_compared_unweighted_so_weightings_never_share_a_scale():
    # Halving the classification weight halves most of the weighted loss: on it 0.5:1 would look far
    # better, and σ pooled across the weightings would mix two scales. The decision reads the unweighted loss.
    assert OBJECTIVES["eval_loss"].column == "eval_loss_unweighted" and OBJECTIVES["gap"].column == "gap_unweighted"
    runs = phase_runs(
        {
            INCUMBENT: {"eval_loss": [1.00, 1.02, 0.98], "eval_loss_unweighted": [1.00, 1.02, 0.98]},
            "0.5:1": {"eval_loss": [0.60, 0.61, 0.59], "eval_loss_unweighted": [1.01, 1.03, 0.99]},
        }
    )
    decision = decide_phase(runs, INCUMBENT, runs, replace(READ_POINT, objective="eval_loss"))
    assert decision.outcome == KEPT
    assert decision.comparisons["0.5:1"].delta == pytest.approx(0.01)


def test_the_study_rule_decides_by_the_first_criterion_that_is_not_inconclusive():
    runs = phase_runs(
        {
            INCUMBENT: {
                "wrong_detection_rate": [0.80, 0.82, 0.81],
                "eval_loss_unweighted": [1.0, 1.0, 1.0],
                "gap_unweighted": [0.1, 0.1, 0.1],
                "avg_recall": [0.5, 0.5, 0.5],
                "mAP_50": [0.83, 0.84, 0.83],
            },
            "0.5:1": {  # fewer wrong detections beyond noise, but worse on mAP@0.5
                "wrong_detection_rate": [0.40, 0.41, 0.42],
                "eval_loss_unweighted": [1.1, 1.1, 1.1],
                "gap_unweighted": [0.1, 0.1, 0.1],
                "avg_recall": [0.4, 0.4, 0.4],
                "mAP_50": [0.70, 0.72, 0.71],
            },
        }
    )
    settings = replace(READ_POINT, mode=STUDY_RULE)
    decision = decide_phase(runs, INCUMBENT, runs, settings)
    assert decision.winner == INCUMBENT  # racing on mAP@0.5 keeps the base
    assert decision.study_rule_winner == "0.5:1" and chosen(decision, settings) == "0.5:1"
    assert "better on wrong detections per image" in decision.study_rule_sentence


def test_compare_without_a_noise_estimate_never_says_better():
    objective = OBJECTIVES["mAP_50"]
    result = compare(pd.Series([0.9, 0.91]), pd.Series([0.5]), objective, None, 0.05)
    assert result.verdict == "inconclusive" and np.isnan(result.p_better)


def test_by_default_the_objective_is_read_at_the_last_evaluation():
    settings = DecisionSettings()
    assert settings.metric.column == "last_mAP_50" and READ_POINT.metric.column == "mAP_50"
    assert DecisionSettings(objective="eval_loss").metric.column == "last_eval_loss_unweighted"


def test_every_verdict_says_its_sigma_and_what_the_runs_could_see():
    ahead = phase_runs({INCUMBENT: {"mAP_50": [0.800, 0.812, 0.790]}, "1:0.5": {"mAP_50": [0.815, 0.806, 0.826]}})
    kept = decide_phase(ahead, INCUMBENT, ahead, READ_POINT)
    assert kept.outcome == KEPT and "inconclusive: 1:0.5 is ahead by +0.015" in kept.sentence
    assert "seeds per side" in kept.sentence and "degrees of freedom" in kept.sentence
    assert "raised from" in kept.sentence  # 4 dof: under the floor, σ raised to its upper bound
    clear = phase_runs({INCUMBENT: {"mAP_50": [0.60, 0.62, 0.58]}, "1:0.5": {"mAP_50": [0.71, 0.73, 0.70]}})
    switched = decide_phase(clear, INCUMBENT, clear, READ_POINT)
    assert switched.outcome == SWITCHED and "would switch again about" in switched.sentence
    behind = phase_runs({INCUMBENT: {"mAP_50": [0.80, 0.81, 0.79]}, "1:0.5": {"mAP_50": [0.70]}})
    assert (
        "the smallest effect 1 vs 3 runs detect with 80% power is"
        in decide_phase(behind, INCUMBENT, behind, READ_POINT).sentence
    )


def test_a_close_call_gets_more_seeds_on_both_sides_until_the_looks_are_spent():
    close = {INCUMBENT: {"mAP_50": [0.800, 0.812, 0.790]}, "1:0.5": {"mAP_50": [0.815, 0.806, 0.826]}}
    first = decide_phase(phase_runs(close), INCUMBENT, phase_runs(close), READ_POINT)
    assert first.outcome == KEPT and first.extend == ["1:0.5", INCUMBENT] and first.extend_to == 6
    # A lead of 0.008 at σ ≈ 0.007: at 6 runs a side p 0.039 > α/3 (one challenger, three looks),
    # so the second look brings both to 9; at 9, p 0.019 is still above α/3 and the cap (3 looks ×
    # 3 seeds) is what ends the looks: kept, no more seeds.
    offsets = [-0.01, 0.01, 0.0, -0.005, 0.005, 0.0, -0.01, 0.01, 0.0]

    def lead(runs: int) -> pd.DataFrame:
        return phase_runs(
            {
                INCUMBENT: {"mAP_50": [0.8 + o for o in offsets[:runs]]},
                "1:0.5": {"mAP_50": [0.808 + o for o in offsets[:runs]]},
            }
        )

    six = decide_phase(lead(6), INCUMBENT, lead(6), READ_POINT)
    assert six.comparisons["1:0.5"].p_better > six.alpha and (six.extend, six.extend_to) == (["1:0.5", INCUMBENT], 9)
    nine = decide_phase(lead(9), INCUMBENT, lead(9), READ_POINT)
    assert nine.comparisons["1:0.5"].p_better > nine.alpha and nine.outcome == KEPT
    assert (nine.extend, nine.extend_to) == ([], 0)
    more_looks = replace(READ_POINT, looks=4)  # with a fourth look allowed, the same runs earn it
    assert decide_phase(lead(9), INCUMBENT, lead(9), more_looks).extend_to == 12
    # a lead far below what even the last look could detect is futile: no more seeds
    futile = {INCUMBENT: {"mAP_50": [0.80, 0.84, 0.76]}, "1:0.5": {"mAP_50": [0.801, 0.841, 0.761]}}
    assert decide_phase(phase_runs(futile), INCUMBENT, phase_runs(futile), READ_POINT).extend == []
    # an unconfirmed challenger (one run) is confirmed first, not extended
    single = {INCUMBENT: {"mAP_50": [0.80, 0.81, 0.79]}, "1:0.5": {"mAP_50": [0.83]}}
    decision = decide_phase(phase_runs(single), INCUMBENT, phase_runs(single), READ_POINT)
    assert decision.to_confirm == ["1:0.5"] and decision.extend == []


@pytest.mark.filterwarnings("ignore:Precision loss")
def test_welchs_test_vetoes_a_switch_that_rests_on_a_sigma_pooled_from_quieter_configurations():
    # Sixty quiet runs of another configuration pull the pooled σ down to 0.026: the pooled test
    # says better (p 0.0012 < α/3), but the challenger's own spread does not back it (Welch p 0.25).
    phase = phase_runs({INCUMBENT: {"mAP_50": [0.80, 0.80, 0.80]}, "1:0.5": {"mAP_50": [0.70, 0.95, 0.95]}})
    quiet = phase_runs({"0.5:1": {"mAP_50": [0.5, 0.5001] * 30}}, order=["0.5:1"]).assign(order=1)
    decision = decide_phase(phase, INCUMBENT, pd.concat([phase, quiet]), READ_POINT)
    comparison = decision.comparisons["1:0.5"]
    welch = stats.ttest_ind([0.70, 0.95, 0.95], [0.80] * 3, equal_var=False, alternative="greater").pvalue
    assert comparison.p_better < decision.alpha < comparison.p_welch == pytest.approx(welch)
    assert comparison.verdict == "inconclusive" and decision.outcome == KEPT


def test_with_no_spread_at_all_any_gain_is_decisive():
    # Every replicated configuration repeated its value exactly (σ = 0, binary-exact values)
    runs = phase_runs(
        {INCUMBENT: {"mAP_50": [0.5] * 3}, "1:0.5": {"mAP_50": [0.75] * 3}, "0.5:1": {"mAP_50": [0.25] * 3}}
    )
    decision = decide_phase(runs, INCUMBENT, runs, READ_POINT)
    assert decision.noise.sigma == 0.0
    up, down = decision.comparisons["1:0.5"], decision.comparisons["0.5:1"]
    assert (up.verdict, up.p_better, up.low, up.high) == ("better", 0.0, 0.25, 0.25)
    assert (down.verdict, down.p_better) == ("worse", 1.0)
    assert (decision.outcome, decision.winner) == (SWITCHED, "1:0.5")


def test_a_race_carries_the_confirmed_point_furthest_ahead_and_confirms_the_best_unconfirmed():
    runs = phase_runs(
        {
            "ref": {"mAP_50": [0.80, 0.81, 0.79]},
            "a": {"mAP_50": [0.83, 0.84, 0.82]},
            "b": {"mAP_50": [0.86, 0.87, 0.85]},  # confirmed and furthest ahead: carried
            "c": {"mAP_50": [0.90]},  # further ahead on one run: earns the reference's seed count
            "e": {"mAP_50": [0.82]},  # ahead, one run, but not among the RACE_CONFIRM best
        }
    )
    decision = decide_phase(runs, "ref", runs, READ_POINT, race=True)
    assert decision.race and (decision.outcome, decision.winner) == ("carried", "b")
    assert decision.to_confirm == ["c"]
    behind = phase_runs({"ref": {"mAP_50": [0.80, 0.81, 0.79]}, "a": {"mAP_50": [0.70, 0.71, 0.69]}})
    nothing = decide_phase(behind, "ref", behind, READ_POINT, race=True)
    assert (nothing.outcome, nothing.winner, nothing.to_confirm) == (KEPT, "ref", [])


def test_earlier_sweeps_runs_join_the_noise_estimate_of_a_phase():
    runs = phase_runs({INCUMBENT: {"mAP_50": [0.80, 0.81, 0.79]}, "1:0.5": {"mAP_50": [0.83]}})
    prior = phase_runs(
        {"p1": {"mAP_50": [0.70 + 0.01 * i for i in range(6)]}, "p2": {"mAP_50": [0.60 + 0.01 * i for i in range(6)]}}
    )
    alone = decide_phase(runs, INCUMBENT, runs, READ_POINT).noise
    pooled = decide_phase(runs, INCUMBENT, runs, READ_POINT, prior=prior).noise
    assert (alone.dof, pooled.dof) == (2, 12)
    squares = 2 * 0.01**2 + 2 * float(np.var([0.01 * i for i in range(6)], ddof=1) * 5)
    assert pooled.sigma == pytest.approx((squares / 12) ** 0.5) and pooled.raised_from is None
    assert "earlier sweeps" in pooled.source


def test_screening_judges_with_the_pooled_sigma_the_tests_with_the_floored_one():
    # 2 dof: the floor doubles σ for the tests, but a challenger one pooled standard error ahead
    # still earns confirmation seeds (screening only hands out seeds)
    runs = phase_runs({INCUMBENT: {"mAP_50": [0.574, 0.557, 0.621]}, "1:0.5": {"mAP_50": [0.635]}})
    decision = decide_phase(runs, INCUMBENT, runs, READ_POINT)
    assert decision.noise.raised_from is not None and decision.noise.sigma > 2 * decision.noise.raised_from
    assert decision.to_confirm == ["1:0.5"] and decision.outcome == KEPT


def test_a_race_states_what_it_carried_and_keeps_the_same_answer_for_the_study_rule():
    runs = phase_runs(
        {
            "ref": {"mAP_50": [0.80, 0.81, 0.79]},
            "two": {"mAP_50": [0.84, 0.85]},  # two runs: confirmed, ahead
            "tie": {"mAP_50": [0.80, 0.80, 0.80]},  # exactly level with the reference: not ahead
        }
    )
    decision = decide_phase(runs, "ref", runs, READ_POINT, labels={"two": "lr 0.05"}, race=True)
    assert (decision.outcome, decision.winner) == ("carried", "two")
    assert decision.sentence == (
        "carried lr 0.05 to the incumbent: ahead of the reference ref (mAP@0.5 (at the read point) +0.045, "
        f"2 vs 3 runs; {decision.noise.describe(3)}); the next phase tests its varied values at the incumbent"
    )
    assert (decision.study_rule_winner, decision.study_rule_sentence) == ("two", decision.sentence)
    assert decision.noise is not None and set(decision.comparisons) == {"two", "tie"}
    level = phase_runs({"ref": {"mAP_50": [0.80, 0.81, 0.79]}, "tie": {"mAP_50": [0.80, 0.81, 0.79]}})
    nothing = decide_phase(level, "ref", level, READ_POINT, race=True)
    assert (nothing.outcome, nothing.winner, nothing.study_rule_winner) == (KEPT, "ref", "ref")
    assert nothing.sentence == (
        "nothing carried: no point with two or more runs is ahead of the reference ref "
        "(mAP@0.5 (at the read point)); the incumbent stays"
    )


def test_a_race_without_a_noise_estimate_says_so_by_leaving_sigma_out():
    runs = phase_runs({"ref": {"mAP_50": [0.80]}, "up": {"mAP_50": [0.85]}})
    decision = decide_phase(runs, "ref", runs, READ_POINT, race=True)
    assert decision.noise is None and decision.outcome == KEPT  # one run each: nothing confirmed
    two = phase_runs({"ref": {"mAP_50": [0.80]}, "up": {"mAP_50": [0.85, 0.85]}})
    quiet = decide_phase(two, "ref", two.iloc[:1], READ_POINT, race=True)  # σ from nothing replicated
    assert quiet.noise is None and quiet.winner == "up"
    assert quiet.sentence == (
        "carried up to the incumbent: ahead of the reference ref (mAP@0.5 (at the read point) +0.050, "
        "2 vs 1 runs); the next phase tests its varied values at the incumbent"
    )


LABELS = {INCUMBENT: "weights 1:1", "1:0.5": "weights 1:0.5", "0.5:1": "weights 0.5:1"}


def test_a_switch_names_both_sides_by_their_labels_and_counts_the_runs_of_each():
    runs = phase_runs(
        {
            INCUMBENT: {"mAP_50": [0.60, 0.61, 0.59, 0.60]},
            "1:0.5": {"mAP_50": [0.75, 0.76]},  # two runs: confirmed, and clearly better
            "0.5:1": {"mAP_50": [0.62]},  # one run: screened only
        }
    )
    decision = decide_phase(runs, INCUMBENT, runs, READ_POINT, labels=LABELS)
    assert (decision.outcome, decision.winner) == (SWITCHED, "1:0.5")
    assert decision.alpha == pytest.approx(0.05 / 2 / 3)  # two challengers, three looks
    assert decision.sentence.startswith(
        "switched to weights 1:0.5: mAP@0.5 (at the read point) +0.155 over weights 1:1 (95 % interval "
    )
    assert "; 2 vs 4 runs; " in decision.sentence  # (challenger, incumbent)
    assert decision.sentence.endswith("; 2 challenger(s), 1 with two or more runs, the incumbent 4")


def test_a_lead_on_two_runs_is_inconclusive_by_name_and_a_lead_on_one_run_is_not_a_lead():
    two = phase_runs({INCUMBENT: {"mAP_50": [0.60, 0.62, 0.58]}, "1:0.5": {"mAP_50": [0.62, 0.63]}})
    decision = decide_phase(two, INCUMBENT, two, READ_POINT, labels=LABELS)
    assert decision.outcome == KEPT
    assert decision.sentence.startswith("kept weights 1:1, inconclusive: weights 1:0.5 is ahead by +0.025 (95 % ")
    one = phase_runs({INCUMBENT: {"mAP_50": [0.60, 0.62, 0.58]}, "1:0.5": {"mAP_50": [0.64]}})
    kept = decide_phase(one, INCUMBENT, one, READ_POINT, labels=LABELS)
    assert kept.outcome == KEPT and kept.to_confirm == ["1:0.5"]
    power = describe_power(kept.noise, (1, 3), kept.alpha, 3)  # one run against the incumbent's three
    assert kept.sentence.startswith("kept weights 1:1: no point beat it beyond noise (mAP@0.5 (at the read point), ")
    assert f"; {power}); 1 challenger(s), 0 with two or more runs, the incumbent 3" in kept.sentence
    assert kept.alpha == pytest.approx(0.05 / 3)  # one challenger: α split over the looks only


def test_a_phase_with_no_challenger_states_what_one_run_against_the_incumbents_could_have_shown():
    runs = phase_runs({INCUMBENT: {"mAP_50": [0.60, 0.62, 0.58]}})
    decision = decide_phase(runs, INCUMBENT, runs, READ_POINT)
    assert (decision.outcome, decision.winner, decision.comparisons) == (KEPT, INCUMBENT, {})
    assert describe_power(decision.noise, (1, 3), decision.alpha, 3) in decision.sentence


def test_a_challenger_level_with_the_incumbent_or_without_values_is_never_ahead():
    runs = phase_runs(
        {
            INCUMBENT: {"mAP_50": [0.60, 0.62, 0.58]},
            "1:0.5": {"mAP_50": [0.60, 0.62, 0.58]},  # exactly level: no lead to look at again
            "0.5:1": {"mAP_50": [float("nan"), float("nan")]},  # runs that logged no value
        }
    )
    decision = decide_phase(runs, INCUMBENT, runs, READ_POINT)
    assert (decision.outcome, decision.to_confirm, decision.extend, decision.extend_to) == (KEPT, [], [], 0)
    assert decision.sentence.startswith("kept 1:1: no point beat it beyond noise")


def _study_rule_runs(configs: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Three identical runs per configuration: (wrong detections per image, eval loss); σ 0, so a
    difference on a criterion is beyond noise unless other runs bring a σ."""
    columns = lambda wrong, loss: {  # noqa: E731
        "wrong_detection_rate": [wrong] * 3,
        "eval_loss_unweighted": [loss] * 3,
        "mAP_50": [0.80] * 3,
    }
    return phase_runs({key: columns(*values) for key, values in configs.items()})


def test_the_study_rule_takes_the_earliest_criterion_then_the_larger_gain_whatever_the_names_and_order():
    runs = _study_rule_runs(
        {
            INCUMBENT: (0.80, 1.0),
            "mm": (0.80, 0.5),  # level on wrong detections; far better on the second criterion
            "aa": (0.70, 1.0),  # better on wrong detections by 0.1
            "zz": (0.60, 1.0),  # better on wrong detections by 0.2: the rule's pick
        }
    )
    decision = decide_phase(runs, INCUMBENT, runs, replace(READ_POINT, mode=STUDY_RULE))
    assert decision.winner == INCUMBENT  # on mAP@0.5 every point is level
    assert decision.study_rule_winner == "zz"
    assert decision.study_rule_sentence == "switched: better on wrong detections per image"


def test_the_study_rule_reads_earlier_sweeps_runs_for_its_sigma_too():
    runs = _study_rule_runs({INCUMBENT: (0.80, 1.0), "aa": (0.70, 1.0)})
    alone = decide_phase(runs, INCUMBENT, runs, READ_POINT)
    assert alone.study_rule_winner == "aa"  # σ 0 from this phase's own runs
    spread = [0.4 + 0.1 * i for i in range(6)]  # an earlier sweep's wrong detections: σ 0.187 on 5 dof
    prior = phase_runs({"p1": {"wrong_detection_rate": spread}, "p2": {"wrong_detection_rate": spread}})
    with_prior = decide_phase(runs, INCUMBENT, runs, READ_POINT, prior=prior)
    assert with_prior.study_rule_winner == INCUMBENT
    assert with_prior.study_rule_sentence == "kept: no configuration was better on the study's criteria beyond noise"


def test_a_side_without_values_compares_as_nothing_known():
    objective = OBJECTIVES["mAP_50"]
    noise = Noise(0.02, 10, 3)
    for challenger, incumbent in (
        (pd.Series([], dtype=float), pd.Series([0.8, 0.81])),
        (pd.Series([0.9]), pd.Series([float("nan")])),
    ):
        result = compare(challenger, incumbent, objective, noise, 0.05)
        assert result.metric == "mAP_50" and result.runs == (len(challenger.dropna()), len(incumbent.dropna()))
        assert all(
            math.isnan(value) for value in (result.delta, result.low, result.high, result.p_better, result.p_welch)
        )
        assert result.verdict == "inconclusive" and result.looks_better is False


def test_without_a_sigma_nothing_looks_better_and_screening_needs_more_than_one_standard_error():
    objective = OBJECTIVES["mAP_50"]
    assert compare(pd.Series([0.9]), pd.Series([0.5]), objective, None, 0.05).looks_better is False
    # exactly one standard error ahead (σ 1, one run a side: se √2) is not "more than one"
    at = compare(pd.Series([math.sqrt(2)]), pd.Series([0.0]), objective, Noise(1.0, 10, 2), 0.05)
    assert at.delta == math.sqrt(2) and at.looks_better is False
    above = compare(pd.Series([1.5]), pd.Series([0.0]), objective, Noise(1.0, 10, 2), 0.05)
    assert above.looks_better is True


def test_with_a_sigma_of_zero_any_difference_decides_and_a_level_one_does_not():
    objective, zero = OBJECTIVES["mAP_50"], Noise(0.0, 4, 2)  # every replicated configuration repeated its value
    up = compare(pd.Series([0.8, 0.8]), pd.Series([0.7, 0.7]), objective, zero, 0.05)
    assert (up.p_better, up.verdict, up.looks_better) == (0.0, "better", True)
    assert up.low == up.high == up.delta == pytest.approx(0.1) and math.isnan(up.p_welch)  # no spread: no Welch
    down = compare(pd.Series([0.6, 0.6]), pd.Series([0.7, 0.7]), objective, zero, 0.05)
    assert (down.p_better, down.verdict, down.looks_better) == (1.0, "worse", False)
    level = compare(pd.Series([0.7, 0.7]), pd.Series([0.7, 0.7]), objective, zero, 0.05)
    assert (level.p_better, level.verdict, level.looks_better) == (1.0, "inconclusive", False)


def test_welch_needs_two_runs_a_side_and_some_spread():
    objective, noise = OBJECTIVES["mAP_50"], Noise(0.02, 10, 3)
    two = compare(pd.Series([0.80, 0.82]), pd.Series([0.70, 0.73]), objective, noise, 0.05)
    expected = stats.ttest_ind([0.80, 0.82], [0.70, 0.73], equal_var=False, alternative="greater").pvalue
    assert two.p_welch == pytest.approx(expected)
    for challenger, incumbent in (([0.80, 0.80], [0.70, 0.73]), ([0.80, 0.82], [0.70, 0.70])):  # one side flat
        welch = stats.ttest_ind(challenger, incumbent, equal_var=False, alternative="greater").pvalue
        result = compare(pd.Series(challenger), pd.Series(incumbent), objective, noise, 0.05)
        assert result.p_welch == pytest.approx(welch) and 0 < welch < 0.5
    for challenger, incumbent in (([0.80], [0.70, 0.73, 0.71]), ([0.80, 0.82], [0.70]), ([0.8, 0.8], [0.7, 0.7])):
        assert math.isnan(compare(pd.Series(challenger), pd.Series(incumbent), objective, noise, 0.05).p_welch)


def test_screening_scales_the_standard_error_back_to_the_pooled_sigma_where_the_floor_raised_it():
    objective, raised = OBJECTIVES["mAP_50"], Noise(0.04, 2, 1, raised_from=0.02)
    pooled_se = 0.02 * math.sqrt(1 / 1 + 1 / 3)  # one run against three, at the pooled σ
    incumbent = pd.Series([0.70, 0.70, 0.70])
    below = compare(pd.Series([0.70 + 0.9 * pooled_se]), incumbent, objective, raised, 0.05)
    above = compare(pd.Series([0.70 + 1.1 * pooled_se]), incumbent, objective, raised, 0.05)
    assert (below.looks_better, above.looks_better) == (False, True)


def test_the_study_rule_breaks_an_exact_tie_by_yaml_order_whatever_the_order_of_the_runs():
    configs = {INCUMBENT: (0.80, 1.0), "zz": (0.70, 1.0), "aa": (0.70, 1.0)}  # zz first in the YAML
    runs = _study_rule_runs(configs)
    runs["order"] = runs["config_key"].map({key: index for index, key in enumerate(configs)})
    for shuffled in (runs, runs.iloc[::-1]):
        assert decide_phase(shuffled, INCUMBENT, shuffled, READ_POINT).study_rule_winner == "zz"


def test_a_p_value_exactly_at_alpha_decides_nothing():
    objective, noise = OBJECTIVES["mAP_50"], Noise(0.02, 10, 3)
    better, incumbent = pd.Series([0.82, 0.84]), pd.Series([0.76, 0.78, 0.77])
    first = compare(better, incumbent, objective, noise, 0.05)
    assert first.verdict == "better" and first.metric == "mAP_50"
    flat_better, flat_incumbent = pd.Series([0.82, 0.82]), pd.Series([0.77, 0.77, 0.77])  # no Welch: no spread
    p_pooled = compare(flat_better, flat_incumbent, objective, noise, 0.05).p_better
    assert compare(flat_better, flat_incumbent, objective, noise, 0.05).verdict == "better"
    assert compare(flat_better, flat_incumbent, objective, noise, p_pooled).verdict == "inconclusive"  # p = α
    at_welch = compare(better, incumbent, objective, noise, first.p_welch)  # pooled p below it, Welch's = α
    assert first.p_better < first.p_welch and at_welch.verdict == "inconclusive"
    # the other way round: worse, and at α exactly (p of being worse, computed as compare does) not worse
    assert compare(incumbent, better, objective, noise, 0.05).verdict == "worse"
    t = float(incumbent.mean() - better.mean()) / (0.02 * math.sqrt(1 / 3 + 1 / 2))
    p_worse = float(stats.t.cdf(t, 10))
    assert compare(incumbent, better, objective, noise, p_worse).verdict == "inconclusive"
