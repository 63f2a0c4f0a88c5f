"""The study's tables, from run summaries: per-phase comparison at the flatten point, the recall
table, finalists and the base-vs-final table. Pure pandas."""

from __future__ import annotations

import pandas as pd

from burgerfries.report.selection import DEFAULT_RULE, Criterion, rank_runs
from burgerfries.report.summary import summarize_run

PHASE_TABLE_COLUMNS = ["rank", "varied", "run", "read_step", "flatten_status", "map_plateau_step", "eval_loss",
                       "train_loss", "gap", "mAP_50", "avg_recall", "wrong_detections", "steps_per_sec", "reason"]
BASE_FINAL_COLUMNS = {"mAP_50": "mAP@0.5", "eval_loss": "eval_loss", "train_loss": "train_loss",
                      "gap": "(eval − train) loss", "avg_recall": "avg recall", "steps_per_sec": "steps/s"}


def summarize_runs(runs: pd.DataFrame, metrics: pd.DataFrame, epsilon: float = 0.05) -> pd.DataFrame:
    rows = {run_id: summarize_run(metrics[metrics["run_id"] == run_id], epsilon) for run_id in runs.index}
    return runs.join(pd.DataFrame.from_dict(rows, orient="index"))


def varied_label(row: pd.Series) -> str:
    if row.get("varied"):
        return str(row["varied"])
    phase = str(row.get("phase", ""))
    if phase == "weights":
        return f"{row['classification_weight']}:{row['localization_weight']}"
    if phase == "batch":
        return str(row["batch_size"])
    if phase == "lr":
        return str(row["learning_rate"])
    return str(row.get("name", ""))


def rank_groups(summaries: pd.DataFrame, rule: tuple[Criterion, ...] = DEFAULT_RULE) -> dict[tuple[str, str], pd.DataFrame]:
    """{(phase, model): ranked runs} — every phase is judged separately for each model."""
    groups = {}
    for (phase, model), members in summaries.groupby(["phase", "model"], sort=False):
        ranked = rank_runs(members.assign(varied=members.apply(varied_label, axis=1),
                                          run=[run_id[:8] for run_id in members.index]), rule)
        for column in ("read_step", "flatten_step", "map_plateau_step"):
            ranked[column] = ranked[column].astype("Int64")
        groups[(phase, model)] = ranked
    return groups


def finalists(groups: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Each (phase, model) winner, one row each."""
    rows = [ranked.iloc[0].rename(ranked.index[0]) for ranked in groups.values() if len(ranked)]
    return pd.DataFrame(rows)


def final_per_model(groups: dict[tuple[str, str], pd.DataFrame], rule: tuple[Criterion, ...] = DEFAULT_RULE
                    ) -> pd.DataFrame:
    """The final pick for each model: the finalists ranked by the same rule."""
    chosen = finalists(groups)
    if chosen.empty:
        return chosen
    picks = []
    for _, members in chosen.groupby("model", sort=False):
        pick = rank_runs(members.rename(columns={"reason": "phase_reason"}).drop(columns=["rank"]), rule).iloc[:1].copy()
        if len(members) == 1:  # one finalist: why it won its phase is the reason
            pick["reason"] = pick["phase_reason"]
        picks.append(pick)
    return pd.concat(picks)


def base_vs_final(summaries: pd.DataFrame, finals: pd.DataFrame) -> pd.DataFrame:
    """The original study's last table: base and final configuration of each model."""
    rows = []
    for model, final in finals.groupby("model", sort=False):
        base = summaries[(summaries["model"] == model) & summaries["is_base"]]
        for label, row in (("base", base.iloc[0] if len(base) else None), ("final", final.iloc[0])):
            if row is None:
                continue
            entry = {"Model": f"{model} ({label})", "configuration": configuration(row)}
            entry.update({title: row[column] for column, title in BASE_FINAL_COLUMNS.items()})
            rows.append(entry)
    return pd.DataFrame(rows)


def configuration(row: pd.Series) -> str:
    return (f"batch {row['batch_size']}, lr {row['learning_rate']}, "
            f"weights {row['classification_weight']}:{row['localization_weight']}")


def recall_table(ranked: dict[tuple[str, str], pd.DataFrame], phase: str) -> pd.DataFrame:
    """Rows = the phase's varied value; per model AR@1, AR@10, AR@100 and wrong detection yes/no."""
    parts = []
    for (group_phase, model), members in ranked.items():
        if group_phase != phase:
            continue
        table = members.set_index("varied")[["AR_1", "AR_10", "AR_100", "wrong_detections"]].copy()
        table["wrong_detections"] = table["wrong_detections"].map(lambda n: "yes" if n and n > 0 else "no")
        table.columns = pd.MultiIndex.from_product([[model], ["AR@1", "AR@10", "AR@100", "wrong detection"]])
        parts.append(table)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame()
