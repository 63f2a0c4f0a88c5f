"""A phase's decision: keep the configuration it started from (the incumbent) unless a challenger
is shown better on the study's one decision metric. Used by the sweep after each phase and by
the report, on the same runs, so the two always agree.

The method is incumbent-protected racing (after irace's elitist racing and SMAC's intensification,
where a challenger must earn its place on the incumbent's seeds):
1. **Screening.** The incumbent runs several seeds (the base's in the first phase); every other
   point one. A point whose mean beats the incumbent's by more than one standard error of the
   difference *looks better*; the best `confirm` of those (by point estimate, then YAML order)
   earn confirmation seeds, up to the incumbent's count.
2. **Test.** A confirmed challenger replaces the incumbent only when a one-sided Student t test
   says it is better at level α / k (k: the challengers screened in the phase, Bonferroni), with σ
   pooled over every configuration of this model that has two or more finished runs so far, and a
   Welch test on the two configurations' own runs agrees at the same level (where their runs vary
   at all). A challenger with one run is never switched to. Otherwise the incumbent stays: a tie
   keeps what was there. The metric is read at each run's last evaluation unless `read_at` says
   the read point.
3. `study_rule` mode reproduces the original study's order of criteria (wrong detections, eval
   loss, eval − train gap, average recall): each criterion gives a verdict from the same tests
   (better, worse or inconclusive), and the first verdict that is not inconclusive decides.

Every ordering here is a total order: by point estimate, then by the order the YAML lists the
points (`order`); never by string, dict or file order. Losses are compared unweighted
(classification and localization at weight 1), so configurations that train with different loss
weights, and their noise, share one scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

import pandas as pd
from scipy import stats

RACING = "racing"
STUDY_RULE = "study_rule"
MODES = (RACING, STUDY_RULE)
BETTER, WORSE, INCONCLUSIVE = "better", "worse", "inconclusive"
KEPT, SWITCHED = "kept", "switched"


@dataclass(frozen=True)
class Objective:
    """A decision metric: a column of the run summaries (`DecisionSettings.metric` says where it is read)."""

    name: str  # as a study YAML names it (`objective:`)
    column: str
    higher_is_better: bool
    label: str
    digits: int = 3
    # The eval metric that gives it at one checkpoint ("" when it needs more: the training loss,
    # or several metrics): what a training run marks its best checkpoint by, and reports to Optuna
    eval_key: str = ""

    def oriented(self, difference: float) -> float:
        """`difference` (challenger − incumbent) with the sign that makes better positive."""
        return difference if self.higher_is_better else -difference


OBJECTIVES = {
    objective.name: objective
    for objective in (
        Objective("mAP_50", "mAP_50", True, "mAP@0.5", eval_key="eval/mAP_50"),
        Objective(
            "eval_loss", "eval_loss_unweighted", False, "eval loss (unweighted)", 4, "eval/loss_total_unweighted"
        ),
        Objective(
            "wrong_detections",
            "wrong_detection_rate",
            False,
            "wrong detections per image",
            eval_key="eval/wrong_detection_rate",
        ),
        Objective("avg_recall", "avg_recall", True, "avg recall (AR@1, 10, 100)"),
        Objective("gap", "gap_unweighted", False, "|eval − train| loss gap (unweighted)", 4),
    )
}
# The original study's criteria, in its order (`decision: study_rule`)
STUDY_RULE_CRITERIA = ("wrong_detections", "eval_loss", "gap", "avg_recall")


READ_AT = ("last", "read_point")


@dataclass(frozen=True)
class DecisionSettings:
    """How a sweep decides; a study YAML sets `objective:` and `decision:` (the mode), and may set
    `alpha`, `confirm` and `read_at` under `decision_settings:`."""

    objective: str = "mAP_50"  # on the held-out split
    mode: str = RACING
    alpha: float = 0.05  # before the correction for the number of challengers
    confirm: int = 1  # challengers per phase that earn confirmation seeds
    # Where racing reads the objective: "last", the last evaluation (the checkpoint a run ends
    # with, the one exported); or "read_point", where the run's eval loss starts to flatten. In the
    # main job's smoke runs mAP@0.5 was still rising at the knee, and its seed-to-seed σ there was
    # several times the σ at the last evaluation (bench/RESULTS.md), so no challenger could be told
    # from noise. The study's rule always reads its criteria at the read point, as the study did.
    read_at: str = "last"

    @classmethod
    def from_study(cls, data: dict[str, Any], where: str) -> DecisionSettings:
        settings = cls()
        if "objective" in data:
            if data["objective"] not in OBJECTIVES:
                raise ValueError(f"{where}.objective: unknown {data['objective']!r}; known: {', '.join(OBJECTIVES)}")
            settings = replace(settings, objective=data["objective"])
        if "decision" in data:
            if data["decision"] not in MODES:
                raise ValueError(f"{where}.decision: unknown mode {data['decision']!r}; known: {', '.join(MODES)}")
            settings = replace(settings, mode=data["decision"])
        extra = data.get("decision_settings") or {}
        known = {f.name for f in fields(cls)} - {"objective", "mode"}
        if not isinstance(extra, dict) or set(extra) - known:
            raise ValueError(f"{where}.decision_settings: expected a mapping of {sorted(known)}")
        if "alpha" in extra:
            if not 0 < float(extra["alpha"]) < 0.5:
                raise ValueError(f"{where}.decision_settings.alpha: must be in (0, 0.5), got {extra['alpha']!r}")
            settings = replace(settings, alpha=float(extra["alpha"]))
        if "read_at" in extra:
            if extra["read_at"] not in READ_AT:
                raise ValueError(f"{where}.decision_settings.read_at: expected one of {', '.join(READ_AT)}")
            settings = replace(settings, read_at=extra["read_at"])
        if "confirm" in extra:
            if not isinstance(extra["confirm"], int) or extra["confirm"] < 0:
                raise ValueError(f"{where}.decision_settings.confirm: expected a whole number ≥ 0")
            settings = replace(settings, confirm=extra["confirm"])
        return settings

    @property
    def metric(self) -> Objective:
        """The objective, reading the summary column of `read_at`."""
        objective = OBJECTIVES[self.objective]
        if self.read_at == "last":
            return replace(objective, column=f"last_{objective.column}", label=f"{objective.label} (last evaluation)")
        return replace(objective, label=f"{objective.label} (at the read point)")

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Noise:
    """The seed-to-seed standard deviation of one metric, pooled over configurations."""

    sigma: float
    dof: int  # Σ (runs − 1) over the configurations it pools
    configurations: int

    def describe(self, digits: int = 3) -> str:
        return f"σ {self.sigma:.{digits}f} ({self.dof} degrees of freedom, {self.configurations} configurations)"


def pooled_noise(runs: pd.DataFrame, column: str) -> Noise | None:
    """σ of `column` pooled over the configurations (`config_key`) with two or more finished
    runs; a run that counts in several phases counts once. None when no configuration has two."""
    if column not in runs:
        return None
    unique = runs[~runs.index.duplicated(keep="first")]
    squares, dof, configurations = 0.0, 0, 0
    for _, members in unique.groupby("config_key", sort=False):
        values = members[column].astype(float).dropna()
        if len(values) >= 2:
            squares += float(((values - values.mean()) ** 2).sum())
            dof += len(values) - 1
            configurations += 1
    if dof == 0:
        return None
    return Noise(math.sqrt(squares / dof), dof, configurations)


@dataclass(frozen=True)
class Comparison:
    """A challenger against the incumbent on one metric; `delta` is challenger − incumbent."""

    metric: str
    delta: float
    low: float  # the 95 % interval of delta (pooled σ, Student t)
    high: float
    p_better: float  # one-sided, pooled σ (NaN without a noise estimate)
    p_welch: float  # one-sided Welch on the two configurations' own runs (NaN under two runs each)
    runs: tuple[int, int]  # (challenger, incumbent)
    verdict: str  # BETTER, WORSE or INCONCLUSIVE at the corrected level
    looks_better: bool  # beats the incumbent by more than one standard error (screening)


def compare(
    challenger: pd.Series, incumbent: pd.Series, objective: Objective, noise: Noise | None, alpha: float
) -> Comparison:
    """The tests of the module docstring for one metric. `alpha` is already corrected."""
    challenger, incumbent = challenger.astype(float).dropna(), incumbent.astype(float).dropna()
    n_c, n_i = len(challenger), len(incumbent)
    if not n_c or not n_i:
        nan = float("nan")
        return Comparison(objective.name, nan, nan, nan, nan, nan, (n_c, n_i), INCONCLUSIVE, False)
    delta = float(challenger.mean() - incumbent.mean())
    gain = objective.oriented(delta)
    p_better = p_worse = low = high = float("nan")
    looks_better = False
    if noise is not None and noise.sigma > 0:
        se = noise.sigma * math.sqrt(1 / n_c + 1 / n_i)
        t = gain / se
        p_better, p_worse = float(stats.t.sf(t, noise.dof)), float(stats.t.cdf(t, noise.dof))
        half = float(stats.t.ppf(0.975, noise.dof)) * se
        low, high = delta - half, delta + half
        looks_better = gain > se
    elif noise is not None:  # every replicated configuration repeated its value exactly
        p_better, p_worse = (0.0, 1.0) if gain > 0 else (1.0, 0.0) if gain < 0 else (1.0, 1.0)
        low = high = delta
        looks_better = gain > 0
    p_welch = float("nan")
    if n_c >= 2 and n_i >= 2 and (challenger.std() > 0 or incumbent.std() > 0):
        alternative = "greater" if objective.higher_is_better else "less"
        p_welch = float(stats.ttest_ind(challenger, incumbent, equal_var=False, alternative=alternative).pvalue)
    verdict = INCONCLUSIVE
    if p_better < alpha and n_c >= 2 and (math.isnan(p_welch) or p_welch < alpha):
        verdict = BETTER
    elif p_worse < alpha:
        verdict = WORSE
    return Comparison(objective.name, delta, low, high, p_better, p_welch, (n_c, n_i), verdict, looks_better)


@dataclass
class PhaseDecision:
    """What one phase decided for one model, and on what evidence."""

    incumbent: str  # configuration key
    winner: str  # configuration key: the incumbent, or the challenger it switched to
    outcome: str  # KEPT or SWITCHED
    sentence: str  # the decision in words, for the report and the phase run's note
    alpha: float  # the corrected level each challenger was tested at
    comparisons: dict[str, Comparison] = field(default_factory=dict)  # challenger key → on the objective
    to_confirm: list[str] = field(default_factory=list)  # challengers that earn confirmation seeds
    study_rule_winner: str = ""  # the configuration `study_rule` mode picks (the same runs)
    study_rule_sentence: str = ""
    noise: Noise | None = None  # the objective's σ the challengers were tested with


def _values(runs: pd.DataFrame, key: str, column: str) -> pd.Series:
    """`column` of one configuration's runs (none when the runs did not log it)."""
    if column not in runs:
        return pd.Series(dtype=float)
    return runs.loc[runs["config_key"] == key, column]


def _ordered(keys: list[str], gains: dict[str, float], order: dict[str, float]) -> list[str]:
    """Best point estimate first; equal estimates in YAML order."""
    return sorted(keys, key=lambda key: (-gains[key], order[key]))


def _study_rule(
    runs: pd.DataFrame, incumbent: str, challengers: list[str], noise_runs: pd.DataFrame, alpha: float
) -> tuple[str, str, dict[str, str]]:
    """The study's rule against the incumbent: (winner, sentence, {challenger: its verdict text})."""
    found, verdicts = [], {}
    for key in challengers:
        for name in STUDY_RULE_CRITERIA:
            objective = OBJECTIVES[name]
            noise = pooled_noise(noise_runs, objective.column)
            result = compare(
                _values(runs, key, objective.column),
                _values(runs, incumbent, objective.column),
                objective,
                noise,
                alpha,
            )
            if result.verdict != INCONCLUSIVE:
                verdicts[key] = f"{result.verdict} on {objective.label}"
                if result.verdict == BETTER:
                    found.append((STUDY_RULE_CRITERIA.index(name), key, objective.oriented(result.delta)))
                break
        else:
            verdicts[key] = "inconclusive on every criterion"
    if not found:
        return incumbent, "kept: no configuration was better on the study's criteria beyond noise", verdicts
    found.sort(key=lambda item: (item[0], -item[2]))  # the earliest deciding criterion, then the larger gain
    return found[0][1], f"switched: {verdicts[found[0][1]]}", verdicts


def decide_phase(
    runs: pd.DataFrame,
    incumbent: str,
    noise_runs: pd.DataFrame,
    settings: DecisionSettings,
    labels: dict[str, str] | None = None,
) -> PhaseDecision:
    """One phase for one model. `runs`: its finished runs (`config_key`, `order`, metric columns),
    the incumbent's among them; `noise_runs`: this model's finished runs so far (for σ)."""
    objective = settings.metric
    labels = labels or {}
    order = runs.groupby("config_key", sort=False)["order"].min().to_dict()
    challengers = [key for key in order if key != incumbent]
    alpha = settings.alpha / max(1, len(challengers))
    noise = pooled_noise(noise_runs, objective.column)
    incumbent_values = _values(runs, incumbent, objective.column)
    comparisons = {
        key: compare(_values(runs, key, objective.column), incumbent_values, objective, noise, alpha)
        for key in challengers
    }
    gains = {
        key: objective.oriented(c.delta) if not math.isnan(c.delta) else -math.inf for key, c in comparisons.items()
    }
    looking = _ordered([key for key, c in comparisons.items() if c.looks_better], gains, order)
    incumbent_runs = len(incumbent_values)
    to_confirm = [key for key in looking[: settings.confirm] if comparisons[key].runs[0] < incumbent_runs]
    better = _ordered([key for key, c in comparisons.items() if c.verdict == BETTER], gains, order)
    name = labels.get(incumbent, incumbent)
    if better:
        won = comparisons[better[0]]
        sentence = (
            f"switched to {labels.get(better[0], better[0])}: {objective.label} {won.delta:+.{objective.digits}f} "
            f"over {name} (95 % interval {won.low:+.{objective.digits}f} … {won.high:+.{objective.digits}f}, "
            f"p = {won.p_better:.2g} < α {alpha:.3g}, Welch p = {won.p_welch:.2g}; {won.runs[0]} vs {won.runs[1]} runs)"
        )
    elif noise is None:
        sentence = f"kept {name}: no configuration has two runs yet, so no difference can be told from noise"
    else:
        sentence = f"kept {name}: no point beat it beyond noise ({objective.label}, {noise.describe(objective.digits)})"
    confirmed = sum(1 for c in comparisons.values() if c.runs[0] >= 2)
    sentence += f"; {len(challengers)} challenger(s), {confirmed} with two or more runs, the incumbent {incumbent_runs}"
    rule_winner, rule_sentence, _ = _study_rule(runs, incumbent, challengers, noise_runs, alpha)
    return PhaseDecision(
        incumbent=incumbent,
        winner=better[0] if better else incumbent,
        outcome=SWITCHED if better else KEPT,
        sentence=sentence,
        alpha=alpha,
        comparisons=comparisons,
        to_confirm=to_confirm,
        study_rule_winner=rule_winner,
        study_rule_sentence=rule_sentence,
        noise=noise,
    )


def chosen(decision: PhaseDecision, settings: DecisionSettings) -> str:
    """The configuration the study's mode carries on."""
    return decision.study_rule_winner if settings.mode == STUDY_RULE else decision.winner


def chosen_reason(decision: PhaseDecision, settings: DecisionSettings) -> str:
    """Why the study's mode carries `chosen` on, in one sentence."""
    return decision.study_rule_sentence if settings.mode == STUDY_RULE else decision.sentence


def rank_by_objective(per_config: pd.DataFrame, objective: Objective, best_group: set[str]) -> pd.DataFrame:
    """One row per configuration (`config_key`, `order`, the objective's mean), best point estimate
    first, equal estimates in YAML order; `rank`, and `best_group` marking the configurations not
    shown worse than the best."""
    sign = -1.0 if objective.higher_is_better else 1.0
    ranked = per_config.assign(_sort=(sign * per_config[objective.column].astype(float)).fillna(math.inf))
    ranked = ranked.sort_values(["_sort", "order"], kind="stable").drop(columns="_sort")
    ranked["rank"] = range(1, len(ranked) + 1)
    ranked["best_group"] = ranked["config_key"].isin(best_group)
    return ranked
