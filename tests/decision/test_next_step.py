"""What a phase's next round queues: the confirmation of a challenger, or a close call's next look
for the leader and the incumbent, each up to its run count with the seeds it lacks."""

from pathlib import Path

import pandas as pd

from burgerfries.decision.next_step import confirmation_entries
from burgerfries.decision.phase import PhaseDecision
from burgerfries.decision.settings import KEPT, DecisionSettings
from burgerfries.decision.tables import DecisionTables
from burgerfries.sweep.definition import parse_definition
from burgerfries.sweep.trials import INCUMBENT

MODEL = "ssd_mobilenet_v2_320x320"
BASE = {"batch_size": 2, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}


def tables_with(decision: PhaseDecision, runs: list[tuple[str, int, int]]) -> DecisionTables:
    """runs: (config key, point, seed), all finished in phase `lr` of MODEL."""
    rows = [
        {"model": MODEL, "phase": "lr", "config_key": key, "point": point, "seed": seed, "status": "FINISHED"}
        for key, point, seed in runs
    ]
    summaries = pd.DataFrame(rows, index=[f"run{index}" for index in range(len(rows))])
    empty = pd.DataFrame()
    return DecisionTables(summaries, DecisionSettings(), {("lr", MODEL): decision}, {}, empty, empty)


def test_a_close_call_queues_the_seeds_the_leader_and_the_incumbent_lack_for_the_next_look():
    lr_phase = {"name": "lr", "grid": {"learning_rate": [0.02, 0.08]}}
    study = parse_definition({"name": "s", "models": [MODEL], "base": BASE, "phases": [lr_phase]}, Path("s.yaml"))
    (lr,) = study.phases
    decision = PhaseDecision("inc", "inc", KEPT, "", 0.01, extend=["lead", "inc"], extend_to=6)
    runs = [("inc", INCUMBENT, seed) for seed in range(3)] + [("lead", 1, seed) for seed in range(3)]
    runs.append(("other", 0, 0))
    entries, target = confirmation_entries(tables_with(decision, runs), lr.name, MODEL)
    assert target == 6
    assert entries == [{"point": 1, "seeds": {0, 1, 2}}, {"point": INCUMBENT, "seeds": {0, 1, 2}}]
    confirming = PhaseDecision("inc", "inc", KEPT, "", 0.01, to_confirm=["other"])
    entries, target = confirmation_entries(tables_with(confirming, runs), lr.name, MODEL)
    assert (entries, target) == ([{"point": 0, "seeds": {0}}], 3)  # confirmation: up to the incumbent's runs
    nothing = PhaseDecision("inc", "inc", KEPT, "", 0.01)
    assert confirmation_entries(tables_with(nothing, runs), lr.name, MODEL) == ([], 0)
