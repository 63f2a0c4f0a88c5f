"""A study's chain of decisions, from its runs' summaries (one row per run): each phase for each
model with the previous phase's choice as its incumbent, the configurations aggregated over their
runs, and the final pick against the base. Pure pandas: the sweep asks it after each phase, the
report renders the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from burgerfries.decision.noise import decision_noise
from burgerfries.decision.phase import Comparison, PhaseDecision, chosen, chosen_reason, compare, decide_phase
from burgerfries.decision.settings import WORSE, DecisionSettings
from burgerfries.keys import CONFIG_KEY
from burgerfries.metrics import STEP_COLUMNS, SUMMARY_METRICS, Metric

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


def finished_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The rows of runs that finished (all rows when the frame has no status)."""
    return runs[runs["status"] == FINISHED] if "status" in runs else runs


def confidence_half_width(values: pd.Series) -> float:
    """Half the width of the 95 % confidence interval of the mean (Student's t); NaN under 2 values."""
    values = values.astype(float).dropna()
    if len(values) < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))


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


def decide_chains(
    summaries: pd.DataFrame, settings: DecisionSettings, prior: pd.DataFrame | None = None
) -> dict[tuple[str, str], PhaseDecision]:
    """{(phase, model): decision}, phases in the order they ran. The first phase's incumbent is the
    base configuration; each later one, the configuration the previous decision carried on. A
    phase whose runs name a `reference` (the sweep records one for reference races only) is decided
    against it, and carries nothing on by itself (its test at the incumbent does). Noise
    is pooled over the model's runs in the phases decided so far, as the sweep saw them, and over
    `prior`: the summaries of earlier sweeps' finished runs of the same models, profile and data."""
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
            labels = dict(zip(runs[CONFIG_KEY], runs["varied"]))
            noise_runs = own[own["phase"].isin(phases[: index + 1])]
            reference = _reference(runs)
            if reference:  # a race: the chain's incumbent stays
                race = decide_phase(runs, reference, noise_runs, settings, labels, model_prior(prior, model), True)
                decisions[(phase, model)] = race
                continue
            if incumbent is None:
                base = runs[runs["is_base"].astype(bool)] if "is_base" in runs else runs.iloc[:0]
                incumbent = (base if len(base) else runs.sort_values("order", kind="stable"))[CONFIG_KEY].iloc[0]
            decision = decide_phase(runs, incumbent, noise_runs, settings, labels, model_prior(prior, model))
            decisions[(phase, model)] = decision
            incumbent = chosen(decision, settings)
    return decisions


def _reference(runs: pd.DataFrame) -> str:
    """The configuration a phase's runs were compared with when the sweep recorded one (a
    reference race's, `jobs/report.read_sweep`), else ""."""
    if "reference" not in runs:
        return ""
    named = [key for key in runs["reference"].dropna().astype(str) if key]
    return named[0] if named else ""


def per_configuration(runs: pd.DataFrame, objective_column: str, higher_is_better: bool) -> pd.DataFrame:
    """Means over each configuration's finished runs, `runs` (how many), `run_id` (its best run on
    the objective, ties by seed) and each NOISE_COLUMNS' 95 % interval half-width (`…_ci`)."""
    numeric = [c for c in runs.select_dtypes("number").columns if c not in ("seed", "order", *STEP_COLUMNS)]
    rows = {}
    for key, members in runs.groupby(CONFIG_KEY, sort=False):
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


def rank_by_objective(per_config: pd.DataFrame, objective: Metric, best_group: set[str]) -> pd.DataFrame:
    """One row per configuration (`config_key`, `order`, the objective's mean), best point estimate
    first, equal estimates in YAML order; `rank`, and `best_group` marking the configurations not
    shown worse than the best."""
    sign = -1.0 if objective.higher_is_better else 1.0
    ranked = per_config.assign(_sort=(sign * per_config[objective.column].astype(float)).fillna(math.inf))
    ranked = ranked.sort_values(["_sort", "order"]).drop(columns="_sort")  # (pandas applies `kind` to one key only)
    ranked["rank"] = range(1, len(ranked) + 1)
    ranked["best_group"] = ranked[CONFIG_KEY].isin(best_group)
    return ranked


def best_group(runs: pd.DataFrame, per_config: pd.DataFrame, decision: PhaseDecision, objective: Metric) -> set[str]:
    """The configurations of a phase not shown worse than its leader (best point estimate) at the
    phase's corrected level, with the σ the phase was tested with."""
    leader = rank_by_objective(per_config, objective, set()).iloc[0][CONFIG_KEY]
    leader_values = runs.loc[runs[CONFIG_KEY] == leader, objective.column]
    return {
        key
        for key in per_config[CONFIG_KEY]
        if key == leader
        or compare(
            runs.loc[runs[CONFIG_KEY] == key, objective.column],
            leader_values,
            objective,
            decision.noise,
            decision.alpha,
        ).verdict
        != WORSE
    }


def chain(decisions: dict[tuple[str, str], PhaseDecision], model: str) -> list[tuple[str, PhaseDecision]]:
    """`model`'s decisions that carry its configuration on, in phase order, as (phase, decision):
    every phase's but a reference race's (it raced a reference, and its test at the incumbent
    decides). The first one's incumbent is the base; the last one's choice is the final pick."""
    return [(phase, decision) for (phase, m), decision in decisions.items() if m == model and not decision.race]


def final_choices(
    decisions: dict[tuple[str, str], PhaseDecision], settings: DecisionSettings
) -> dict[str, tuple[str, str, str]]:
    """Per model, (its last phase, the configuration that phase carried on, why)."""
    models = dict.fromkeys(model for (_, model), decision in decisions.items() if not decision.race)
    last = {model: chain(decisions, model)[-1] for model in models}
    return {
        model: (phase, chosen(decision, settings), chosen_reason(decision, settings))
        for model, (phase, decision) in last.items()
    }


def model_runs(finished: pd.DataFrame, model: str) -> pd.DataFrame:
    """One model's finished runs, each once (a run reused by a later phase has a row per phase)."""
    own = finished[finished["model"] == model]
    return own[~own.index.duplicated(keep="first")]


def final_against_base(
    own: pd.DataFrame,
    base_key: str,
    final_key: str,
    settings: DecisionSettings,
    prior: pd.DataFrame | None = None,
    metric: Metric | None = None,
) -> Comparison:
    """The final configuration against the base on `metric` (default: the decision metric; the
    final tables also ask for the test photos' mAP@0.5), σ from all the model's runs (`own`, from
    `model_runs`) and its earlier runs (`prior`), as `noise.decision_noise` says."""
    metric = metric or settings.metric
    values = {key: own.loc[own[CONFIG_KEY] == key, metric.column] for key in (base_key, final_key)}
    noise = decision_noise(own, metric.column, prior)
    return compare(values[final_key], values[base_key], metric, noise, settings.alpha)


TEST_METRIC = SUMMARY_METRICS["test_mAP_50"]


@dataclass(frozen=True)
class OnTestPhotos:
    """The base and the final on the test photos, which no decision read: the number to trust for
    what the final gained. `comparison` is None when the final is the base's configuration."""

    base: float  # mean test mAP@0.5 of the base's runs (NaN when none measured it)
    final: float  # the same for the final's runs
    comparison: Comparison | None  # final − base, σ pooled as the decisions pool theirs
    dof: int | None  # degrees of freedom of that σ (None without a noise estimate)


def on_test_photos(
    own: pd.DataFrame, base_key: str, final_key: str, settings: DecisionSettings, prior: pd.DataFrame | None
) -> OnTestPhotos | None:
    """The final against the base on the test photos (None when the final's runs measured none:
    stores from before the test photos existed). Both final tables, the base-vs-final table and
    the headline, read this one answer."""
    column = TEST_METRIC.column
    if column not in own:
        return None
    means = {key: float(own.loc[own[CONFIG_KEY] == key, column].astype(float).mean()) for key in (base_key, final_key)}
    if math.isnan(means[final_key]):
        return None
    if base_key == final_key:
        return OnTestPhotos(means[base_key], means[final_key], None, None)
    noise = decision_noise(own, column, prior)
    return OnTestPhotos(
        means[base_key],
        means[final_key],
        final_against_base(own, base_key, final_key, settings, prior, TEST_METRIC),
        noise.dof if noise else None,
    )


def model_prior(prior: pd.DataFrame | None, model: str) -> pd.DataFrame | None:
    """The finished earlier runs of one model (None when there are none)."""
    if prior is None or prior.empty:
        return None
    own = finished_runs(prior)
    own = own[own["model"] == model]
    return own if len(own) else None
