"""A sweep's decisions, read from its runs through the report's tables (`report/tables.py`): which
challengers of a phase earn confirmation seeds, what each phase carries on, and the final pick
per model. The sweep records them on its runs; the report computes the same tables from the same
runs, so the two never disagree.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from burgerfries.decision.phase import chosen_reason
from burgerfries.decision.settings import KEPT, SWITCHED
from burgerfries.decision.study import finished_runs
from burgerfries.jobs.report import analysis_of, read_runs, read_study
from burgerfries.keys import CONFIG_KEY, KNOB_TYPES, STUDY_KNOBS
from burgerfries.report.analysis_settings import AnalysisSettings
from burgerfries.report.study import StudyRuns
from burgerfries.report.tables import StudyTables, carried_row, study_tables, summarize_runs
from burgerfries.sweep.definition import Phase


def sweep_tables(parent_run_id: str) -> tuple[StudyRuns, StudyTables]:
    """The sweep's runs so far and their tables (decisions, phase tables, final picks)."""
    study = read_study(run_id=parent_run_id)
    analysis, decision = analysis_of(parent_run_id)
    return study, study_tables(study, decision, analysis)


def run_value(run_id: str, column: str, analysis: AnalysisSettings) -> float:
    """`column` of one finished run's summary (`last_…` at its last evaluation, else at its read
    point), as the report reads it: an Optuna trial's value."""
    runs, metrics = read_runs([run_id])
    return float(summarize_runs(runs, metrics, analysis)[column].iloc[0])


def knob_config(row: pd.Series) -> dict[str, Any]:
    """The study's knobs of a summary row, typed as a study YAML types them."""
    return {knob: KNOB_TYPES[knob](row[knob]) for knob in STUDY_KNOBS}


def carried_on(tables: StudyTables, phase: str, model: str) -> dict[str, Any] | None:
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


def confirmation_entries(tables: StudyTables, phase: Phase, model: str) -> tuple[list[dict[str, Any]], int]:
    """The configurations of a phase that earned more seeds, as (their entries with the seeds they
    already have, the run count to bring each to): the challengers that earned confirmation (to
    the incumbent's run count), else a close call's leader and the incumbent (to its next look's
    count, `decision.phase.next_look`)."""
    decision = tables.decisions.get((phase.name, model))
    if decision is None or not (decision.to_confirm or decision.extend):
        return [], 0
    finished = finished_runs(tables.summaries)
    own = finished[finished["model"] == model]
    here = own[own["phase"] == phase.name]
    target = int((here[CONFIG_KEY] == decision.incumbent).sum())
    keys = decision.to_confirm
    if not keys:
        keys, target = decision.extend, decision.extend_to
    entries = []
    for key in keys:
        row = here[here[CONFIG_KEY] == key].iloc[0]
        if phase.is_grid:
            entry: dict[str, Any] = {"point": int(float(row["point"]))}
        else:
            entry = {name: KNOB_TYPES[name](row[name]) for name in phase.search_space}
        seeds = {int(float(seed)) for seed in own.loc[own[CONFIG_KEY] == key, "seed"]}
        entries.append({**entry, "seeds": seeds})
    return entries, target
