"""Every decision of a run set as tables, from its run summaries (`runs/summary.py`): each phase's
decision and its configurations ranked on the decision metric, the final pick per model and the
base-vs-final comparison. Pure pandas; the sweep records the same decisions that the report renders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from burgerfries.decision.chain import (
    NOISE_COLUMNS,
    TEST_METRIC,
    OnTestPhotos,
    best_group,
    chain,
    confidence_half_width,
    decide_chains,
    final_against_base,
    final_choices,
    finished_runs,
    model_prior,
    model_runs,
    on_test_photos,
    per_configuration,
    rank_by_objective,
)
from burgerfries.decision.phase import PhaseDecision, chosen
from burgerfries.decision.settings import INCONCLUSIVE, DecisionSettings
from burgerfries.keys import CONFIG_KEY
from burgerfries.metrics import SUMMARY_METRICS, TEST_BY_SIZE_COLUMNS, at_read_point, summary_metric
from burgerfries.runs.analysis_settings import AnalysisSettings
from burgerfries.runs.configurations import configuration_in_words
from burgerfries.runs.run_set import RunSet
from burgerfries.runs.summary import summarize_runs

# The base-vs-final table's summary columns, each under its label
BASE_FINAL_COLUMNS = {
    column: metric.label
    for column, metric in (
        ("last_mAP_50", summary_metric("last_mAP_50")),
        ("mAP_50", at_read_point(SUMMARY_METRICS["mAP_50"])),
        *((column, SUMMARY_METRICS[column]) for column in ("wrong_detection_rate", "eval_loss_unweighted")),
        *((column, SUMMARY_METRICS[column]) for column in ("gap_unweighted", "avg_recall", "steps_per_sec")),
    )
}


def phase_table(runs: pd.DataFrame, decision: PhaseDecision, settings: DecisionSettings) -> pd.DataFrame:
    """One phase for one model: a row per configuration, best on the decision metric first, with its
    role, its difference from the incumbent (`delta` and its interval, `p`, `verdict`) and whether
    it is in the group not shown worse than the best."""
    objective = settings.metric
    per_config = per_configuration(finished_runs(runs), objective.column, objective.higher_is_better)
    if per_config.empty:
        return per_config
    ranked = rank_by_objective(per_config, objective, best_group(runs, per_config, decision, objective))
    roles, deltas, lows, highs, ps, verdicts, reasons = [], [], [], [], [], [], []
    for key in ranked[CONFIG_KEY]:
        comparison = decision.comparisons.get(key)
        role = ("reference" if decision.race else "incumbent") if key == decision.incumbent else "challenger"
        if key == chosen(decision, settings) and not (decision.race and key == decision.incumbent):
            role += ", carried to the incumbent" if decision.race else ", carried on"
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
class DecisionTables:
    """Every decision of a study as tables: what the sweep records and the report shows."""

    summaries: pd.DataFrame  # one row per run, read at its read point
    settings: DecisionSettings
    decisions: dict[tuple[str, str], PhaseDecision]  # (phase, model) → decision, phases in order
    ranked: dict[tuple[str, str], pd.DataFrame]  # (phase, model) → its configurations (`phase_table`)
    finals: pd.DataFrame  # the final pick per model, indexed by its representative run
    base_final: pd.DataFrame  # base and final configuration of each model
    prior: pd.DataFrame | None = None  # summaries of earlier sweeps' runs that the noise estimate pools


def carried_row(computed: DecisionTables, phase: str, model: str) -> pd.Series | None:
    """The row of the phase's table that the phase carries on for `model`; None when the phase has
    no decision, or its table lacks that configuration (a sweep from before racing)."""
    decision = computed.decisions.get((phase, model))
    if decision is None:
        return None
    table = computed.ranked[(phase, model)]
    rows = table[table[CONFIG_KEY] == chosen(decision, computed.settings)]
    return rows.iloc[0] if len(rows) else None


def decision_tables(
    study: RunSet, settings: DecisionSettings = DecisionSettings(), analysis: AnalysisSettings = AnalysisSettings()
) -> DecisionTables:
    """A run set → its decisions, phase tables, final picks and base-vs-final table."""
    summaries = summarize_runs(study.runs, study.metrics, analysis)
    prior = None
    if study.prior_runs is not None and len(study.prior_runs):
        prior = summarize_runs(study.prior_runs, study.prior_metrics, analysis)
    finished = finished_runs(summaries)
    decisions = decide_chains(summaries, settings, prior)
    ranked = {
        (phase, model): phase_table(
            finished[(finished["model"] == model) & (finished["phase"] == phase)], decision, settings
        )
        for (phase, model), decision in decisions.items()
    }
    finals = final_picks(decisions, ranked, settings)
    base_final = base_vs_final(finished, decisions, finals, settings, prior)
    return DecisionTables(summaries, settings, decisions, ranked, finals, base_final, prior)


def final_picks(
    decisions: dict[tuple[str, str], PhaseDecision],
    ranked: dict[tuple[str, str], pd.DataFrame],
    settings: DecisionSettings,
) -> pd.DataFrame:
    """Per model, the configuration its last phase carried on, as that phase's table shows it
    (indexed by its representative run), with the decision sentence as `reason`."""
    rows = []
    for model, (phase, winner, reason) in final_choices(decisions, settings).items():
        table = ranked[(phase, model)]
        row = table[table[CONFIG_KEY] == winner]
        if row.empty:  # carried on from an earlier phase whose configuration this one did not run
            row = next(
                (
                    t[t[CONFIG_KEY] == winner]
                    for k, t in ranked.items()
                    if k[1] == model and (t[CONFIG_KEY] == winner).any()
                ),
                row,
            )
        if row.empty:
            continue
        row = row.iloc[:1].copy()
        row["reason"] = reason
        rows.append(row.set_index("run_id", drop=False))
    return pd.concat(rows) if rows else pd.DataFrame()


# The base-vs-final table's columns of the final's change on the test photos
TEST_DELTA = f"Δ {TEST_METRIC.label} vs base"
TEST_INTERVAL = "test 95 % interval"
TEST_P = "p (final better on test)"


def _test_columns(tested: OnTestPhotos | None) -> dict[str, object]:
    """The base-vs-final table's columns for the test photos (`chain.on_test_photos`)."""
    if tested is None or tested.comparison is None:
        reason = "no test photos measured" if tested is None else "same configuration"
        return {TEST_DELTA: float("nan"), TEST_INTERVAL: reason, TEST_P: float("nan")}
    result, digits = tested.comparison, TEST_METRIC.digits
    interval = "—" if math.isnan(result.low) else f"{result.low:+.{digits}f} … {result.high:+.{digits}f}"
    return {
        TEST_DELTA: result.delta,
        TEST_INTERVAL: f"{interval} (σ on {tested.dof} dof; runs {result.runs[0]} vs {result.runs[1]})"
        if tested.dof is not None
        else interval,
        TEST_P: result.p_better,
    }


def base_vs_final(
    finished: pd.DataFrame,
    decisions: dict[tuple[str, str], PhaseDecision],
    finals: pd.DataFrame,
    settings: DecisionSettings,
    prior: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The original study's last table: each model's base and final configuration on the headline
    metrics (means ± 95 % intervals over their runs), with the final's change on the decision
    metric against the base and its interval and p (σ pooled over all the model's runs) — read on
    the validation photos the decisions chose on — and the same on the test photos, which no
    decision read: the number to trust for what the final gained."""
    objective = settings.metric
    rows = []
    if finals.empty:  # (no phase but a race decided yet)
        return pd.DataFrame()
    for model, final in finals.groupby("model", sort=False):
        # a model with a final pick has a chain: its first decision's incumbent is the base, and
        # both configurations have finished runs (the decisions were made on them)
        first = chain(decisions, model)[0][1]
        own = model_runs(finished, model)
        final_key = final[CONFIG_KEY].iloc[0]
        for kind, key in (("base", first.incumbent), ("final", final_key)):
            members = own[own[CONFIG_KEY] == key]
            entry = {
                "Model": f"{model} ({kind})",
                "configuration": configuration_in_words(members.iloc[0]),
                "runs": len(members),
            }
            for column, title in BASE_FINAL_COLUMNS.items():  # (every run's summary has each column)
                entry[title] = float(members[column].astype(float).mean())
                if column in NOISE_COLUMNS:
                    entry[f"{title} ±"] = confidence_half_width(members[column])
            tested = members[TEST_METRIC.column].astype(float)  # NaN for runs from before the test photos
            entry[TEST_METRIC.label] = float(tested.mean())
            entry[f"{TEST_METRIC.label} ±"] = confidence_half_width(tested)
            for column in TEST_BY_SIZE_COLUMNS:  # COCO's mAP by object size: described, not tested
                entry[SUMMARY_METRICS[column].label] = float(members[column].astype(float).mean())
            if kind == "final":
                result = final_against_base(own, first.incumbent, final_key, settings, model_prior(prior, model))
                entry[f"Δ {objective.label} vs base"] = result.delta
                entry["95 % interval"] = (
                    "—"
                    if math.isnan(result.low)
                    else f"{result.low:+.{objective.digits}f} … {result.high:+.{objective.digits}f}"
                )
                entry["p (final better)"] = result.p_better
                entry.update(
                    _test_columns(on_test_photos(own, first.incumbent, final_key, settings, model_prior(prior, model)))
                )
            rows.append(entry)
    return pd.DataFrame(rows)
