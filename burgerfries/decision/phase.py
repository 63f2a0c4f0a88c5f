"""A phase's decision: keep the configuration it started from (the incumbent) unless a challenger
is shown better on the study's one decision metric. Used by the sweep after each phase and by
the report, on the same runs, so the two always agree.

The method is incumbent-protected racing (after irace's elitist racing and SMAC's intensification,
where a challenger must earn its place on the incumbent's seeds):
1. **Screening.** The incumbent runs several seeds (the base's in the first phase); every other
   point one. A point whose mean beats the incumbent's by more than one standard error of the
   difference (σ as pooled, before any floor) *looks better*; the best `confirm` of those (by
   point estimate, then YAML order) earn confirmation seeds, up to the incumbent's count.
2. **Test.** A confirmed challenger replaces the incumbent only when a one-sided Student t test
   says it is better at level α / k (k: the challengers screened in the phase, Bonferroni), with σ
   pooled over every configuration of this model that has two or more finished runs so far and
   over earlier sweeps' runs of the same model, profile and data, and raised to its 80 % upper
   confidence bound while that rests on fewer than 10 degrees of freedom (`noise.py`); and a
   Welch test on the two configurations' own runs agrees at the same level (where their runs vary
   at all). A challenger with one run is never switched to. Otherwise the incumbent stays: a tie
   keeps what was there. The metric is read at each run's last evaluation unless `read_at` says
   the read point.
3. **Power, said out loud** (`power.py`). A switch says how often a rerun with as many seeds
   would switch again; a kept incumbent with a confirmed challenger ahead says how many seeds per
   side that difference would need; any other verdict, the smallest effect its runs could detect.
4. **Reference races** (a phase with `carry: varied` whose fixed values the incumbent lacks, e.g.
   learning rates compared at batch 5 against an incumbent at batch 15): the points race the
   incumbent with the fixed values (the *reference*), which plays the incumbent's part above, but
   nothing is switched to. The two best points ahead of the reference earn confirmation seeds
   (RACE_CONFIRM, with no one-standard-error screen: these seeds choose what to test, the test is
   the next phase's), and the confirmed point furthest ahead is *carried*: its varied values are
   tested at the incumbent by the sweep's next phase, which switches or keeps as any phase does,
   on runs the race did not use to choose it.
5. `study_rule` mode reproduces the original study's order of criteria (wrong detections, eval
   loss, eval − train gap, average recall): each criterion gives a verdict from the same tests
   (better, worse or inconclusive), and the first verdict that is not inconclusive decides.

Every ordering here is a total order: by point estimate, then by the order the YAML lists the
points (`order`); never by string, dict or file order. Losses are compared unweighted
(classification and localization at weight 1), so configurations that train with different loss
weights, and their noise, share one scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import pandas as pd
from scipy import stats

from burgerfries.decision.noise import Noise, decision_noise
from burgerfries.decision.power import describe_needed, describe_power, detectable_effect, repeat_chance
from burgerfries.decision.settings import (
    BETTER,
    CARRIED,
    INCONCLUSIVE,
    KEPT,
    OBJECTIVES,
    STUDY_RULE,
    STUDY_RULE_CRITERIA,
    SWITCHED,
    WORSE,
    DecisionSettings,
)
from burgerfries.keys import CONFIG_KEY
from burgerfries.metrics import Metric


@dataclass(frozen=True)
class Comparison:
    """A challenger against the incumbent on one metric; `delta` is challenger − incumbent."""

    metric: str  # the summary column compared
    delta: float
    low: float  # the 95 % interval of delta (pooled σ, Student t)
    high: float
    p_better: float  # one-sided, pooled σ (NaN without a noise estimate)
    p_welch: float  # one-sided Welch on the two configurations' own runs (NaN under two runs each)
    runs: tuple[int, int]  # (challenger, incumbent)
    verdict: str  # BETTER, WORSE or INCONCLUSIVE at the corrected level
    # beats the incumbent by more than one standard error (screening; σ as pooled, before the floor
    # raised it: screening only hands out seeds, so it errs towards more of them)
    looks_better: bool


def compare(
    challenger: pd.Series, incumbent: pd.Series, objective: Metric, noise: Noise | None, alpha: float
) -> Comparison:
    """The tests of the module docstring for one metric. `alpha` is already corrected; `noise`
    is the floored σ the tests use (its `raised_from`, the pooled one, judges screening)."""
    challenger, incumbent = challenger.astype(float).dropna(), incumbent.astype(float).dropna()
    n_c, n_i = len(challenger), len(incumbent)
    if not n_c or not n_i:
        nan = float("nan")
        return Comparison(objective.column, nan, nan, nan, nan, nan, (n_c, n_i), INCONCLUSIVE, False)
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
        looks_better = gain > se * (noise.raised_from or noise.sigma) / noise.sigma
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
    return Comparison(objective.column, delta, low, high, p_better, p_welch, (n_c, n_i), verdict, looks_better)


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
    # A close call's next look: these configurations (the leading challenger and the incumbent)
    # get seeds up to `extend_to` runs each
    extend: list[str] = field(default_factory=list)
    extend_to: int = 0
    study_rule_winner: str = ""  # the configuration `study_rule` mode picks (the same runs)
    study_rule_sentence: str = ""
    noise: Noise | None = None  # the objective's σ the challengers were tested with
    # A reference race: `incumbent` is the reference, `winner` the point carried (CARRIED) to the
    # test at the real incumbent, or the reference itself when none is (KEPT)
    race: bool = False


def _values(runs: pd.DataFrame, key: str, column: str) -> pd.Series:
    """`column` of one configuration's runs (none when the runs did not log it)."""
    if column not in runs:
        return pd.Series(dtype=float)
    return runs.loc[runs[CONFIG_KEY] == key, column]


def _ordered(keys: list[str], gains: dict[str, float], order: dict[str, float]) -> list[str]:
    """Best point estimate first; equal estimates in YAML order."""
    return sorted(keys, key=lambda key: (-gains[key], order[key]))


def _study_rule(
    runs: pd.DataFrame,
    incumbent: str,
    challengers: list[str],
    noise_runs: pd.DataFrame,
    alpha: float,
    prior: pd.DataFrame | None,
    order: dict[str, float],
) -> tuple[str, str]:
    """The study's rule against the incumbent: (winner, sentence)."""
    found, verdicts = [], {}
    for key in challengers:
        for name in STUDY_RULE_CRITERIA:
            objective = OBJECTIVES[name]
            noise = decision_noise(noise_runs, objective.column, prior)
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
    if not found:
        return incumbent, "kept: no configuration was better on the study's criteria beyond noise"
    # the earliest deciding criterion, then the larger gain, then YAML order
    found.sort(key=lambda item: (item[0], -item[2], order[item[1]]))
    return found[0][1], f"switched: {verdicts[found[0][1]]}"


# Points of a reference race that earn confirmation seeds. Simulated (`bench/race_design.py`, the
# race's points at σ 0.025 as batch 5 was, the incumbent at σ 0.011 or 0.0053), a +0.03
# learning-rate effect was carried and then switched to at the incumbent 51 % / 66 % of the time
# with one point confirmed, 63 % / 71 % with two, 72 % / 76 % with three (at most 8, 10, 12 race
# runs); at σ 0.015 in the race, 78–83 %, 88–95 %, 84–93 %. False switches ≤ 2.3 % in each.
RACE_CONFIRM = 2


def decide_phase(
    runs: pd.DataFrame,
    incumbent: str,
    noise_runs: pd.DataFrame,
    settings: DecisionSettings,
    labels: dict[str, str] | None = None,
    prior: pd.DataFrame | None = None,
    race: bool = False,
) -> PhaseDecision:
    """One phase for one model. `runs`: its finished runs (`config_key`, `order`, metric columns),
    the incumbent's among them; `noise_runs`: this model's finished runs so far, and `prior`:
    earlier sweeps' runs of the same model, profile and data (both for σ, `noise.decision_noise`).
    `race`: the phase is a reference race and `incumbent` its reference (the module docstring)."""
    objective = settings.metric
    labels = labels or {}
    order = runs.groupby(CONFIG_KEY, sort=False)["order"].min().to_dict()
    challengers = [key for key in order if key != incumbent]
    alpha = settings.alpha / max(1, len(challengers)) / settings.looks
    noise = decision_noise(noise_runs, objective.column, prior)
    incumbent_values = _values(runs, incumbent, objective.column)
    comparisons = {
        key: compare(_values(runs, key, objective.column), incumbent_values, objective, noise, alpha)
        for key in challengers
    }
    # (a challenger without values has a NaN gain: never ahead, never better, never to confirm)
    gains = {key: objective.oriented(c.delta) for key, c in comparisons.items()}
    looking = _ordered([key for key, c in comparisons.items() if c.looks_better], gains, order)
    incumbent_runs = len(incumbent_values)
    if race:
        return _race(incumbent, incumbent_runs, comparisons, gains, order, alpha, noise, objective, labels)
    to_confirm = [key for key in looking[: settings.confirm] if comparisons[key].runs[0] < incumbent_runs]
    better = _ordered([key for key, c in comparisons.items() if c.verdict == BETTER], gains, order)
    ahead = _ordered([key for key, gain in gains.items() if gain > 0], gains, order)
    leader = (better or ahead or [None])[0]
    sentence = _sentence(objective, noise, alpha, labels, incumbent, incumbent_runs, comparisons.get(leader), leader)
    confirmed = sum(1 for c in comparisons.values() if c.runs[0] >= 2)
    sentence += f"; {len(challengers)} challenger(s), {confirmed} with two or more runs, the incumbent {incumbent_runs}"
    rule_winner, rule_sentence = _study_rule(runs, incumbent, challengers, noise_runs, alpha, prior, order)
    extend, extend_to = [], 0
    if not better and ahead and noise is not None:
        extend_to = next_look(comparisons[ahead[0]], gains[ahead[0]], noise, alpha, settings)
        extend = [ahead[0], incumbent] if extend_to else []
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
        extend=extend,
        extend_to=extend_to,
    )


def _race(
    reference: str,
    reference_runs: int,
    comparisons: dict[str, Comparison],
    gains: dict[str, float],
    order: dict[str, float],
    alpha: float,
    noise: Noise | None,
    objective: Metric,
    labels: dict[str, str],
) -> PhaseDecision:
    """A reference race's decision: the RACE_CONFIRM best points ahead of the reference earn its
    seed count; the confirmed point furthest ahead is carried to the test at the incumbent."""
    ahead = _ordered([key for key, gain in gains.items() if gain > 0], gains, order)
    to_confirm = [key for key in ahead[:RACE_CONFIRM] if comparisons[key].runs[0] < reference_runs]
    confirmed = [key for key in ahead if comparisons[key].runs[0] >= 2]
    name, digits = labels.get(reference, reference), objective.digits
    if confirmed:
        leader, won = confirmed[0], comparisons[confirmed[0]]
        sentence = (
            f"carried {labels.get(leader, leader)} to the incumbent: ahead of the reference {name} "
            f"({objective.label} {won.delta:+.{digits}f}, {won.runs[0]} vs {won.runs[1]} runs"
            + (f"; {noise.describe(digits)}" if noise is not None else "")
            + "); the next phase tests its varied values at the incumbent"
        )
    else:
        leader = reference
        sentence = (
            f"nothing carried: no point with two or more runs is ahead of the reference {name} "
            f"({objective.label}); the incumbent stays"
        )
    return PhaseDecision(
        incumbent=reference,
        winner=leader,
        outcome=CARRIED if leader != reference else KEPT,
        sentence=sentence,
        alpha=alpha,
        comparisons=comparisons,
        to_confirm=to_confirm,
        study_rule_winner=leader,
        study_rule_sentence=sentence,
        noise=noise,
        race=True,
    )


FUTILITY = 0.5  # a lead under this share of what the last look could detect gets no more seeds


def next_look(leader: Comparison, gain: float, noise: Noise, alpha: float, settings: DecisionSettings) -> int:
    """Runs per side for the next look at a close call, or 0 for none: the leader is confirmed
    (two or more runs), ahead but not shown better, the looks are not used up (`looks` ×
    `look_seeds` per side), and its lead is not futile (at least FUTILITY of the effect that the
    last look's runs would detect with 80 % power)."""
    runs = max(leader.runs)
    cap = settings.looks * settings.look_seeds
    if leader.runs[0] < 2 or leader.verdict != INCONCLUSIVE or runs >= cap:
        return 0
    at_last_look = replace(noise, dof=noise.dof + 2 * (cap - runs))  # its runs add degrees of freedom
    if gain < FUTILITY * detectable_effect(at_last_look, (cap, cap), alpha):
        return 0
    return min(cap, (runs // settings.look_seeds + 1) * settings.look_seeds)


def _sentence(
    objective: Metric,
    noise: Noise | None,
    alpha: float,
    labels: dict[str, str],
    incumbent: str,
    incumbent_runs: int,
    won: Comparison | None,
    leader: str | None,
) -> str:
    """The decision in words, with the evidence and what the runs could see: a switch says how
    likely a rerun is to repeat it; a kept incumbent with a challenger ahead says how many seeds
    the difference would need; otherwise, the smallest effect the runs could have found."""
    name, digits = labels.get(incumbent, incumbent), objective.digits
    if noise is None:
        return f"kept {name}: no configuration has two runs yet, so no difference can be told from noise"
    if won is not None and won.verdict == BETTER:
        chance = repeat_chance(noise, objective.oriented(won.delta), won.runs, alpha)
        return (
            f"switched to {labels.get(leader, leader)}: {objective.label} {won.delta:+.{digits}f} "
            f"over {name} (95 % interval {won.low:+.{digits}f} … {won.high:+.{digits}f}, "
            f"p = {won.p_better:.2g} < α {alpha:.3g}, Welch p = {won.p_welch:.2g}; "
            f"{won.runs[0]} vs {won.runs[1]} runs; {noise.describe(digits)}); "
            f"a rerun with as many seeds would switch again about {chance:.0%} of the time"
        )
    if won is not None and won.runs[0] >= 2:
        return (
            f"kept {name}, inconclusive: {labels.get(leader, leader)} is ahead by {won.delta:+.{digits}f} "
            f"(95 % interval {won.low:+.{digits}f} … {won.high:+.{digits}f}, p = {won.p_better:.2g}, "
            f"α {alpha:.3g}; {noise.describe(digits)}); "
            f"{describe_needed(noise, objective.oriented(won.delta), alpha, digits)}"
        )
    # no confirmed challenger ahead: what one challenger's run could have shown against the incumbent's
    return (
        f"kept {name}: no point beat it beyond noise ({objective.label}, {noise.describe(digits)}; "
        f"{describe_power(noise, (1, incumbent_runs), alpha, digits)})"
    )


def chosen(decision: PhaseDecision, settings: DecisionSettings) -> str:
    """The configuration the study's mode carries on."""
    return decision.study_rule_winner if settings.mode == STUDY_RULE else decision.winner


def chosen_reason(decision: PhaseDecision, settings: DecisionSettings) -> str:
    """Why the study's mode carries `chosen` on, in one sentence."""
    return decision.study_rule_sentence if settings.mode == STUDY_RULE else decision.sentence
