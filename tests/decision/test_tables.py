"""A study's decisions chain phase to phase from the base, whatever order the runs come in."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from study_runs import MODEL, PLAN, study

from burgerfries.decision.chain import confidence_half_width, decide_chains
from burgerfries.decision.settings import DecisionSettings
from burgerfries.decision.tables import decision_tables, phase_table
from burgerfries.runs.run_set import RunSet


def test_each_phase_starts_from_the_previous_decision():
    decisions = decide_chains(decision_tables(study(PLAN)).summaries, DecisionSettings())
    weights, batch = decisions[("weights", MODEL)], decisions[("batch", MODEL)]
    assert weights.outcome == "switched" and batch.incumbent == weights.winner
    assert batch.outcome == "kept"


def test_the_same_runs_in_shuffled_order_give_the_same_tables():
    tables = decision_tables(study(PLAN))
    runs = study(PLAN)
    generator = np.random.default_rng(1)
    order = generator.permutation(len(runs.runs))
    shuffled = RunSet("s", runs.runs.iloc[order], runs.metrics.sample(frac=1.0, random_state=1))
    again = decision_tables(shuffled)
    for key, table in tables.ranked.items():
        assert list(again.ranked[key]["config_key"]) == list(table["config_key"])
        assert again.decisions[key].sentence == tables.decisions[key].sentence
    assert list(again.finals["config_key"]) == list(tables.finals["config_key"])


def test_the_final_pick_is_never_worse_than_the_base_and_the_table_says_by_how_much():
    tables = decision_tables(study(PLAN))
    final = tables.base_final[tables.base_final["Model"].str.endswith("(final)")].iloc[0]
    assert final["Δ mAP@0.5 (last evaluation) vs base"] > 0 and final["p (final better)"] < 0.05
    weights_table = tables.ranked[("weights", MODEL)]
    assert list(weights_table["role"])[0] == "challenger, carried on"
    assert bool(weights_table["best_group"].iloc[0]) and not weights_table["best_group"].iloc[-1]


def test_a_phase_table_without_finished_runs_is_empty():
    tables = decision_tables(study(PLAN))
    decision = tables.decisions[("batch", MODEL)]
    empty = tables.summaries.iloc[:0]
    assert phase_table(empty, decision, DecisionSettings()).empty


def _race_study(race_runs: list, carried_runs: list) -> RunSet:
    """The weights phase, a reference race at batch 5 (lr phase) and its test at the incumbent."""
    from burgerfries.runs.configurations import config_key

    plan = [
        ("weights", {}, [0.60, 0.62, 0.58], -1, True),
        ("weights", {"localization_weight": 0.5}, [0.55], 0, False),
        *race_runs,
        *carried_runs,
    ]
    runs = study(plan)
    reference = {"batch_size": 5, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}
    reference["num_steps"] = 300  # as the runs log it
    runs.runs["reference"] = np.where(runs.runs["phase"] == "lr", config_key({**reference, "model": MODEL}), "")
    return runs


RACE = [
    ("lr", {"batch_size": 5}, [0.50, 0.52, 0.51], 1, False),  # the reference: the incumbent's lr at batch 5
    ("lr", {"batch_size": 5, "learning_rate": 0.032}, [0.58, 0.57, 0.59], 0, False),  # ahead, confirmed
    ("lr", {"batch_size": 5, "learning_rate": 0.048}, [0.53], 2, False),  # ahead, one run
]


def test_a_reference_race_carries_its_leaders_learning_rate_and_only_its_test_at_the_incumbent_switches():
    carried = [
        ("lr-carried", {}, [0.60, 0.62, 0.58], 1, True),  # the incumbent (batch 10), reused
        ("lr-carried", {"learning_rate": 0.032}, [0.70, 0.71, 0.72], 0, False),
    ]
    tables = decision_tables(_race_study(RACE, carried))
    race, test = tables.decisions[("lr", MODEL)], tables.decisions[("lr-carried", MODEL)]
    assert race.race and race.outcome == "carried" and '"batch_size": 5.0' in race.incumbent
    assert '"learning_rate": 0.032' in race.winner and '"batch_size": 5.0' in race.winner
    assert race.sentence.startswith(
        "carried 5,0.032 to the incumbent: ahead of the reference 5 (mAP@0.5 (last evaluation) +0.070"
    )
    # the test's incumbent is the weights phase's pick (batch 10), not the race's reference
    assert test.incumbent == tables.decisions[("weights", MODEL)].winner and not test.race
    assert test.outcome == "switched" and '"batch_size": 10.0' in test.winner
    final = tables.finals.iloc[0]
    assert (float(final["learning_rate"]), float(final["batch_size"])) == (0.032, 10.0)
    roles = dict(zip(tables.ranked[("lr", MODEL)]["varied"], tables.ranked[("lr", MODEL)]["role"]))
    assert roles["5"] == "reference" and roles["5,0.032"] == "challenger, carried to the incumbent"
    from burgerfries.report.headline import headline

    answer = headline(tables)  # the answer counts the test's switch, not the race's carry
    assert answer.models[0].verdict.startswith("Switched in 1 phase(s) (lr-carried → 0.032)")
    assert [(o.phase, o.outcome) for o in answer.phases][1:] == [("lr", "carried"), ("lr-carried", "switched")]


def test_a_race_with_no_confirmed_point_ahead_carries_nothing_and_the_incumbent_stays():
    behind = [RACE[0], ("lr", {"batch_size": 5, "learning_rate": 0.032}, [0.45, 0.47, 0.46], 0, False)]
    tables = decision_tables(_race_study(behind, []))
    race = tables.decisions[("lr", MODEL)]
    assert race.outcome == "kept" and race.winner == race.incumbent
    assert race.sentence.startswith("nothing carried")
    final = tables.finals.iloc[0]  # the weights phase's pick: the race carries nothing on by itself
    assert (float(final["learning_rate"]), float(final["batch_size"])) == (0.04, 10.0)
    from burgerfries.report.headline import headline

    assert headline(tables).models[0].verdict.startswith("Kept the base")


def test_the_analysis_settings_and_earlier_runs_reach_the_decisions():
    from burgerfries.runs.analysis_settings import AnalysisSettings

    runs = study(PLAN)
    strict = decision_tables(runs, analysis=AnalysisSettings(min_points=7))  # six evaluations: too short
    assert set(strict.summaries["flatten_status"]) == {"too short"}
    assert set(decision_tables(runs).summaries["flatten_status"]) != {"too short"}
    earlier = study([("old", {}, [0.60, 0.70, 0.50, 0.65], -1, True)])
    with_prior = RunSet("s", runs.runs, runs.metrics, prior_runs=earlier.runs, prior_metrics=earlier.metrics)
    pooled = decision_tables(with_prior)
    alone = decision_tables(runs)
    weights = ("weights", MODEL)
    assert pooled.decisions[weights].noise.dof == alone.decisions[weights].noise.dof + 3
    assert "earlier sweeps" in pooled.decisions[weights].noise.source


def test_a_phase_whose_table_lacks_the_carried_configuration_has_no_carried_row():
    from burgerfries.decision.tables import carried_row

    tables = decision_tables(study(PLAN))
    weights = ("weights", MODEL)
    tables.ranked[weights] = tables.ranked[weights].iloc[:0]
    assert carried_row(tables, "weights", MODEL) is None
    assert carried_row(tables, "no such phase", MODEL) is None


def test_the_base_vs_final_table_row_by_row():
    from burgerfries.decision.tables import BASE_FINAL_COLUMNS

    tables = decision_tables(study(PLAN))
    table = tables.base_final
    assert list(table["Model"]) == [f"{MODEL} (base)", f"{MODEL} (final)"]
    assert list(table["configuration"]) == [
        "batch 10, lr 0.04, weights 1.0:1.0",
        "batch 10, lr 0.04, weights 0.5:1.0",
    ]
    assert list(table["runs"]) == [3, 3]
    last = BASE_FINAL_COLUMNS["last_mAP_50"]
    finished = tables.summaries[tables.summaries["status"] == "FINISHED"]
    base_runs = finished[(finished["phase"] == "weights") & (finished["is_base"])]
    assert table[last].iloc[0] == pytest.approx(base_runs["last_mAP_50"].astype(float).mean())
    assert table[f"{last} ±"].iloc[0] == pytest.approx(
        confidence_half_width(base_runs["last_mAP_50"].drop_duplicates())
    )
    final = tables.decisions[("weights", MODEL)].comparisons[tables.decisions[("weights", MODEL)].winner]
    delta_column = next(column for column in table.columns if column.startswith("Δ "))
    assert table[delta_column].iloc[1] == pytest.approx(final.delta)
    assert table["95 % interval"].iloc[1] != "—" and 0 <= table["p (final better)"].iloc[1] < 0.05
    from burgerfries.decision.chain import final_against_base, model_runs

    own = model_runs(finished, MODEL)
    keys = [own.loc[own["is_base"].astype(bool), "config_key"].iloc[0], tables.finals["config_key"].iloc[0]]
    result = final_against_base(own, *keys, DecisionSettings())
    assert table["95 % interval"].iloc[1] == f"{result.low:+.3f} … {result.high:+.3f}"
    # one run per configuration: no σ, so the final is the base and its change has no interval
    single = decision_tables(study([("weights", {}, [0.6], -1, True), ("weights", {"batch_size": 5}, [0.9], 0, False)]))
    assert single.base_final["95 % interval"].iloc[1] == "—"
    assert math.isnan(table[delta_column].iloc[0])  # the base row has no change of its own


def test_the_final_table_also_compares_on_the_test_photos_which_may_disagree_with_validation():
    final_knobs = (("classification_weight", 0.5),)
    shifts = {}  # every configuration's test photos read as its validation photos
    agreeing = decision_tables(study(PLAN, shifts)).base_final
    base_tests = np.array([0.60, 0.62, 0.58]) + 0.01 * np.arange(3)
    final_tests = np.array([0.80, 0.82, 0.79]) + 0.01 * np.arange(3)
    delta = "Δ mAP@0.5 on the test photos vs base"
    assert agreeing[delta].iloc[1] == pytest.approx(final_tests.mean() - base_tests.mean())
    assert agreeing["mAP@0.5 on the test photos"].tolist() == pytest.approx([base_tests.mean(), final_tests.mean()])
    spreads = [confidence_half_width(pd.Series(tests)) for tests in (base_tests, final_tests)]
    assert agreeing["mAP@0.5 on the test photos ±"].tolist() == pytest.approx(spreads) and min(spreads) > 0
    assert agreeing["p (final better on test)"].iloc[1] < 0.05
    low, high = (float(x) for x in agreeing["test 95 % interval"].iloc[1].split(" (")[0].split(" … "))
    assert low < agreeing[delta].iloc[1] < high and "dof" in agreeing["test 95 % interval"].iloc[1]
    # the validation photos chose the final; on the test photos it is worse: the table says so
    disagreeing = decision_tables(study(PLAN, {**shifts, final_knobs: -0.35})).base_final
    assert disagreeing["p (final better)"].iloc[1] < 0.05 < 0.5 < disagreeing["p (final better on test)"].iloc[1]
    assert disagreeing[delta].iloc[1] == pytest.approx(final_tests.mean() - 0.35 - base_tests.mean())
    # runs without test photos (older stores): the table says so instead of a number
    assert decision_tables(study(PLAN)).base_final["test 95 % interval"].iloc[1] == "no test photos measured"


def test_models_keep_the_order_they_ran_in_and_earlier_runs_reach_the_final_comparison():
    from burgerfries.runs.analysis_settings import AnalysisSettings

    other = "ssd_mobilenet_v2_fpnlite_320x320"  # sorts after MODEL: put it first
    first, second = study(PLAN), study(PLAN)
    second.runs["model"] = MODEL
    first.runs["model"] = other
    first.runs.index = [f"f{i}" for i in first.runs.index]
    first.metrics["run_id"] = "f" + first.metrics["run_id"]
    both = RunSet("s", pd.concat([first.runs, second.runs]), pd.concat([first.metrics, second.metrics]))
    table = decision_tables(both).base_final
    assert list(table["Model"]) == [f"{other} (base)", f"{other} (final)", f"{MODEL} (base)", f"{MODEL} (final)"]
    runs = study(PLAN, {})
    earlier = study([("old", {}, [0.60, 0.70, 0.50, 0.65], -1, True)], {})  # with test photos
    earlier.runs.index = [f"old{i}" for i in earlier.runs.index]
    earlier.metrics["run_id"] = "old" + earlier.metrics["run_id"]
    with_prior = RunSet("s", runs.runs, runs.metrics, prior_runs=earlier.runs, prior_metrics=earlier.metrics)
    pooled, alone = decision_tables(with_prior), decision_tables(runs)
    assert pooled.prior is not None and len(pooled.prior) == 4 and alone.prior is None
    assert pooled.base_final["p (final better)"].iloc[1] != alone.base_final["p (final better)"].iloc[1]
    # the test photos' comparison pools the earlier runs too: three more degrees of freedom
    dof = [
        int(re.search(r"σ on (\d+) dof", t.base_final["test 95 % interval"].iloc[1]).group(1)) for t in (pooled, alone)
    ]
    assert dof[0] == dof[1] + 3
    short = decision_tables(with_prior, analysis=AnalysisSettings(min_points=7))
    assert set(short.prior["flatten_status"]) == {"too short"}  # the analysis reads the prior runs too


def test_the_final_pick_comes_from_an_earlier_phases_table_when_the_last_one_lacks_it():
    from burgerfries.decision.tables import final_picks

    tables = decision_tables(study(PLAN))
    decisions, settings = tables.decisions, tables.settings
    winner = decisions[("batch", MODEL)].winner
    ranked = dict(tables.ranked)
    ranked[("batch", MODEL)] = ranked[("batch", MODEL)][ranked[("batch", MODEL)]["config_key"] != winner]
    finals = final_picks(decisions, ranked, settings)
    assert list(finals["config_key"]) == [winner] and len(finals) == 1
    assert finals["reason"].iloc[0] == decisions[("batch", MODEL)].sentence
    weights_row = tables.ranked[("weights", MODEL)]
    assert finals.index[0] == weights_row[weights_row["config_key"] == winner]["run_id"].iloc[0]
    nowhere = {key: table[table["config_key"] != winner] for key, table in ranked.items()}
    assert final_picks(decisions, nowhere, settings).empty
    # the earlier table taken is one that holds the winner, not the model's first with other rows
    lacking_first = {("earlier", MODEL): ranked[("batch", MODEL)], **ranked}
    assert list(final_picks(decisions, lacking_first, settings)["config_key"]) == [winner]
    # a model whose pick is in no table is left out; the models after it keep theirs
    other = "ssd_mobilenet_v2_fpnlite_320x320"
    first, second = study(PLAN), study(PLAN)
    first.runs["model"] = other
    first.runs.index = [f"f{i}" for i in first.runs.index]
    first.metrics["run_id"] = "f" + first.metrics["run_id"]
    both = decision_tables(
        RunSet("s", pd.concat([first.runs, second.runs]), pd.concat([first.metrics, second.metrics]))
    )
    other_winner = both.decisions[("batch", other)].winner
    without_other = {
        key: table[table["config_key"] != other_winner] if key[1] == other else table
        for key, table in both.ranked.items()
    }
    assert list(final_picks(both.decisions, without_other, both.settings)["model"]) == [MODEL]


def test_the_base_vs_final_table_gives_cocos_map_by_object_size_on_the_test_photos():
    table = decision_tables(study(PLAN, {(("classification_weight", 0.5),): -0.1})).base_final
    base, final = table.iloc[0], table.iloc[1]
    assert base["mAP of small objects on the test photos"] == pytest.approx(np.mean([0.60, 0.62, 0.58]) / 4)
    assert final["mAP of large objects on the test photos"] == pytest.approx((np.mean([0.80, 0.82, 0.79]) - 0.1) / 2)
    assert math.isnan(final["mAP of medium objects on the test photos"])  # no medium object was measured
    older = decision_tables(study(PLAN)).base_final  # a store from before the test photos
    assert math.isnan(older.iloc[1]["mAP of small objects on the test photos"])


def test_the_test_photo_columns_say_why_a_row_has_no_change_and_name_the_runs_on_each_side():
    from burgerfries.decision.chain import OnTestPhotos
    from burgerfries.decision.phase import Comparison
    from burgerfries.decision.tables import TEST_DELTA, TEST_INTERVAL, TEST_P, _test_columns

    def columns(tested):
        found = _test_columns(tested)
        return found[TEST_DELTA], found[TEST_INTERVAL], found[TEST_P]

    delta, interval, p = columns(None)  # runs from before the test photos existed
    assert math.isnan(delta) and interval == "no test photos measured" and math.isnan(p)
    delta, interval, p = columns(OnTestPhotos(0.8, 0.8, None, None))  # the final is the base's configuration
    assert math.isnan(delta) and interval == "same configuration" and math.isnan(p)
    gained = Comparison("test_mAP_50", 0.03, 0.01, 0.05, 0.004, 0.006, (3, 5), "better", True)
    assert columns(OnTestPhotos(0.8, 0.83, gained, 7)) == (0.03, "+0.010 … +0.050 (σ on 7 dof; runs 3 vs 5)", 0.004)
    unmeasured = Comparison("test_mAP_50", 0.03, math.nan, math.nan, math.nan, math.nan, (1, 1), "inconclusive", False)
    delta, interval, p = columns(OnTestPhotos(0.8, 0.83, unmeasured, None))  # no σ: no interval, no dof
    assert delta == 0.03 and interval == "—" and math.isnan(p)
