"""A study's decisions chain phase to phase from the base, whatever order the runs come in."""

import numpy as np
import pandas as pd

from burgerfries.decision.settings import DecisionSettings
from burgerfries.decision.study import decide_study
from burgerfries.report.study import StudyRuns
from burgerfries.report.tables import phase_table, study_tables

MODEL = "ssd_mobilenet_v2_320x320"
STEPS = [50, 100, 150, 200, 250, 300]


def study(plan: list[tuple[str, dict, list[float], int, bool]]) -> StudyRuns:
    """plan: (phase, knobs, final mAP per seed, grid point, is_base)."""
    runs, metrics, trained = [], [], {}
    for phase, knobs, maps, point, is_base in plan:
        for seed, final_map in enumerate(maps):
            config = {"batch_size": 10, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}
            config.update(knobs)
            key = (tuple(sorted(config.items())), seed)
            reused_from = trained[key][1] if key in trained else ""  # as a sweep reuses a run: same id, two phases
            run_id = trained[key][0] if key in trained else f"r{len(runs):03d}"
            trained.setdefault(key, (run_id, phase))
            runs.append(
                {
                    "run_id": run_id,
                    "name": run_id,
                    "status": "FINISHED",
                    "phase": phase,
                    "model": MODEL,
                    **{key: str(value) for key, value in config.items()},
                    "num_steps": "300",
                    "seed": str(seed),
                    "is_base": is_base,
                    "varied": ",".join(f"{v:g}" for v in knobs.values()) or "base",
                    "point": point,
                    "start_time": len(runs),
                    "reused_from": reused_from,
                }
            )
            if reused_from:
                continue
            for i, step in enumerate(STEPS):
                metrics.append((run_id, "eval/loss_total_unweighted", step, 0.9 + 1.5 * np.exp(-i)))
                metrics.append((run_id, "eval/mAP_50", step, final_map * (1 - np.exp(-i - 1))))
    return StudyRuns(
        "s", pd.DataFrame(runs).set_index("run_id"), pd.DataFrame(metrics, columns=["run_id", "key", "step", "value"])
    )


PLAN = [
    ("weights", {}, [0.60, 0.62, 0.58], -1, True),
    ("weights", {"classification_weight": 0.5}, [0.80, 0.82, 0.79], 1, False),  # clearly better, confirmed
    ("weights", {"localization_weight": 0.5}, [0.55], 0, False),
    ("batch", {"classification_weight": 0.5}, [0.80, 0.82, 0.79], -1, False),  # the new incumbent, reused
    ("batch", {"classification_weight": 0.5, "batch_size": 5}, [0.70], 0, False),
]


def test_each_phase_starts_from_the_previous_decision():
    decisions = decide_study(study_tables(study(PLAN)).summaries, DecisionSettings())
    weights, batch = decisions[("weights", MODEL)], decisions[("batch", MODEL)]
    assert weights.outcome == "switched" and batch.incumbent == weights.winner
    assert batch.outcome == "kept"


def test_the_same_runs_in_shuffled_order_give_the_same_tables():
    tables = study_tables(study(PLAN))
    runs = study(PLAN)
    generator = np.random.default_rng(1)
    order = generator.permutation(len(runs.runs))
    shuffled = StudyRuns("s", runs.runs.iloc[order], runs.metrics.sample(frac=1.0, random_state=1))
    again = study_tables(shuffled)
    for key, table in tables.ranked.items():
        assert list(again.ranked[key]["config_key"]) == list(table["config_key"])
        assert again.decisions[key].sentence == tables.decisions[key].sentence
    assert list(again.finals["config_key"]) == list(tables.finals["config_key"])


def test_the_final_pick_is_never_worse_than_the_base_and_the_table_says_by_how_much():
    tables = study_tables(study(PLAN))
    final = tables.base_final[tables.base_final["Model"].str.endswith("(final)")].iloc[0]
    assert final["Δ mAP@0.5 (last evaluation) vs base"] > 0 and final["p (final better)"] < 0.05
    weights_table = tables.ranked[("weights", MODEL)]
    assert list(weights_table["role"])[0] == "challenger, carried on"
    assert bool(weights_table["best_group"].iloc[0]) and not weights_table["best_group"].iloc[-1]


def test_a_phase_table_without_finished_runs_is_empty():
    tables = study_tables(study(PLAN))
    decision = tables.decisions[("batch", MODEL)]
    empty = tables.summaries.iloc[:0]
    assert phase_table(empty, decision, DecisionSettings()).empty
