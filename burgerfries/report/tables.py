"""The study's tables, from run summaries: per-phase configuration rankings at the flatten point,
the recall table, finalists, the final pick and the base-vs-final table. Pure pandas."""

from __future__ import annotations

import pandas as pd

from burgerfries.report.analysis_settings import AnalysisSettings
from burgerfries.report.configurations import add_configurations
from burgerfries.report.selection import (
    DEFAULT_RULE,
    FINISHED,
    Criterion,
    fair_rule,
    loss_basis,
    rank_configurations,
    rank_runs,
)
from burgerfries.report.summary import summarize_run

PHASE_TABLE_COLUMNS = [
    "rank",
    "varied",
    "runs",
    "run",
    "read_step",
    "flatten_status",
    "map_plateau_step",
    "eval_loss",
    "train_loss",
    "gap",
    "eval_loss_unweighted",
    "gap_unweighted",
    "mAP_50",
    "avg_recall",
    "wrong_detections",
    "steps_per_sec",
    "reason",
]
UNRANKED_COLUMNS = ["phase", "model", "varied", "run", "name", "status"]
BASE_FINAL_COLUMNS = {
    "mAP_50": "mAP@0.5",
    "eval_loss": "eval_loss",
    "train_loss": "train_loss",
    "gap": "(eval − train) loss",
    "avg_recall": "avg recall",
    "steps_per_sec": "steps/s",
}


def summarize_runs(
    runs: pd.DataFrame, metrics: pd.DataFrame, analysis: AnalysisSettings = AnalysisSettings()
) -> pd.DataFrame:
    """One row per run: its configuration and label, and the quantities read at its flatten point."""
    rows = {run_id: summarize_run(metrics[metrics["run_id"] == run_id], analysis) for run_id in runs.index}
    summaries = add_configurations(runs).join(pd.DataFrame.from_dict(rows, orient="index"))
    summaries["run"] = [str(run_id)[:8] for run_id in summaries.index]
    return summaries


def phase_order(summaries: pd.DataFrame) -> list[str]:
    """Phases in the order they ran (their first run's start time), whatever they are called."""
    if "start_time" not in summaries:
        return list(dict.fromkeys(summaries["phase"]))
    return list(summaries.groupby("phase", sort=False)["start_time"].min().sort_values().index)


def rank_groups(
    summaries: pd.DataFrame, rule: tuple[Criterion, ...] = DEFAULT_RULE
) -> dict[tuple[str, str], pd.DataFrame]:
    """{(phase, model): ranked configurations}, phases in the order they ran; every phase is judged
    separately for each model."""
    groups = {}
    for phase in phase_order(summaries):
        for model, members in summaries[summaries["phase"] == phase].groupby("model", sort=False):
            ranked = rank_configurations(members, rule)
            for column in ("read_step", "flatten_step", "map_plateau_step"):
                if column in ranked:
                    ranked[column] = ranked[column].astype("Int64")
            groups[(phase, model)] = ranked
    return groups


def unranked_runs(summaries: pd.DataFrame) -> pd.DataFrame:
    """Runs left out of every ranking because they did not finish (KILLED, FAILED, RUNNING)."""
    return summaries[summaries["status"] != FINISHED][UNRANKED_COLUMNS]


def finalists(groups: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Each (phase, model) winner, one row each, indexed by its representative run."""
    rows = [ranked.iloc[0].rename(ranked.iloc[0]["run_id"]) for ranked in groups.values() if len(ranked)]
    return pd.DataFrame(rows)


def final_per_model(
    groups: dict[tuple[str, str], pd.DataFrame], rule: tuple[Criterion, ...] = DEFAULT_RULE
) -> pd.DataFrame:
    """The final pick for each model: its phase winners ranked by the same rule."""
    chosen = finalists(groups)
    if chosen.empty:
        return chosen
    chosen = chosen.assign(finalist=chosen["phase"].astype(str) + " " + chosen["varied"].astype(str))
    picks = []
    for _, members in chosen.groupby("model", sort=False):
        basis = loss_basis(members)  # finalists of different phases may differ in loss weights
        pick = (
            rank_runs(
                members.rename(columns={"reason": "phase_reason"}).drop(columns=["rank"]),
                fair_rule(rule, basis),
                label_column="finalist",
            )
            .iloc[:1]
            .copy()
            .assign(loss_basis=basis)
        )
        if len(members) == 1:  # one finalist: why it won its phase is the reason
            pick["reason"] = pick["phase_reason"]
        picks.append(pick)
    return pd.concat(picks)


def base_vs_final(groups: dict[tuple[str, str], pd.DataFrame], finals: pd.DataFrame) -> pd.DataFrame:
    """The original study's last table: base and final configuration of each model (the base as
    measured in the first phase that trained it)."""
    rows = []
    for model, final in finals.groupby("model", sort=False):
        base = next(
            (
                ranked[ranked["is_base"].astype(bool)].iloc[0]
                for (_, group_model), ranked in groups.items()
                if group_model == model and "is_base" in ranked and ranked["is_base"].astype(bool).any()
            ),
            None,
        )
        for kind, row in (("base", base), ("final", final.iloc[0])):
            if row is None:
                continue
            entry = {"Model": f"{model} ({kind})", "configuration": configuration(row)}
            entry.update({title: row[column] for column, title in BASE_FINAL_COLUMNS.items()})
            rows.append(entry)
    return pd.DataFrame(rows)


def configuration(row: pd.Series) -> str:
    return (
        f"batch {row['batch_size']}, lr {row['learning_rate']}, "
        f"weights {row['classification_weight']}:{row['localization_weight']}"
    )


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
