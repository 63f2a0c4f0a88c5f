"""The finalists: each model's base run and final run (each configuration's representative, its
best run), once each — one finalist when the base is the final."""

import pandas as pd

from burgerfries.decision.chain import decide_chains
from burgerfries.decision.finalists import finalists
from burgerfries.decision.settings import DecisionSettings
from burgerfries.decision.tables import DecisionTables, final_picks, phase_table

SSD, FPN = "ssd_mobilenet_v2_320x320", "ssd_mobilenet_v2_fpnlite_320x320"
SHORT = {SSD: "ssd", FPN: "fpn"}
COLUMN = DecisionSettings().metric.column


def tables_of(rows: list[tuple[str, str, str, float, list[float], bool]]) -> DecisionTables:
    """rows: (model, phase, config key, learning rate, value per seed, is_base)."""
    records, index = [], []
    for start, (model, phase, key, rate, values, is_base) in enumerate(rows):
        for seed, value in enumerate(values):
            index.append(f"{SHORT[model]}-{key}-{seed}")
            records.append(
                {
                    "model": model,
                    "phase": phase,
                    "config_key": key,
                    "varied": key,
                    "seed": seed,
                    "status": "FINISHED",
                    "is_base": is_base,
                    "order": -1 if is_base else 0,
                    "start_time": start,
                    "batch_size": "10",  # params, as the tracking reader reads them
                    "learning_rate": str(rate),
                    "classification_weight": "1.0",
                    "localization_weight": "1.0",
                    COLUMN: value,
                }
            )
    summaries = pd.DataFrame(records, index=index)
    settings = DecisionSettings()
    decisions = decide_chains(summaries, settings)
    ranked = {
        (phase, model): phase_table(
            summaries[(summaries["phase"] == phase) & (summaries["model"] == model)], decision, settings
        )
        for (phase, model), decision in decisions.items()
    }
    finals = final_picks(decisions, ranked, settings)
    return DecisionTables(summaries, settings, decisions, ranked, finals, pd.DataFrame())


def test_a_switched_model_has_its_base_and_its_final_a_kept_one_a_single_finalist():
    tables = tables_of(
        [
            (SSD, "lr", "base", 0.04, [0.50, 0.52, 0.51], True),
            (SSD, "lr", "fast", 0.08, [0.70, 0.72, 0.71], False),
            (FPN, "lr", "base", 0.04, [0.80, 0.82, 0.81], True),
            (FPN, "lr", "fast", 0.08, [0.60, 0.62, 0.61], False),
        ]
    )
    found = finalists(tables)
    assert [(f.model, f.kinds, f.run_id) for f in found] == [
        (SSD, ["base"], "ssd-base-1"),  # each configuration's best run represents it
        (SSD, ["final"], "ssd-fast-1"),
        (FPN, ["base", "final"], "fpn-base-1"),  # kept: one run, both roles
    ]
    assert found[1].configuration == "batch 10, lr 0.08, weights 1.0:1.0"


def test_no_finals_no_finalists():
    empty = DecisionTables(pd.DataFrame(), DecisionSettings(), {}, {}, pd.DataFrame(), pd.DataFrame())
    assert finalists(empty) == []
