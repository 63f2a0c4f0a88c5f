"""A phase's table, row by row: configurations aggregated over their runs, ranked on the decision
metric (ties in YAML order, a missing value last), each with its role, its comparison with the
incumbent and the reason in words."""

import math
from dataclasses import replace

import pandas as pd
import pytest

from burgerfries.decision.chain import per_configuration, rank_by_objective
from burgerfries.decision.phase import decide_phase
from burgerfries.decision.settings import OBJECTIVES, DecisionSettings
from burgerfries.decision.tables import phase_table
from burgerfries.metrics import at_last_evaluation

SETTINGS = DecisionSettings()
COLUMN = SETTINGS.metric.column


def runs_of(configs: dict[str, tuple[list[float], int]]) -> pd.DataFrame:
    rows, index = [], []
    for key, (values, order) in configs.items():
        for seed, value in enumerate(values):
            index.append(f"{key}-{seed}")
            rows.append({"config_key": key, "varied": key, "order": order, "seed": seed, "status": "FINISHED"})
            rows[-1].update({COLUMN: value, "gap": 10 * value, "rank": 99})
    return pd.DataFrame(rows, index=index)


def test_every_row_says_its_role_its_comparison_and_why():
    runs = runs_of({"inc": ([0.80, 0.81, 0.79], -1), "up": ([0.90, 0.91, 0.89], 0), "one": ([0.70], 1)})
    decision = decide_phase(runs, "inc", runs, SETTINGS)
    table = phase_table(runs, decision, SETTINGS).set_index("config_key")
    assert list(table.index) == ["up", "inc", "one"] and list(table["rank"]) == [1, 2, 3]
    assert table.loc["up", "role"] == "challenger, carried on" and table.loc["inc", "role"] == "incumbent"
    assert table.loc["one", "role"] == "challenger"
    for key in ("up", "one"):
        comparison = decision.comparisons[key]
        row = table.loc[key]
        assert (row["delta"], row["delta_low"], row["delta_high"]) == (
            comparison.delta,
            comparison.low,
            comparison.high,
        )
        assert (row["p"], row["verdict"]) == (comparison.p_better, comparison.verdict)
    incumbent = table.loc["inc"]
    assert all(math.isnan(incumbent[c]) for c in ("delta", "delta_low", "delta_high", "p"))
    assert incumbent["verdict"] == "" and incumbent["reason"] == decision.sentence
    up = decision.comparisons["up"]
    assert table.loc["up", "reason"] == f"better: Δ {up.delta:+.4f}, one-sided p {up.p_better:.2g} (3 vs 3 runs)"
    assert table.loc["one", "reason"].startswith("worse: Δ -0.1000") and "(1 vs 3 runs)" in table.loc["one", "reason"]
    assert table.loc["up", COLUMN] == pytest.approx(0.90) and table.loc["up", "runs"] == 3
    assert table.loc["up", "gap"] == pytest.approx(9.0) and table.loc["up", "run_id"] == "up-1"
    assert table.loc["up", "order"] == 0 and table.loc["inc", "order"] == -1
    assert list(table["best_group"]) == [True, False, False]


def test_a_close_call_is_said_in_words_and_a_race_names_its_reference():
    runs = runs_of({"inc": ([0.80, 0.812, 0.790], -1), "near": ([0.815, 0.806, 0.826], 0)})
    decision = decide_phase(runs, "inc", runs, SETTINGS)
    table = phase_table(runs, decision, SETTINGS).set_index("config_key")
    near = decision.comparisons["near"]
    assert table.loc["near", "reason"] == (
        f"not shown different from the incumbent: Δ {near.delta:+.4f}, one-sided p {near.p_better:.2g} (3 vs 3 runs)"
    )
    race = decide_phase(runs, "inc", runs, SETTINGS, race=True)
    raced = phase_table(runs, race, SETTINGS).set_index("config_key")
    assert (
        raced.loc["inc", "role"] == "reference" and raced.loc["near", "role"] == "challenger, carried to the incumbent"
    )


def test_without_a_noise_estimate_or_a_run_the_reason_says_so():
    runs = runs_of({"inc": ([0.80], -1), "up": ([0.85], 0)})
    decision = decide_phase(runs, "inc", runs, SETTINGS)
    table = phase_table(runs, decision, SETTINGS).set_index("config_key")
    assert table.loc["up", "reason"] == "Δ +0.0500 (1 vs 1 runs); no noise estimate to test it"
    one = runs_of({"inc": ([0.80, 0.82], -1), "up": ([0.85], 0), "confirming": ([0.9], 1)})
    decision = decide_phase(one, "inc", one, SETTINGS)
    table = phase_table(one, decision, SETTINGS).set_index("config_key")
    assert table.loc["confirming", "role"] == "challenger, confirmed"  # the one best ahead earns seeds


def test_ranking_for_a_loss_ties_in_yaml_order_and_a_missing_value_last():
    loss = at_last_evaluation(OBJECTIVES["eval_loss"])
    frame = pd.DataFrame(
        {
            "config_key": ["b", "a", "c", "d"],
            "order": [2, 1, 0, 3],
            loss.column: [0.5, 0.5, 0.7, float("nan")],
        }
    )
    ranked = rank_by_objective(frame, loss, {"a"})
    assert list(ranked["config_key"]) == ["a", "b", "c", "d"] and list(ranked["rank"]) == [1, 2, 3, 4]
    assert list(ranked["best_group"]) == [True, False, False, False]
    higher = rank_by_objective(frame, replace(at_last_evaluation(OBJECTIVES["mAP_50"]), column=loss.column), set())
    assert list(higher["config_key"]) == ["c", "a", "b", "d"]


def test_per_configuration_keeps_each_configurations_yaml_order_and_best_run_by_seed():
    runs = runs_of({"x": ([0.7, 0.9, 0.9], 4), "y": ([0.5, 0.6], 2)})
    runs.loc["x-0", "order"] = 3  # a configuration's order: the smallest of its runs'
    runs["seed"] = runs["seed"].astype(str)  # as params are read: strings
    table = per_configuration(runs, COLUMN, higher_is_better=True)
    assert list(table.index) == ["x", "y"]  # in the order they come, not sorted
    assert table.loc["x", "order"] == 3 and table.loc["x", "run_id"] == "x-1"  # 0.9 twice: the lower seed
    assert table.loc["x", "rank"] == 99  # (not averaged: not a measurement)
    assert table.loc["y", f"{COLUMN}_ci"] == pytest.approx(12.706204736174707 * 0.1 / 2 * 2**0.5 / 2**0.5)


def test_bookkeeping_columns_are_not_averaged_and_a_challenger_without_runs_says_so():
    runs = runs_of({"x": ([0.7, 0.9], 4), "y": ([0.5, 0.6, 0.55], 2)})
    runs["seed"] = [5, 7, 0, 1, 2]  # numbers here: still not averaged
    table = per_configuration(runs, COLUMN, higher_is_better=True)
    assert table.loc["x", "seed"] == 7 and table.loc["x", "rank"] == 99 and table.loc["x", "order"] == 4
    assert table.loc["x", "gap"] == pytest.approx(8.0)  # a measurement: averaged
    assert table.loc["x", "run_id"] == "x-1" and table.loc["y", "run_id"] == "y-1"
    lower = per_configuration(runs, COLUMN, higher_is_better=False)
    assert lower.loc["y", "run_id"] == "y-0"
    from burgerfries.decision.phase import Comparison
    from burgerfries.decision.tables import _challenger_reason

    nan = float("nan")
    ghost = Comparison(COLUMN, nan, nan, nan, nan, nan, (0, 2), "inconclusive", False)  # no run of its own
    assert _challenger_reason(ghost) == "no finished run to compare"
    assert _challenger_reason(None) == "no finished run to compare"


def test_without_a_base_mark_the_first_phase_starts_from_its_first_configuration_in_yaml_order():
    from burgerfries.decision.chain import decide_chains

    runs = runs_of({"later": ([0.80, 0.81], 1), "first": ([0.80, 0.81], 0)})
    runs = runs.assign(model="m", phase="p")  # no is_base column at all: a run set of hand-made runs
    assert decide_chains(runs, SETTINGS)[("p", "m")].incumbent == "first"
