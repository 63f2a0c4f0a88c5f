"""Between phases: which models a sweep goes on tuning. A model whose base leaves less room to the
metric's ceiling than a phase could detect (`decision/headroom.py`) stops, when the sweep
definition says `stop_when_saturated`, and the sweep run records why."""

from __future__ import annotations

from collections.abc import Callable

from optuna.storages import RDBStorage

from burgerfries.decision.headroom import nothing_to_find
from burgerfries.decision.tables import DecisionTables
from burgerfries.jobs.sweep.runs import SweepRuns
from burgerfries.sweep.plan import SweepPlan
from burgerfries.sweep.storage import once


def still_tuned(
    plan: SweepPlan,
    storage: RDBStorage,
    runs: SweepRuns,
    read_tables: Callable[[], DecisionTables],
    parent_id: str,
    models: list[str],
    before: str,
) -> list[str]:
    """`models` without those whose base, as the sweep's runs so far show it (`read_tables()`),
    leaves nothing a phase could detect. One worker decides for all (`once`) before phase
    `before`; each stop is printed and recorded on the sweep run."""
    kept = []
    for model in models:

        def decide(model: str = model) -> str:
            reason = nothing_to_find(read_tables(), model) or ""
            if reason:
                runs.record_nothing_to_find(parent_id, model, reason)
            return reason

        what = f"decide whether {model} is tuned further"
        reason = once(storage, plan.once_name(f"{before}:{model}:headroom"), decide, what)
        if reason:
            print(f"{model}: {reason}; its later phases are not run", flush=True)
        else:
            kept.append(model)
    return kept
