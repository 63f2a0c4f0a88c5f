"""The winner rule and the one ranking of configurations, used by the sweep (phase winners) and
the report (phase tables, final pick) alike: an ordered list of criteria, compared
lexicographically, with the reason for each place spelled out.

A configuration competes on the means of its finished runs (several with seed repeats); its best
run represents it. Runs that did not finish (KILLED, FAILED, still RUNNING) are ranked out.

Default, after the original study: runs with wrong detections rank after runs without; then
lower eval loss at the flatten point (unweighted when the runs differ in loss weights: see
`loss_basis`); then the smaller |eval − train| gap (less over- or
under-fitting); then the higher average recall (mean of AR@1, AR@10, AR@100). One guard comes
first: a run that finds almost nothing (AR@100 < 0.05) has no wrong detections for the wrong
reason, so it ranks after every run that finds objects. Runs without evaluations rank last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Criterion:
    column: str
    higher_is_better: bool
    label: str

    def key(self, row: pd.Series) -> float:
        value = float(row.get(self.column, float("nan")))
        if self.column == "AR_100":
            return float(value < MIN_RECALL)
        if self.column in ("gap", "gap_unweighted"):
            value = abs(value)
        if self.column == "wrong_detections":
            value = float(value > 0)
        return -value if self.higher_is_better else value

    def describe(self, row: pd.Series) -> str:
        value = float(row.get(self.column, float("nan")))
        if self.column == "wrong_detections":
            return "no wrong detections" if value == 0 else f"{value:g} wrong detections"
        if self.column in ("gap", "gap_unweighted"):
            return f"|eval − train| {abs(value):.4f}"
        if self.column == "AR_100":
            return f"AR@100 {value:.3f}" + (" (detects almost nothing)" if value < MIN_RECALL else "")
        return f"{self.label} {value:.4f}"


MIN_RECALL = 0.05  # below this AR@100 a run finds almost nothing, so "no wrong detections" means little

DEFAULT_RULE = (
    Criterion("AR_100", False, "finding objects at all"),
    Criterion("wrong_detections", False, "wrong detections"),
    Criterion("eval_loss", False, "eval loss"),
    Criterion("gap", False, "eval − train gap"),
    Criterion("avg_recall", True, "avg recall"),
)
CRITERIA = {c.column: c for c in DEFAULT_RULE}
CRITERIA["detects_objects"] = CRITERIA.pop("AR_100")  # the guard's name in sweep YAML files


WEIGHT_COLUMNS = ["classification_weight", "localization_weight"]
WEIGHTED = "weighted"
UNWEIGHTED = "unweighted"
# The loss criteria and their weight-1 counterparts (summary columns).
UNWEIGHTED_COLUMNS = {"eval_loss": "eval_loss_unweighted", "gap": "gap_unweighted"}


def loss_basis(summaries: pd.DataFrame) -> str:
    """Which loss to rank these runs by: the unweighted one when they differ in loss weights.

    The weighted total scales with the weights being compared (at classification weight 0.5 the
    classification term is halved), so across weights it would favour the smaller weights
    whatever the detectors learned. Runs logged before the unweighted losses existed have none;
    they are ranked on the weighted loss, and `loss_basis_note` says so.
    """
    if not all(column in summaries for column in WEIGHT_COLUMNS):
        return WEIGHTED
    weights = summaries[WEIGHT_COLUMNS].apply(pd.to_numeric, errors="coerce").drop_duplicates()
    if len(weights) < 2:
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
    weights = summaries[WEIGHT_COLUMNS].apply(pd.to_numeric, errors="coerce").drop_duplicates()
    if len(weights) > 1:
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
        Criterion(UNWEIGHTED_COLUMNS[c.column], c.higher_is_better, f"unweighted {c.label}")
        if c.column in UNWEIGHTED_COLUMNS
        else c
        for c in rule
    )


def rule_from_names(names: list[str]) -> tuple[Criterion, ...]:
    unknown = [name for name in names if name not in CRITERIA]
    if unknown:
        raise ValueError(f"unknown selection criteria {unknown}; choose from {list(CRITERIA)}")
    return tuple(CRITERIA[name] for name in names)


def rank_runs(
    summaries: pd.DataFrame, rule: tuple[Criterion, ...] = DEFAULT_RULE, label_column: str = "name"
) -> pd.DataFrame:
    """`summaries` (one row per run, index run id) ranked best first, with `rank` and `reason`."""
    if summaries.empty:
        return summaries.assign(rank=[], reason=[])
    evaluated = summaries["eval_loss"].notna()

    def sort_key(run_id: str) -> tuple:
        row = summaries.loc[run_id]
        if not evaluated[run_id]:
            return (1,) + tuple(math.inf for _ in rule)
        return (0,) + tuple(_nan_last(c.key(row)) for c in rule)

    order = sorted(summaries.index, key=lambda run_id: (sort_key(run_id), str(run_id)))
    ranked = summaries.loc[order].copy()
    ranked["rank"] = range(1, len(order) + 1)
    reasons = []
    for position, run_id in enumerate(order):
        row = ranked.loc[run_id]
        if not evaluated[run_id]:
            reasons.append("no evaluation logged (failed or unfinished run)")
            continue
        if position + 1 == len(order):
            reasons.append("last" if position else "the only run")
            continue
        following = order[position + 1]
        reasons.append(
            _why_ahead(
                row,
                ranked.loc[following],
                rule,
                evaluated[following],
                str(ranked.loc[following].get(label_column, following)),
            )
        )
    ranked["reason"] = reasons
    return ranked


def _nan_last(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _why_ahead(
    row: pd.Series, other: pd.Series, rule: tuple[Criterion, ...], other_evaluated: bool, other_label: str
) -> str:
    if not other_evaluated:
        return f"ahead of {other_label}, which has no evaluation"
    for criterion in rule:
        mine, theirs = _nan_last(criterion.key(row)), _nan_last(criterion.key(other))
        if mine != theirs:
            return (
                f"ahead of {other_label} on {criterion.label}: {criterion.describe(row)} vs {criterion.describe(other)}"
            )
    return f"tied with {other_label} on every criterion; kept in run order"


FINISHED = "FINISHED"


def rank_configurations(
    summaries: pd.DataFrame, rule: tuple[Criterion, ...] = DEFAULT_RULE, basis: str | None = None
) -> pd.DataFrame:
    """`summaries`: one row per run (index run id) with `config_key`, `varied` (the label),
    `status` and the summary columns. Returns one row per configuration, best first, with the
    means over its finished runs, `runs` (how many), `run_id` (its best run), `rank`, `reason`
    and `loss_basis` (weighted or unweighted: `loss_basis` decides unless `basis` is given)."""
    finished = summaries[summaries["status"] == FINISHED] if "status" in summaries else summaries
    if finished.empty:
        return finished.assign(runs=[], run_id=[], rank=[], reason=[], loss_basis=[])
    basis = basis or loss_basis(finished)
    rule = fair_rule(rule, basis)
    numeric = [c for c in finished.select_dtypes("number").columns if c not in ("rank",)]
    rows = {}
    for key, members in finished.groupby("config_key", sort=False):
        best = rank_runs(members, rule).index[0]
        row = members.loc[best].copy()
        row[numeric] = members[numeric].mean()
        row["runs"] = len(members)
        row["run_id"] = best
        rows[key] = row
    per_config = pd.DataFrame.from_dict(rows, orient="index")
    per_config = per_config.astype({column: float for column in numeric if column in per_config}, errors="ignore")
    return rank_runs(per_config, rule, label_column="varied").assign(loss_basis=basis)
