"""The answer first: per model, base → final on the decision metric with its interval and the seeds
behind each number, the verdict in one sentence, and the overall pick with its reason. The HTML
report opens with it and the sweep's parent run carries it as its MLflow note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from burgerfries.decision.chain import (
    TEST_METRIC,
    OnTestPhotos,
    chain,
    final_against_base,
    finished_runs,
    model_prior,
    model_runs,
    on_test_photos,
)
from burgerfries.decision.phase import chosen
from burgerfries.decision.settings import KEPT, SWITCHED
from burgerfries.decision.tables import DecisionTables, carried_row
from burgerfries.keys import CONFIG_KEY
from burgerfries.runs.configurations import configuration_in_words


@dataclass
class ModelHeadline:
    model: str
    base: str  # the base configuration, in words
    final: str  # the final pick, in words
    base_value: float  # the decision metric's mean over the base's runs
    final_value: float
    base_runs: int
    final_runs: int
    delta: float  # final − base
    low: float  # its 95 % interval
    high: float
    verdict: str  # one sentence
    on_test: str = ""  # the same change on the test photos, which no decision read ("" without them)

    def change(self, metric: str) -> str:
        """Base → final on the decision metric, with the seeds behind each and the interval; then
        on the test photos."""
        interval = "" if math.isnan(self.low) else f", 95 % interval {self.low:+.3f} … {self.high:+.3f}"
        return (
            f"{metric} {self.base_value:.3f} ({self.base_runs} seeds) → {self.final_value:.3f} "
            f"({self.final_runs} seeds), Δ {self.delta:+.3f}{interval}" + (f"; {self.on_test}" if self.on_test else "")
        )


@dataclass
class PhaseOutcome:
    phase: str
    model: str
    outcome: str  # "kept" or "switched" (a reference race: "kept" or "carried")
    to: str  # the configuration carried on (its label in the phase)
    evidence: str


@dataclass
class Headline:
    metric: str  # the decision metric's label
    models: list[ModelHeadline]
    overall: str  # the overall pick and its reason, in words
    phases: list[PhaseOutcome]

    def markdown(self) -> str:
        """For the sweep's parent run note (MLflow renders it as Markdown)."""
        lines = [f"**{self.overall}**", ""]
        for row in self.models:
            lines.append(f"- **{row.model}**: {row.change(self.metric)} — {row.verdict}")
        return "\n".join(lines)


def _model_headline(tables: DecisionTables, model: str, final: pd.Series) -> ModelHeadline | None:
    decisions = chain(tables.decisions, model)
    if not decisions:
        return None
    column = tables.settings.metric.column
    own = model_runs(finished_runs(tables.summaries), model)
    base_key, final_key = decisions[0][1].incumbent, final[CONFIG_KEY]
    base_runs, final_runs = own[own[CONFIG_KEY] == base_key], own[own[CONFIG_KEY] == final_key]
    result = final_against_base(own, base_key, final_key, tables.settings, model_prior(tables.prior, model))
    switched = [
        f"{phase} → {_label(tables, phase, model)}"
        for phase, d in decisions
        if chosen(d, tables.settings) != d.incumbent
    ]
    verdict = (
        "Kept the base: no phase found a configuration better beyond noise"
        if not switched
        else f"Switched in {len(switched)} phase(s) ({'; '.join(switched)}), each on a test against its incumbent"
    )
    return ModelHeadline(
        on_test=_on_test_photos_in_words(
            on_test_photos(own, base_key, final_key, tables.settings, model_prior(tables.prior, model))
        ),
        model=model,
        base=configuration_in_words(base_runs.iloc[0]) if len(base_runs) else "—",
        final=configuration_in_words(final),
        base_value=float(base_runs[column].astype(float).mean()) if len(base_runs) else float("nan"),
        final_value=float(final_runs[column].astype(float).mean()),
        base_runs=len(base_runs),
        final_runs=len(final_runs),
        delta=result.delta,
        low=result.low,
        high=result.high,
        verdict=verdict,
    )


def _on_test_photos_in_words(tested: OnTestPhotos | None) -> str:
    """The final against the base on the test photos (`chain.on_test_photos`), in words ("" where
    the runs measured none)."""
    if tested is None:
        return ""
    label = f"{TEST_METRIC.label} (read by no decision)"
    if tested.comparison is None:
        return f"{label} {tested.final:.3f}"
    result = tested.comparison
    interval = "" if math.isnan(result.low) else f", 95 % interval {result.low:+.3f} … {result.high:+.3f}"
    p_value = "" if math.isnan(result.p_better) else f", one-sided p {result.p_better:.3f}"
    return f"{label} {tested.base:.3f} → {tested.final:.3f}, Δ {result.delta:+.3f}{interval}{p_value}"


def _label(tables: DecisionTables, phase: str, model: str) -> str:
    row = carried_row(tables, phase, model)
    return "—" if row is None else str(row["varied"])


def _overall(tables: DecisionTables, models: list[ModelHeadline]) -> str:
    """The best final model on the decision metric, and whether its lead over the next is beyond noise
    (Welch, one-sided, on the two finals' runs)."""
    objective = tables.settings.metric
    if not models:
        return "No run finished, so there is no pick."
    sign = 1 if objective.higher_is_better else -1
    ranked = sorted(models, key=lambda m: -sign * m.final_value)  # stable: ties keep the study's model order
    top = ranked[0]
    if len(ranked) == 1:
        return f"Pick: {top.model} with {top.final} ({objective.label} {top.final_value:.3f})."
    second = ranked[1]
    own = finished_runs(tables.summaries)
    finals = tables.finals.set_index("model")

    def values(model: str) -> pd.Series:
        runs = own[(own["model"] == model) & (own[CONFIG_KEY] == finals.loc[model, CONFIG_KEY])]
        return runs[~runs.index.duplicated()][objective.column].astype(float)

    a, b = values(top.model), values(second.model)
    lead = f"{objective.label} {top.final_value:.3f} against {second.final_value:.3f} for {second.model}"
    if len(a) >= 2 and len(b) >= 2 and (a.std() > 0 or b.std() > 0):
        alternative = "greater" if objective.higher_is_better else "less"
        p = float(stats.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue)
        lead += f" (Welch p = {p:.2g}: {'beyond' if p < tables.settings.alpha else 'within'} noise)"
    return f"Pick: {top.model} with {top.final} — {lead}."


def headline(tables: DecisionTables) -> Headline:
    models = []
    for _, final in tables.finals.iterrows():
        row = _model_headline(tables, final["model"], final)
        if row is not None:
            models.append(row)
    phases = []
    for (phase, model), decision in tables.decisions.items():
        carried = chosen(decision, tables.settings)
        comparison = decision.comparisons.get(carried) if carried != decision.incumbent else None
        if decision.race:
            evidence = (
                f"ahead of the reference by Δ {comparison.delta:+.3f} ({comparison.runs[0]} vs {comparison.runs[1]} "
                "runs); tested at the incumbent next"
                if comparison is not None
                else "no point ahead of the reference with two or more runs"
            )
        elif comparison is not None:
            evidence = (
                f"Δ {comparison.delta:+.3f} ({comparison.low:+.3f} … {comparison.high:+.3f}), "
                f"p {comparison.p_better:.2g} < α {decision.alpha:.2g}"
            )
        else:
            tested = [c for c in decision.comparisons.values() if not math.isnan(c.p_better)]
            best = min(tested, key=lambda c: c.p_better, default=None)
            evidence = (
                "no challenger to test"
                if best is None
                else f"closest challenger p {best.p_better:.2g} ≥ α {decision.alpha:.2g}"
            )
        phases.append(
            PhaseOutcome(
                phase,
                model,
                decision.outcome if decision.race else SWITCHED if carried != decision.incumbent else KEPT,
                _label(tables, phase, model),
                evidence,
            )
        )
    return Headline(tables.settings.metric.label, models, _overall(tables, models), phases)
