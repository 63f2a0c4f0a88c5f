"""The study's tables, from run summaries: each phase's decision and its configurations ranked on
the decision metric, the final pick per model, the base-vs-final table and the recall table.
Pure pandas; the sweep records the same decisions that the report shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from burgerfries.report.analysis_settings import AnalysisSettings
from burgerfries.report.configurations import add_configurations
from burgerfries.report.decision import (
    INCONCLUSIVE,
    WORSE,
    Comparison,
    DecisionSettings,
    PhaseDecision,
    chosen,
    chosen_reason,
    compare,
    decide_phase,
    pooled_noise,
    rank_by_objective,
)
from burgerfries.report.study import StudyRuns
from burgerfries.report.summary import STEP_COLUMNS, summarize_run

FINISHED = "FINISHED"
# Quantities averaged per configuration with a confidence interval: the decision metrics and the
# report's headline numbers.
NOISE_COLUMNS = (
    "last_mAP_50",
    "mAP_50",
    "eval_loss",
    "eval_loss_unweighted",
    "gap",
    "gap_unweighted",
    "avg_recall",
    "wrong_detection_rate",
)
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
UNRANKED_COLUMNS = ["phase", "model", "varied", "run", "name", "status"]
BASE_FINAL_COLUMNS = {
    "last_mAP_50": "mAP@0.5 (last evaluation)",
    "mAP_50": "mAP@0.5 (read point)",
    "wrong_detection_rate": "wrong detections per image",
    "eval_loss_unweighted": "eval loss (unweighted)",
    "gap_unweighted": "(eval − train) loss, unweighted",
    "avg_recall": "avg recall",
    "steps_per_sec": "steps/s",
}


def finished_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The rows of runs that finished (all rows when the frame has no status)."""
    return runs[runs["status"] == FINISHED] if "status" in runs else runs


def confidence_half_width(values: pd.Series) -> float:
    """Half the width of the 95 % confidence interval of the mean (Student's t); NaN under 2 values."""
    values = values.astype(float).dropna()
    if len(values) < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))


def summarize_runs(
    runs: pd.DataFrame, metrics: pd.DataFrame, analysis: AnalysisSettings = AnalysisSettings()
) -> pd.DataFrame:
    """One row per run: its configuration, label and YAML order, and the quantities at its read point."""
    rows = {run_id: summarize_run(metrics[metrics["run_id"] == run_id], analysis) for run_id in runs.index}
    summaries = add_configurations(runs).join(pd.DataFrame.from_dict(rows, orient="index"))
    summaries["run"] = [str(run_id)[:8] for run_id in summaries.index]
    # YAML order: the grid point a sweep trial trained (the incumbent, -1, first); runs without one
    # (not a sweep's) in the order they started.
    point = pd.to_numeric(summaries["point"], errors="coerce") if "point" in summaries else None
    started = summaries["start_time"] if "start_time" in summaries else pd.Series(0, index=summaries.index)
    fallback = 1e6 + started.rank(method="first").fillna(0)
    summaries["order"] = point.fillna(fallback) if point is not None else fallback
    return summaries


def phase_order(summaries: pd.DataFrame) -> list[str]:
    """Phases in the order they ran (their first own run's start time: a run reused from an earlier
    phase started before the phase did), whatever they are called."""
    if "start_time" not in summaries:
        return list(dict.fromkeys(summaries["phase"]))
    own = summaries[summaries["reused_from"] == ""] if "reused_from" in summaries else summaries
    order = list(own.groupby("phase", sort=False)["start_time"].min().sort_values(kind="stable").index)
    return order + [phase for phase in dict.fromkeys(summaries["phase"]) if phase not in order]


def models_of(summaries: pd.DataFrame) -> list[str]:
    return sorted(set(summaries["model"]), key=list(summaries["model"]).index)  # in the order they appear


def decide_study(summaries: pd.DataFrame, settings: DecisionSettings) -> dict[tuple[str, str], PhaseDecision]:
    """{(phase, model): decision}, phases in the order they ran. The first phase's incumbent is the
    base configuration; each later one, the configuration the previous decision carried on. Noise
    is pooled over the model's runs in the phases decided so far, as the sweep saw them."""
    finished = finished_runs(summaries)
    phases = phase_order(summaries)
    decisions: dict[tuple[str, str], PhaseDecision] = {}
    for model in models_of(finished):
        own = finished[finished["model"] == model]
        incumbent: str | None = None
        for index, phase in enumerate(phases):
            runs = own[own["phase"] == phase]
            if runs.empty:
                continue
            if incumbent is None:
                base = runs[runs["is_base"].astype(bool)] if "is_base" in runs else runs.iloc[:0]
                incumbent = (base if len(base) else runs.sort_values("order", kind="stable"))["config_key"].iloc[0]
            labels = dict(zip(runs["config_key"], runs["varied"]))
            noise_runs = own[own["phase"].isin(phases[: index + 1])]
            decision = decide_phase(runs, incumbent, noise_runs, settings, labels)
            decisions[(phase, model)] = decision
            incumbent = chosen(decision, settings)
    return decisions


def _per_configuration(runs: pd.DataFrame, objective_column: str, higher_is_better: bool) -> pd.DataFrame:
    """Means over each configuration's finished runs, `runs` (how many), `run_id` (its best run on
    the objective, ties by seed) and each NOISE_COLUMNS' 95 % interval half-width (`…_ci`)."""
    numeric = [c for c in runs.select_dtypes("number").columns if c not in ("rank", "seed", "order", *STEP_COLUMNS)]
    rows = {}
    for key, members in runs.groupby("config_key", sort=False):
        values = members[objective_column].astype(float)
        seeds = pd.to_numeric(members["seed"], errors="coerce") if "seed" in members else pd.Series(0, members.index)
        best = (
            pd.DataFrame({"v": -values if higher_is_better else values, "s": seeds})
            .fillna(math.inf)
            .sort_values(["v", "s"], kind="stable")
            .index[0]
        )
        row = members.loc[best].copy()
        row[numeric] = members[numeric].mean()
        row["order"] = members["order"].min()
        row["runs"] = len(members)
        row["run_id"] = best
        for column in NOISE_COLUMNS:
            if column in members:
                row[f"{column}_ci"] = confidence_half_width(members[column])
        rows[key] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    return frame.astype({column: float for column in numeric if column in frame}, errors="ignore")


def phase_table(runs: pd.DataFrame, decision: PhaseDecision, settings: DecisionSettings) -> pd.DataFrame:
    """One phase for one model: a row per configuration, best on the decision metric first, with its
    role, its difference from the incumbent (`delta` and its interval, `p`, `verdict`) and whether
    it is in the group not shown worse than the best."""
    objective = settings.metric
    per_config = _per_configuration(finished_runs(runs), objective.column, objective.higher_is_better)
    if per_config.empty:
        return per_config
    noise = decision.noise
    leader = rank_by_objective(per_config, objective, set()).iloc[0]["config_key"]
    leader_values = runs.loc[runs["config_key"] == leader, objective.column]
    best_group = {
        key
        for key in per_config["config_key"]
        if key == leader
        or compare(
            runs.loc[runs["config_key"] == key, objective.column], leader_values, objective, noise, decision.alpha
        ).verdict
        != WORSE
    }
    ranked = rank_by_objective(per_config, objective, best_group)
    roles, deltas, lows, highs, ps, verdicts, reasons = [], [], [], [], [], [], []
    for key in ranked["config_key"]:
        comparison = decision.comparisons.get(key)
        role = "incumbent" if key == decision.incumbent else "challenger"
        if key == chosen(decision, settings):
            role += ", carried on"
        if key in decision.to_confirm:
            role += ", confirmed"
        roles.append(role)
        deltas.append(comparison.delta if comparison else float("nan"))
        lows.append(comparison.low if comparison else float("nan"))
        highs.append(comparison.high if comparison else float("nan"))
        ps.append(comparison.p_better if comparison else float("nan"))
        verdicts.append(comparison.verdict if comparison else "")
        reasons.append(decision.sentence if key == decision.incumbent else _challenger_reason(comparison))
    return ranked.assign(
        role=roles, delta=deltas, delta_low=lows, delta_high=highs, p=ps, verdict=verdicts, reason=reasons
    )


def _challenger_reason(comparison) -> str:
    if comparison is None or math.isnan(comparison.delta):
        return "no finished run to compare"
    runs = f"{comparison.runs[0]} vs {comparison.runs[1]} runs"
    if math.isnan(comparison.p_better):
        return f"Δ {comparison.delta:+.4f} ({runs}); no noise estimate to test it"
    what = {INCONCLUSIVE: "not shown different from the incumbent"}.get(comparison.verdict, comparison.verdict)
    return f"{what}: Δ {comparison.delta:+.4f}, one-sided p {comparison.p_better:.2g} ({runs})"


@dataclass
class StudyTables:
    """Every decision of a study as tables: what the sweep records and the report shows."""

    summaries: pd.DataFrame  # one row per run, read at its read point
    settings: DecisionSettings
    decisions: dict[tuple[str, str], PhaseDecision]  # (phase, model) → decision, phases in order
    ranked: dict[tuple[str, str], pd.DataFrame]  # (phase, model) → its configurations (`phase_table`)
    finals: pd.DataFrame  # the final pick per model, indexed by its representative run
    base_final: pd.DataFrame  # base and final configuration of each model


def carried_row(computed: StudyTables, phase: str, model: str) -> pd.Series | None:
    """The row of the phase's table that the phase carries on for `model`; None when the phase has
    no decision, or its table lacks that configuration (a sweep from before racing)."""
    decision = computed.decisions.get((phase, model))
    if decision is None:
        return None
    table = computed.ranked[(phase, model)]
    rows = table[table["config_key"] == chosen(decision, computed.settings)]
    return rows.iloc[0] if len(rows) else None


def study_tables(
    study: StudyRuns, settings: DecisionSettings = DecisionSettings(), analysis: AnalysisSettings = AnalysisSettings()
) -> StudyTables:
    """A study's runs → its decisions, phase tables, final picks and base-vs-final table."""
    summaries = summarize_runs(study.runs, study.metrics, analysis)
    finished = finished_runs(summaries)
    decisions = decide_study(summaries, settings)
    ranked = {
        (phase, model): phase_table(
            finished[(finished["model"] == model) & (finished["phase"] == phase)], decision, settings
        )
        for (phase, model), decision in decisions.items()
    }
    finals = final_picks(decisions, ranked, settings)
    return StudyTables(
        summaries, settings, decisions, ranked, finals, base_vs_final(finished, decisions, finals, settings)
    )


def final_picks(
    decisions: dict[tuple[str, str], PhaseDecision],
    ranked: dict[tuple[str, str], pd.DataFrame],
    settings: DecisionSettings,
) -> pd.DataFrame:
    """Per model, the configuration its last phase carried on, as that phase's table shows it
    (indexed by its representative run), with the decision sentence as `reason`."""
    rows = []
    last: dict[str, tuple[str, str]] = {}
    for key in decisions:  # in phase order: the last phase of each model stays
        last[key[1]] = key
    for model, key in last.items():
        decision, table = decisions[key], ranked[key]
        winner = chosen(decision, settings)
        row = table[table["config_key"] == winner]
        if row.empty:  # carried on from an earlier phase whose configuration this one did not run
            row = next(
                (
                    t[t["config_key"] == winner]
                    for k, t in ranked.items()
                    if k[1] == model and (t["config_key"] == winner).any()
                ),
                row,
            )
        if row.empty:
            continue
        row = row.iloc[:1].copy()
        row["reason"] = chosen_reason(decision, settings)
        rows.append(row.set_index("run_id", drop=False))
    return pd.concat(rows) if rows else pd.DataFrame()


def model_runs(finished: pd.DataFrame, model: str) -> pd.DataFrame:
    """One model's finished runs, each once (a run reused by a later phase has a row per phase)."""
    own = finished[finished["model"] == model]
    return own[~own.index.duplicated(keep="first")]


def final_against_base(own: pd.DataFrame, base_key: str, final_key: str, settings: DecisionSettings) -> Comparison:
    """The final configuration against the base on the decision metric, σ pooled over all the
    model's runs (`own`, from `model_runs`)."""
    column = settings.metric.column
    values = {key: own.loc[own["config_key"] == key, column] for key in (base_key, final_key)}
    return compare(values[final_key], values[base_key], settings.metric, pooled_noise(own, column), settings.alpha)


def base_vs_final(
    finished: pd.DataFrame,
    decisions: dict[tuple[str, str], PhaseDecision],
    finals: pd.DataFrame,
    settings: DecisionSettings,
) -> pd.DataFrame:
    """The original study's last table: each model's base and final configuration on the headline
    metrics (means ± 95 % intervals over their runs), with the final's change on the decision
    metric against the base and its interval and p (σ pooled over all the model's runs)."""
    objective = settings.metric
    rows = []
    for model, final in finals.groupby("model", sort=False):
        first = next((d for (_, m), d in decisions.items() if m == model), None)
        own = model_runs(finished, model)
        final_key = final["config_key"].iloc[0]
        for kind, key in (("base", first.incumbent if first else None), ("final", final_key)):
            members = own[own["config_key"] == key]
            if members.empty:
                continue
            entry = {
                "Model": f"{model} ({kind})",
                "configuration": configuration(members.iloc[0]),
                "runs": len(members),
            }
            for column, title in BASE_FINAL_COLUMNS.items():
                entry[title] = float(members[column].astype(float).mean()) if column in members else float("nan")
                if column in NOISE_COLUMNS:
                    entry[f"{title} ±"] = confidence_half_width(members[column])
            if kind == "final" and first is not None:
                result = final_against_base(own, first.incumbent, final_key, settings)
                entry[f"Δ {objective.label} vs base"] = result.delta
                entry["95 % interval"] = (
                    "—"
                    if math.isnan(result.low)
                    else f"{result.low:+.{objective.digits}f} … {result.high:+.{objective.digits}f}"
                )
                entry["p (final better)"] = result.p_better
            rows.append(entry)
    return pd.DataFrame(rows)


def unranked_runs(summaries: pd.DataFrame) -> pd.DataFrame:
    """Runs left out of every decision because they did not finish (KILLED, FAILED, RUNNING)."""
    return summaries[summaries["status"] != FINISHED][UNRANKED_COLUMNS]


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
