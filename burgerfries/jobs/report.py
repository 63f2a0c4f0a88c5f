"""The `report` job: a run set read from the tracking store (`tracking/reader.py`), the HTML report
rendered from it, and attached to the sweep's parent run when there is one.

A report can be rebuilt later from any machine that reaches the tracking store, so nothing here
reads local files other than what MLflow returns.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow

from burgerfries.decision.tables import DecisionTables
from burgerfries.jobs.finalists import finalist_diagnostics
from burgerfries.keys import Tag
from burgerfries.names import slug
from burgerfries.report.html import Report, build_report
from burgerfries.runs.run_set import RunSet
from burgerfries.tracking.reader import analysis_of, read_run_set

DEFAULT_OUT = Path("reports") / "out"


def write_report(run_set: RunSet, computed: DecisionTables | None = None, out: Path | None = None) -> Report:
    """The HTML report of `run_set` (with `computed`, its tables, when the caller has them), attached
    to the sweep's parent run when there is one."""
    analysis, decision = analysis_of(run_set.parent_run_id)
    with tempfile.TemporaryDirectory() as scratch:
        built = build_report(
            run_set,
            Path(out) if out else DEFAULT_OUT / slug(run_set.title),
            decision,
            analysis,
            diagnostics_of=lambda run: finalist_diagnostics(run, analysis.score_threshold, Path(scratch)),
            computed=computed,
        )
    if run_set.parent_run_id:
        client = mlflow.MlflowClient()
        client.log_artifacts(run_set.parent_run_id, str(built.path.parent), "report")
        # The run's description in the MLflow UI: the answer, without opening the report
        client.set_tag(run_set.parent_run_id, Tag.NOTE, built.headline)
    return built


def report(experiment: str | None = None, run_id: str | None = None, out: Path | None = None) -> Report:
    """Build the report of an experiment or of a sweep (its parent run), and attach it to the
    parent run when there is one."""
    return write_report(read_run_set(experiment, run_id), out=out)
