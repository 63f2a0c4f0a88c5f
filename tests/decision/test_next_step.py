"""What a phase's next round queues, from the decisions its runs lead to: the confirmation of a
challenger, or a close call's next look for the leader and the incumbent, each up to the run count
the decision asks for, with the seeds each already has; and what a decided phase carries on."""

import pandas as pd

from burgerfries.decision.chain import decide_chains
from burgerfries.decision.next_step import carried_on, confirmation_entries
from burgerfries.decision.settings import KEPT, SWITCHED, DecisionSettings
from burgerfries.decision.tables import DecisionTables
from burgerfries.sweep.trials import INCUMBENT

MODEL = "ssd_mobilenet_v2_320x320"
COLUMN = DecisionSettings().metric.column
OFFSETS = [-0.01, 0.01, 0.0, -0.005, 0.005, 0.0]  # σ ≈ 0.007 over seeds


def tables_of(runs: list[tuple[str, int, list[float], bool]]) -> DecisionTables:
    """runs: (config key, grid point, value per seed, is_base), all finished in phase `lr`."""
    rows, index = [], []
    for key, point, values, is_base in runs:
        for seed, value in enumerate(values):
            index.append(f"{key}-{seed}")
            rows.append(
                {
                    "model": MODEL,
                    "phase": "lr",
                    "config_key": key,
                    "varied": key,
                    "point": point,
                    "order": point,
                    "seed": seed,
                    "status": "FINISHED",
                    "is_base": is_base,
                    "batch_size": 2,
                    "learning_rate": 0.04 if is_base else 0.02 * (point + 1),
                    "classification_weight": 1.0,
                    "localization_weight": 1.0,
                    COLUMN: value,
                }
            )
    summaries = pd.DataFrame(rows, index=index)
    settings = DecisionSettings()
    empty = pd.DataFrame()
    return DecisionTables(summaries, settings, decide_chains(summaries, settings), {}, empty, empty)


def test_a_close_call_queues_the_seeds_the_leader_and_the_incumbent_lack_for_the_next_look():
    # a lead of 0.008 at 6 runs a side is not shown better (p 0.039 > α/3): the next look is 9 runs
    close = tables_of(
        [
            ("inc", INCUMBENT, [0.8 + o for o in OFFSETS], True),
            ("lead", 1, [0.808 + o for o in OFFSETS], False),
            ("other", 0, [0.70], False),
        ]
    )
    entries, target = confirmation_entries(close, "lr", MODEL)
    assert target == 9
    assert entries == [{"point": 1, "seeds": set(range(6))}, {"point": INCUMBENT, "seeds": set(range(6))}]
    # a search phase names the sampled values instead of a grid point
    entries, _ = confirmation_entries(close, "lr", MODEL, ("learning_rate",))
    assert entries[0] == {"learning_rate": 0.04, "seeds": set(range(6))}


def test_a_promising_challenger_with_one_run_is_confirmed_up_to_the_incumbents_runs():
    promising = tables_of([("inc", INCUMBENT, [0.80, 0.81, 0.79], True), ("up", 0, [0.84], False)])
    assert confirmation_entries(promising, "lr", MODEL) == ([{"point": 0, "seeds": {0}}], 3)


def test_a_decided_phase_queues_nothing():
    decided = tables_of(
        [("inc", INCUMBENT, [0.80, 0.81, 0.79], True), ("up", 0, [0.90, 0.91, 0.89], False), ("no", 1, [0.7], False)]
    )
    assert confirmation_entries(decided, "lr", MODEL) == ([], 0)
    assert confirmation_entries(decided, "other phase", MODEL) == ([], 0)


def test_what_a_phase_carries_on_comes_from_its_decision():
    from burgerfries.decision.tables import phase_table

    decided = tables_of([("inc", INCUMBENT, [0.80, 0.81, 0.79], True), ("up", 0, [0.90, 0.91, 0.89], False)])
    decision = decided.decisions[("lr", MODEL)]
    decided.ranked[("lr", MODEL)] = phase_table(decided.summaries, decision, decided.settings)
    won = carried_on(decided, "lr", MODEL)
    assert won["outcome"] == SWITCHED and won["config"]["learning_rate"] == 0.02
    assert won["run_id"] == "up-1"  # the configuration's representative: its best run (0.91, seed 1)
    kept = tables_of([("inc", INCUMBENT, [0.80, 0.81, 0.79], True), ("down", 0, [0.70, 0.71, 0.69], False)])
    kept.ranked[("lr", MODEL)] = phase_table(kept.summaries, kept.decisions[("lr", MODEL)], kept.settings)
    assert carried_on(kept, "lr", MODEL)["outcome"] == KEPT


def test_a_rows_knobs_typed_with_the_input_size_where_the_run_logged_one():
    from burgerfries.decision.next_step import knob_config

    row = pd.Series({"batch_size": "5", "learning_rate": "0.04", "classification_weight": "1.0"})
    row["localization_weight"] = "0.5"
    assert knob_config(row) == {
        "batch_size": 5,
        "learning_rate": 0.04,
        "classification_weight": 1.0,
        "localization_weight": 0.5,
    }
    assert knob_config(pd.concat([row, pd.Series({"input_size": "224"})]))["input_size"] == 224
    for missing in ("", float("nan")):  # a run from before the knob
        assert "input_size" not in knob_config(pd.concat([row, pd.Series({"input_size": missing})]))
    # a length in passes is carried on as a number; a run given steps logged no passes
    assert knob_config(pd.concat([row, pd.Series({"epochs": "142.8"})]))["epochs"] == 142.8
    for missing in ("", float("nan"), None):
        assert "epochs" not in knob_config(pd.concat([row, pd.Series({"epochs": missing})]))


def test_a_race_carries_its_outcome_and_every_decision_says_why():
    from burgerfries.decision.tables import phase_table

    decided = tables_of([("inc", INCUMBENT, [0.80, 0.81, 0.79], True), ("up", 0, [0.90, 0.91, 0.89], False)])
    decision = decided.decisions[("lr", MODEL)]
    decided.ranked[("lr", MODEL)] = phase_table(decided.summaries, decision, decided.settings)
    assert carried_on(decided, "lr", MODEL)["reason"] == decision.sentence
    decision.race = True  # the same runs as a reference race: it carries the point, it does not switch
    decision.outcome = "carried"
    assert carried_on(decided, "lr", MODEL)["outcome"] == "carried"


def test_in_study_rule_mode_what_is_carried_on_is_the_rules_pick_and_says_switched():
    from dataclasses import replace

    from burgerfries.decision.tables import phase_table

    tables = tables_of([("inc", INCUMBENT, [0.80, 0.81, 0.79], True), ("tidy", 0, [0.80, 0.81, 0.79], False)])
    summaries = tables.summaries.assign(  # the same mAP; far fewer wrong detections (the rule's first criterion)
        wrong_detection_rate=[0.90, 0.91, 0.89, 0.10, 0.11, 0.09]
    )
    settings = replace(DecisionSettings(), mode="study_rule")
    decisions = decide_chains(summaries, settings)
    decision = decisions[("lr", MODEL)]
    assert decision.outcome == KEPT and decision.study_rule_winner == "tidy"  # racing keeps, the rule switches
    ranked = {("lr", MODEL): phase_table(summaries, decision, settings)}
    rule = DecisionTables(summaries, settings, decisions, ranked, pd.DataFrame(), pd.DataFrame())
    won = carried_on(rule, "lr", MODEL)
    assert (won["outcome"], won["reason"]) == (SWITCHED, decision.study_rule_sentence)
