"""The winner rule and the one ranking of configurations, used by the sweep (phase winners) and
the report (phase tables, final pick) alike: an ordered list of criteria, compared in turn, with
the reason for each place spelled out.

A configuration competes on the means of its finished runs (several with seed repeats); its best
run represents it. Runs that did not finish (KILLED, FAILED, still RUNNING) are ranked out.

Noise: where some configuration of the compared runs has several finished runs (the sweep trains
each phase's carried-in configuration with several seeds), the pooled seed-to-seed standard
deviation of each quantity is the noise floor. Two configurations whose difference on a criterion
is within 1.96 · σ · √(1/n₁ + 1/n₂) (n: their runs) are tied on it, and the next criterion
decides; the reason says "within noise". Without repeated runs, values are compared exactly.

Default, after the original study: fewer wrong detections per eval image first; then lower eval
loss at the flatten point (unweighted when the runs differ in loss weights: see `loss_basis`);
then the smaller |eval − train| gap (less over- or under-fitting); then the higher average recall
(mean of AR@1, AR@10, AR@100). One guard comes first: a run that finds almost nothing
(AR@100 < 0.05) has no wrong detections for the wrong reason, so it ranks after every run that
finds objects. Runs without evaluations rank last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from burgerfries.keys import LOSS_WEIGHT_KNOBS
from burgerfries.report.summary import STEP_COLUMNS


@dataclass(frozen=True)
class Criterion:
    column: str
    higher_is_better: bool
    label: str
    by_size: bool = False  # compare |value| (the eval − train gap: over- and under-fitting alike)

    def key(self, row: pd.Series) -> float:
        value = float(row.get(self.column, float("nan")))
        if self.column == "AR_100":
            return float(value < MIN_RECALL)
        if self.by_size:
            value = abs(value)
        return -value if self.higher_is_better else value

    def describe(self, row: pd.Series) -> str:
        value = float(row.get(self.column, float("nan")))
        if self.column == "wrong_detection_rate":
            return f"{value:.3f} wrong detections per image"
        if self.by_size:
            return f"|eval − train| {abs(value):.4f}"
        if self.column == "AR_100":
            return f"AR@100 {value:.3f}" + (" (detects almost nothing)" if value < MIN_RECALL else "")
        return f"{self.label} {value:.4f}"


MIN_RECALL = 0.05  # below this AR@100 a run finds almost nothing, so "no wrong detections" means little

DEFAULT_RULE = (
    Criterion("AR_100", False, "finding objects at all"),
    Criterion("wrong_detection_rate", False, "wrong detections"),
    Criterion("eval_loss", False, "eval loss"),
    Criterion("gap", False, "eval − train gap", by_size=True),
    Criterion("avg_recall", True, "avg recall"),
)
# The names sweep YAML files use (`selection:`)
CRITERIA = dict(zip(["detects_objects", "wrong_detections", "eval_loss", "gap", "avg_recall"], DEFAULT_RULE))
NOISE_Z = 1.96  # a 95 % two-sided band
# Quantities with a noise floor: the criteria's columns and the report's headline numbers.
NOISE_COLUMNS = (
    "eval_loss",
    "eval_loss_unweighted",
    "gap",
    "gap_unweighted",
    "avg_recall",
    "wrong_detection_rate",
    "mAP_50",
)


FINISHED = "FINISHED"


def finished_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The rows of runs that finished (all rows when the frame has no status)."""
    return runs[runs["status"] == FINISHED] if "status" in runs else runs


WEIGHT_COLUMNS = list(LOSS_WEIGHT_KNOBS)
WEIGHTED = "weighted"
UNWEIGHTED = "unweighted"
# The loss criteria and their weight-1 counterparts (summary columns).
UNWEIGHTED_COLUMNS = {"eval_loss": "eval_loss_unweighted", "gap": "gap_unweighted"}


def _weightings(summaries: pd.DataFrame) -> int:
    """How many different (classification, localization) loss weightings these runs trained with."""
    if not all(column in summaries for column in WEIGHT_COLUMNS):
        return 1
    return len(summaries[WEIGHT_COLUMNS].apply(pd.to_numeric, errors="coerce").drop_duplicates())


def loss_basis(summaries: pd.DataFrame) -> str:
    """Which loss to rank these runs by: the unweighted one when they differ in loss weights.

    The weighted total scales with the weights being compared (at classification weight 0.5 the
    classification term is halved), so across weights it would favour the smaller weights
    whatever the detectors learned. Runs logged before the unweighted losses existed have none;
    they are ranked on the weighted loss, and `loss_basis_note` says so.
    """
    if _weightings(summaries) < 2:
        return WEIGHTED
    evaluated = summaries[summaries["eval_loss"].notna()] if "eval_loss" in summaries else summaries
    unweighted = evaluated.get("eval_loss_unweighted")
    if unweighted is None or unweighted.isna().any():
        return WEIGHTED
    return UNWEIGHTED


def loss_basis_note(summaries: pd.DataFrame, basis: str) -> str:
    """One sentence for the report: which loss a table ranks by, and why."""
    if basis == UNWEIGHTED:
        return (
            "Eval loss and the eval − train gap are compared unweighted (classification and localization "
            "at weight 1, plus regularization): these runs differ in loss weights, and the weighted total "
            "shrinks with the weights themselves."
        )
    if _weightings(summaries) > 1:
        return (
            "These runs differ in loss weights but logged no unweighted loss (they predate it), so they are "
            "compared on the weighted total, which favours smaller weights."
        )
    return "Eval loss is the weighted total the runs trained on (all share one loss weighting)."


def fair_rule(rule: tuple[Criterion, ...], basis: str) -> tuple[Criterion, ...]:
    """`rule` with its loss criteria read unweighted when `basis` says so."""
    if basis != UNWEIGHTED:
        return rule
    return tuple(
        replace(c, column=UNWEIGHTED_COLUMNS[c.column], label=f"unweighted {c.label}")
        if c.column in UNWEIGHTED_COLUMNS
        else c
        for c in rule
    )


def rule_from_names(names: list[str]) -> tuple[Criterion, ...]:
    unknown = [name for name in names if name not in CRITERIA]
    if unknown:
        raise ValueError(f"unknown selection criteria {unknown}; choose from {list(CRITERIA)}")
    return tuple(CRITERIA[name] for name in names)


def noise_floor(runs: pd.DataFrame) -> dict[str, float]:
    """The pooled seed-to-seed standard deviation of each quantity in NOISE_COLUMNS, over the
    configurations with at least two finished runs (grouped by phase and configuration, so a run
    reused by a later phase counts once per group); {} when no configuration has two."""
    finished = finished_runs(runs)
    keys = [key for key in ("phase", "config_key") if key in finished]
    if not keys or finished.empty:
        return {}
    groups = [members for _, members in finished.groupby(keys, sort=False) if len(members) >= 2]
    floor = {}
    for column in NOISE_COLUMNS:
        if not groups or column not in finished:
            continue
        values = [members[column].astype(float).dropna() for members in groups]
        dof = sum(len(v) - 1 for v in values if len(v) >= 2)
        if dof > 0:
            squares = sum(float(((v - v.mean()) ** 2).sum()) for v in values if len(v) >= 2)
            floor[column] = math.sqrt(squares / dof)
    return floor


def confidence_half_width(values: pd.Series) -> float:
    """Half the width of the 95 % confidence interval of the mean (Student's t); NaN under 2 values."""
    values = values.astype(float).dropna()
    if len(values) < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))


def pick_stability(
    per_config: pd.DataFrame,
    rule: tuple[Criterion, ...],
    noise: dict[str, float],
    label_column: str = "varied",
    resamples: int = 400,
    seed: int = 0,
) -> float | None:
    """The share of resamples in which the first of `per_config` (ranked, one row per configuration
    or finalist, `runs` per row) still ranks first: each row's criteria values are redrawn around
    its mean with the measured seed-to-seed noise (σ/√runs), and the rows are ranked again by the
    same rule, compared exactly (a pick that won a within-noise tie on a later criterion is then
    first only as often as its values happen to be best). None without a noise floor."""
    columns = [c.column for c in rule if c.column in noise and c.column in per_config]
    if not columns or len(per_config) < 2:
        return None
    generator = np.random.default_rng(seed)
    counts = per_config["runs"].astype(float) if "runs" in per_config else pd.Series(1.0, index=per_config.index)
    winner = per_config.index[0]
    wins = 0
    for _ in range(resamples):
        drawn = per_config.copy()
        for column in columns:
            drawn[column] = drawn[column].astype(float) + generator.normal(0.0, noise[column] / np.sqrt(counts))
        wins += rank_runs(drawn, rule, label_column).index[0] == winner
    return wins / resamples


def rank_runs(
    summaries: pd.DataFrame,
    rule: tuple[Criterion, ...] = DEFAULT_RULE,
    label_column: str = "name",
    noise: dict[str, float] | None = None,
) -> pd.DataFrame:
    """`summaries` (one row per run or configuration, index its id; `runs` = how many runs a row
    averages, default 1) ranked best first, with `rank` and `reason`.

    Criterion by criterion: the best row and every row within noise of it (see the module) form a
    group that the next criterion orders; then the best of the rest, and so on. Rows tied on every
    criterion keep the order of their ids."""
    if summaries.empty:
        return summaries.assign(rank=[], reason=[])
    noise = noise or {}
    evaluated = summaries["eval_loss"].notna()
    counts = summaries["runs"] if "runs" in summaries else pd.Series(1, index=summaries.index)
    keys = {row_id: tuple(_nan_last(c.key(summaries.loc[row_id])) for c in rule) for row_id in summaries.index}

    def within_noise(level: int, a: str, b: str) -> bool:
        criterion, key_a, key_b = rule[level], keys[a][level], keys[b][level]
        if key_a == key_b:
            return True
        sigma = noise.get(criterion.column)
        if sigma is None or math.isinf(key_a) or math.isinf(key_b):
            return False
        return abs(key_a - key_b) <= NOISE_Z * sigma * math.sqrt(1 / counts[a] + 1 / counts[b])

    def order(ids: list[str], level: int) -> list[tuple[str, int]]:
        """(id, the criterion level that put it behind the previous id) in ranked order."""
        if level == len(rule) or len(ids) == 1:
            return [(row_id, len(rule)) for row_id in sorted(ids, key=str)]
        remaining = sorted(ids, key=lambda row_id: (keys[row_id][level], str(row_id)))
        placed: list[tuple[str, int]] = []
        while remaining:
            leader = remaining[0]
            group = [row_id for row_id in remaining if within_noise(level, leader, row_id)]
            ordered = order(group, level + 1)
            if placed:
                ordered[0] = (ordered[0][0], level)
            placed += ordered
            remaining = [row_id for row_id in remaining if row_id not in group]
        return placed

    good = [row_id for row_id in summaries.index if evaluated[row_id]]
    ranked_ids = order(good, 0) if good else []
    ranked_ids += [(row_id, -1) for row_id in sorted(summaries.index[~evaluated], key=str)]
    ids = [row_id for row_id, _ in ranked_ids]
    ranked = summaries.loc[ids].copy()
    ranked["rank"] = range(1, len(ids) + 1)
    reasons = []
    for position, row_id in enumerate(ids):
        if not evaluated[row_id]:
            reasons.append("no evaluation logged (failed or unfinished run)")
        elif position + 1 == len(ids):
            reasons.append("last" if position else "the only run")
        else:
            following, level = ranked_ids[position + 1]
            other_label = str(ranked.iloc[position + 1].get(label_column, following))
            reasons.append(
                _why_ahead(ranked.iloc[position], ranked.iloc[position + 1], rule, level, other_label, noise)
            )
    ranked["reason"] = reasons
    # What put each row ahead of the next, and whether that difference is beyond the noise floor
    # (None: no noise floor for that criterion, so it was compared exactly).
    decided_by, beyond_noise = [], []
    for position in range(len(ids)):
        level = ranked_ids[position + 1][1] if position + 1 < len(ids) else len(rule)
        criterion = rule[level] if 0 <= level < len(rule) else None
        decided_by.append(criterion.label if criterion else ("having an evaluation" if level < 0 else ""))
        beyond_noise.append(True if criterion and criterion.column in noise else None)
    ranked["decided_by"] = decided_by
    ranked["beyond_noise"] = beyond_noise
    return ranked


def lead_sentence(ranked: pd.DataFrame, noise: dict[str, float]) -> str:
    """Whether the first row's lead over the second exceeds the noise floor, in words."""
    if len(ranked) < 2:
        return "Only one configuration finished: nothing to compare."
    top = ranked.iloc[0]
    if not noise:
        return (
            f"No configuration here has repeated runs, so no noise floor: {top['varied']} leads on "
            f"{top['decided_by'] or 'order alone'}, compared exactly."
        )
    if not top["decided_by"]:
        return f"{top['varied']} is first only by order: every criterion is within the noise floor."
    if top["beyond_noise"]:
        return f"{top['varied']}'s lead on {top['decided_by']} exceeds the noise floor."
    return f"{top['varied']} leads on {top['decided_by']}, which has no noise floor here (compared exactly)."


def _nan_last(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _why_ahead(
    row: pd.Series,
    other: pd.Series,
    rule: tuple[Criterion, ...],
    level: int,
    other_label: str,
    noise: dict[str, float],
) -> str:
    """Why `row` ranks just ahead of `other`: the criterion at `level` separated them; the ones
    before it were equal or within noise (said where it was noise)."""
    if level < 0:
        return f"ahead of {other_label}, which has no evaluation"
    within = [
        f"{c.label} within noise ({c.describe(row)} vs {c.describe(other)}, σ {noise[c.column]:.4f})"
        for c in rule[:level]
        if c.column in noise and _nan_last(c.key(row)) != _nan_last(c.key(other))
    ]
    prefix = "; ".join(within) + "; " if within else ""
    if level == len(rule):
        return f"{prefix}tied with {other_label} on every criterion; kept in order"
    criterion = rule[level]
    return (
        f"{prefix}ahead of {other_label} on {criterion.label}: {criterion.describe(row)} vs {criterion.describe(other)}"
    )


def rank_configurations(
    summaries: pd.DataFrame,
    rule: tuple[Criterion, ...] = DEFAULT_RULE,
    basis: str | None = None,
    noise: dict[str, float] | None = None,
) -> pd.DataFrame:
    """`summaries`: one row per run (index run id) with `config_key`, `varied` (the label),
    `status` and the summary columns. Returns one row per configuration, best first, with the
    means over its finished runs, `runs` (how many), `run_id` (its best run), `rank`, `reason`
    and `loss_basis` (weighted or unweighted: `loss_basis` decides unless `basis` is given).
    The noise floor is these runs' own (`noise_floor`) unless `noise` is given."""
    finished = finished_runs(summaries)
    if finished.empty:
        return finished.assign(runs=[], run_id=[], rank=[], reason=[], loss_basis=[])
    basis = basis or loss_basis(finished)
    rule = fair_rule(rule, basis)
    noise = noise_floor(finished) if noise is None else noise
    # means of the quantities; the representative run's own seed and read steps stay as they are
    numeric = [c for c in finished.select_dtypes("number").columns if c not in ("rank", "seed", *STEP_COLUMNS)]
    rows = {}
    for key, members in finished.groupby("config_key", sort=False):
        best = rank_runs(members, rule, noise=noise).index[0]
        row = members.loc[best].copy()
        row[numeric] = members[numeric].mean()
        row["runs"] = len(members)
        row["run_id"] = best
        for column in NOISE_COLUMNS:
            if column in members:
                row[f"{column}_ci"] = confidence_half_width(members[column])
        rows[key] = row
    per_config = pd.DataFrame.from_dict(rows, orient="index")
    per_config = per_config.astype({column: float for column in numeric if column in per_config}, errors="ignore")
    return rank_runs(per_config, rule, label_column="varied", noise=noise).assign(loss_basis=basis)
