"""The report's own tables, rendered from the decisions (`decision/tables.py`): the columns a phase
table shows, the runs left out of every decision, and the recall table."""

from __future__ import annotations

import pandas as pd

from burgerfries.decision.chain import FINISHED

PHASE_TABLE_COLUMNS = [
    "rank",
    "varied",
    "role",
    "runs",
    "run",
    "read_step",
    "flatten_status",
    "last_mAP_50",
    "mAP_50",
    "eval_loss_unweighted",
    "gap_unweighted",
    "avg_recall",
    "wrong_detection_rate",
    "delta",
    "delta_low",
    "delta_high",
    "p",
    "verdict",
    "best_group",
    "steps_per_sec",
    "reason",
]
UNRANKED_COLUMNS = ["phase", "model", "varied", "run", "name", "status", "why"]


def unranked_runs(summaries: pd.DataFrame) -> pd.DataFrame:
    """Runs left out of every decision because they did not finish (KILLED, FAILED, RUNNING)."""
    unranked = summaries[summaries["status"] != FINISHED]
    if "why" not in unranked:
        unranked = unranked.assign(why="")
    return unranked[UNRANKED_COLUMNS]


def recall_table(ranked: dict[tuple[str, str], pd.DataFrame], phase: str) -> pd.DataFrame:
    """Rows = the phase's configurations; per model AR@1, AR@10, AR@100 and wrong detection yes/no."""
    parts = []
    for (group_phase, model), members in ranked.items():
        if group_phase != phase or members.empty:
            continue
        table = members.set_index("varied")[["AR_1", "AR_10", "AR_100", "wrong_detections"]].copy()
        table = table[~table.index.duplicated()]  # one row per label, whatever a user named things
        table["wrong_detections"] = table["wrong_detections"].map(lambda n: "yes" if n and n > 0 else "no")
        table.columns = pd.MultiIndex.from_product([[model], ["AR@1", "AR@10", "AR@100", "wrong detection"]])
        parts.append(table)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame()
