"""A sweep's decisions, from its finished runs through the report's tables (`report/tables.py`):
the winner each phase carries into the next, and the final pick per model. The sweep records
them on its runs; the report shows the same tables, so the two never disagree.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from burgerfries.jobs.report import analysis_of, read_runs, read_study
from burgerfries.keys import KNOB_TYPES, STUDY_KNOBS
from burgerfries.report.selection import rank_configurations, rule_from_names
from burgerfries.report.study import StudyRuns
from burgerfries.report.tables import StudyTables, study_tables, summarize_runs
from burgerfries.sweep.definition import Phase, StudyDefinition
from burgerfries.sweep.trials import varied_label


def phase_winner(
    definition: StudyDefinition, phase: Phase, configs: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The phase's best configuration for one model, from its runs ({run id: configuration with
    seed}), ranked exactly as the report ranks it; None when no run finished."""
    if not configs:
        return None
    runs, metrics = read_runs(list(configs))
    runs = runs.assign(phase=phase.name, varied=[varied_label(phase, configs[run_id]) for run_id in runs.index])
    ranked = rank_configurations(
        summarize_runs(runs, metrics, definition.analysis), rule_from_names(definition.selection)
    )
    winner_id = ranked["run_id"].iloc[0]
    config = {key: value for key, value in configs[winner_id].items() if key != "seed"}
    return {"run_id": winner_id, "config": config, "reason": ranked["reason"].iloc[0]}


def final_decisions(parent_run_id: str) -> tuple[StudyRuns, StudyTables]:
    """A finished sweep's runs and its tables, whose `finals` are the final pick per model."""
    study = read_study(run_id=parent_run_id)
    analysis, rule = analysis_of(parent_run_id)
    return study, study_tables(study, rule, analysis)


def final_config(row: pd.Series) -> dict[str, Any]:
    """The study's knobs of a final pick's row, typed as a study YAML types them."""
    return {knob: KNOB_TYPES[knob](row[knob]) for knob in STUDY_KNOBS}
