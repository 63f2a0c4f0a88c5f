"""What a sweep does next, answered from its decision tables: the configuration each phase carries
on (with its representative run, the outcome and why), and which configurations of a phase earn
more seeds before it can be decided. The sweep asks after each look and each phase; the report
renders the same tables, so the two never disagree.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from burgerfries.decision.chain import finished_runs
from burgerfries.decision.phase import chosen_reason
from burgerfries.decision.settings import KEPT, SWITCHED
from burgerfries.decision.tables import DecisionTables, carried_row
from burgerfries.keys import CONFIG_KEY, KNOB_TYPES, STUDY_KNOBS
from burgerfries.runs.configurations import is_missing


def knob_config(row: pd.Series) -> dict[str, Any]:
    """The study's knobs of a summary row, typed as a study YAML types them."""
    config = {knob: KNOB_TYPES[knob](row[knob]) for knob in STUDY_KNOBS}
    if not is_missing(row.get("input_size")):  # (runs from before the input-size knob lack it)
        config["input_size"] = int(float(row["input_size"]))
    if not is_missing(row.get("epochs")):  # a length in passes (runs given steps have none)
        config["epochs"] = float(row["epochs"])
    return config


def carried_on(tables: DecisionTables, phase: str, model: str) -> dict[str, Any] | None:
    """What the phase decided for `model`: the configuration carried on, its representative run,
    kept, switched or (a race) carried, and why; None when no run of the phase finished."""
    row = carried_row(tables, phase, model)
    if row is None:
        return None
    decision = tables.decisions[(phase, model)]
    return {
        "run_id": row["run_id"],
        "config": knob_config(row),
        "outcome": decision.outcome if decision.race else KEPT if row[CONFIG_KEY] == decision.incumbent else SWITCHED,
        "reason": chosen_reason(decision, tables.settings),
    }


def confirmation_entries(
    tables: DecisionTables, phase: str, model: str, searched: tuple[str, ...] = ()
) -> tuple[list[dict[str, Any]], int]:
    """The configurations of a phase that earned more seeds, as (their entries with the seeds they
    already have, the run count to bring each to): the challengers that earned confirmation (to
    the incumbent's run count), else a close call's leader and the incumbent (to its next look's
    count, `decision.phase.next_look`). An entry names its grid point, or — for a search phase,
    `searched` its knobs — the values it was sampled with."""
    decision = tables.decisions.get((phase, model))
    if decision is None or not (decision.to_confirm or decision.extend):
        return [], 0
    finished = finished_runs(tables.summaries)
    own = finished[finished["model"] == model]
    here = own[own["phase"] == phase]
    target = int((here[CONFIG_KEY] == decision.incumbent).sum())
    keys = decision.to_confirm
    if not keys:
        keys, target = decision.extend, decision.extend_to
    entries = []
    for key in keys:
        row = here[here[CONFIG_KEY] == key].iloc[0]
        if searched:
            entry: dict[str, Any] = {name: KNOB_TYPES[name](row[name]) for name in searched}
        else:
            entry = {"point": int(float(row["point"]))}
        seeds = {int(float(seed)) for seed in own.loc[own[CONFIG_KEY] == key, "seed"]}
        entries.append({**entry, "seeds": seeds})
    return entries, target
