"""The study's tables, from run summaries: per-phase configuration rankings at the flatten point,
the recall table, finalists, the final pick and the base-vs-final table. Pure pandas."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from burgerfries.report.analysis_settings import AnalysisSettings
from burgerfries.report.configurations import add_configurations
from burgerfries.report.selection import (
    DEFAULT_RULE,
    FINISHED,
    NOISE_COLUMNS,
    Criterion,
    fair_rule,
    loss_basis,
    noise_floor,
    pick_stability,
    rank_configurations,
    rank_runs,
)
from burgerfries.report.study import StudyRuns
from burgerfries.report.summary import STEP_COLUMNS, summarize_run

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
    "wrong_detection_rate",
    "steps_per_sec",
    "reason",
]
UNRANKED_COLUMNS = ["phase", "model", "varied", "run", "name", "status"]
BASE_FINAL_COLUMNS = {
    "mAP_50": "mAP@0.5",
    "wrong_detection_rate": "wrong detections per image",
    "eval_loss_unweighted": "eval loss (unweighted)",
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
    """Phases in the order they ran (their first own run's start time: a run reused from an earlier
    phase started before the phase did), whatever they are called."""
    if "start_time" not in summaries:
        return list(dict.fromkeys(summaries["phase"]))
    own = summaries[summaries["reused_from"] == ""] if "reused_from" in summaries else summaries
    order = list(own.groupby("phase", sort=False)["start_time"].min().sort_values(kind="stable").index)
    return order + [phase for phase in dict.fromkeys(summaries["phase"]) if phase not in order]


def rank_groups(
    summaries: pd.DataFrame, rule: tuple[Criterion, ...] = DEFAULT_RULE
) -> dict[tuple[str, str], pd.DataFrame]:
    """{(phase, model): ranked configurations}, phases in the order they ran; every phase is judged
    separately for each model."""
    groups = {}
    for phase in phase_order(summaries):
        for model, members in summaries[summaries["phase"] == phase].groupby("model", sort=False):
            ranked = rank_configurations(members, rule)
            for column in STEP_COLUMNS:
                if column in ranked:
                    ranked[column] = ranked[column].astype("Int64")
            groups[(phase, model)] = ranked
    return groups


def unranked_runs(summaries: pd.DataFrame) -> pd.DataFrame:
    """Runs left out of every ranking because they did not finish (KILLED, FAILED, RUNNING)."""
    return summaries[summaries["status"] != FINISHED][UNRANKED_COLUMNS]


def finalists(groups: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Each (phase, model) winner, one row each, indexed by its representative run. A run that
    represents the winner of two phases (reused by the later one) is kept once, as the later
    phase's winner (which has measured it with at least as many runs)."""
    rows = [ranked.iloc[0].rename(ranked.iloc[0]["run_id"]) for ranked in groups.values() if len(ranked)]
    frame = pd.DataFrame(rows)
    return frame[~frame.index.duplicated(keep="last")] if len(frame) else frame


def final_per_model(
    groups: dict[tuple[str, str], pd.DataFrame],
    rule: tuple[Criterion, ...] = DEFAULT_RULE,
    summaries: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The final pick for each model: its phase winners ranked by the same rule (noise-aware with
    the model's noise floor, from `summaries`), with `stability`: the share of resamples in which
    the pick still comes first (`pick_stability`; None without a noise floor)."""
    chosen = finalists(groups)
    if chosen.empty:
        return chosen
    chosen = chosen.assign(finalist=chosen["phase"].astype(str) + " " + chosen["varied"].astype(str))
    picks = []
    for model, members in chosen.groupby("model", sort=False):
        noise = noise_floor(summaries[summaries["model"] == model]) if summaries is not None else {}
        basis = loss_basis(members)  # finalists of different phases may differ in loss weights
        fair = fair_rule(rule, basis)
        ranked = rank_runs(
            members.rename(columns={"reason": "phase_reason"}).drop(columns=["rank"]),
            fair,
            label_column="finalist",
            noise=noise,
        )
        pick = ranked.iloc[:1].copy().assign(loss_basis=basis)
        if len(members) == 1:  # one finalist: why it won its phase is the reason, and its stability there
            pick["reason"] = pick["phase_reason"]
            phase_ranking = groups[(pick["phase"].iloc[0], model)]
            pick["stability"] = pick_stability(
                phase_ranking, fair_rule(rule, phase_ranking["loss_basis"].iloc[0]), noise
            )
        else:
            pick["stability"] = pick_stability(ranked, fair, noise, label_column="finalist")
        picks.append(pick)
    return pd.concat(picks)


def with_intervals(frame: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """For display: each quantity with a confidence interval as "mean ± half-width" where its
    configuration has two or more runs (the `…_ci` columns), else the plain value."""
    shown = frame.copy()
    for column in NOISE_COLUMNS:
        if column in shown and f"{column}_ci" in frame:
            shown[column] = [
                "—"
                if pd.isna(value)
                else (f"{value:.{digits}f}" if pd.isna(ci) else f"{value:.{digits}f} ± {ci:.{digits}f}")
                for value, ci in zip(frame[column], frame[f"{column}_ci"])
            ]
    return shown


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
            entry = {"Model": f"{model} ({kind})", "configuration": configuration(row), "runs": row.get("runs", 1)}
            for column, title in BASE_FINAL_COLUMNS.items():
                entry[title] = row.get(column, float("nan"))
                if column in NOISE_COLUMNS:  # the 95 % confidence interval's half-width (NaN: one run)
                    entry[f"{title} ±"] = row.get(f"{column}_ci", float("nan"))
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


@dataclass
class StudyTables:
    """Every decision of a study as tables: what the sweep records and the report shows."""

    summaries: pd.DataFrame  # one row per run, read at its flatten point
    ranked: dict[tuple[str, str], pd.DataFrame]  # (phase, model) → ranked configurations
    finals: pd.DataFrame  # the final pick per model, indexed by its representative run
    base_final: pd.DataFrame  # base and final configuration of each model


def study_tables(
    study: StudyRuns, rule: tuple[Criterion, ...] = DEFAULT_RULE, analysis: AnalysisSettings = AnalysisSettings()
) -> StudyTables:
    """A study's runs → its rankings, final picks and base-vs-final table."""
    summaries = summarize_runs(study.runs, study.metrics, analysis)
    ranked = rank_groups(summaries, rule)
    finals = final_per_model(ranked, rule, summaries)
    return StudyTables(summaries, ranked, finals, base_vs_final(ranked, finals))
