"""The `sweep` job and what serves it: the job itself (`job.py`: the plan, the phases in order, the
final picks and the report), a worker's trial runner (`trials.py`), the sweep's MLflow bookkeeping
(`runs.py`), the local worker processes (`workers.py`) and the registration of the final picks
(`registry.py`)."""

from burgerfries.jobs.sweep.job import (
    SweepReportError,
    SweepResult,
    SweepSettings,
    SweepWorkersError,
    resolve_plan,
    run_sweep,
    sweep_tables,
)

__all__ = [
    "SweepReportError",
    "SweepResult",
    "SweepSettings",
    "SweepWorkersError",
    "resolve_plan",
    "run_sweep",
    "sweep_tables",
]
