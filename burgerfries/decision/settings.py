"""How a sweep decides: the decision metric (`objective:` in a study YAML), the mode, α, how
many challengers earn confirmation seeds, and where a run's metric is read. One place for every
decision knob; a study YAML may set each (`decision:`, `decision_settings:`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from burgerfries.metrics import SUMMARY_METRICS, Metric, at_last_evaluation, at_read_point

RACING = "racing"
STUDY_RULE = "study_rule"
MODES = (RACING, STUDY_RULE)
BETTER, WORSE, INCONCLUSIVE = "better", "worse", "inconclusive"
KEPT, SWITCHED = "kept", "switched"
CARRIED = "carried"  # a reference race's outcome when a point is carried to the test at the incumbent


# The decision metrics a study YAML may name (`objective:`), each a summary metric
OBJECTIVES = {
    "mAP_50": SUMMARY_METRICS["mAP_50"],
    "eval_loss": SUMMARY_METRICS["eval_loss_unweighted"],
    "wrong_detections": SUMMARY_METRICS["wrong_detection_rate"],
    "avg_recall": SUMMARY_METRICS["avg_recall"],
    "gap": SUMMARY_METRICS["gap_unweighted"],
}
# The original study's criteria, in its order (`decision: study_rule`)
STUDY_RULE_CRITERIA = ("wrong_detections", "eval_loss", "gap", "avg_recall")


READ_AT = ("last", "read_point")


@dataclass(frozen=True)
class DecisionSettings:
    """How a sweep decides; a study YAML sets `objective:` and `decision:` (the mode), and may set
    `alpha`, `confirm`, `looks` and `read_at` under `decision_settings:`."""

    objective: str = "mAP_50"  # on the held-out split
    mode: str = RACING
    alpha: float = 0.05  # before the correction for the number of challengers
    confirm: int = 1  # challengers per phase that earn confirmation seeds
    # Looks at a close call: the confirmation (as many seeds as the incumbent's), then while the best
    # challenger is ahead but not shown better (and could still be), as many seeds again to both
    # sides, up to `looks` times the incumbent's seeds. α is spent evenly over the looks (α / looks
    # each, Bonferroni): whatever the looks find, the chance of a false switch stays at most α.
    looks: int = 3
    look_seeds: int = 3  # seeds per side added at each look (a sweep sets its incumbent's seed count)
    stop_early: bool = True  # stop clearly-worse challengers' screening trials (sweep/pruning.py)
    # Stop tuning a model whose base leaves less room to the metric's ceiling than a phase could
    # detect (decision/headroom.py). Off by default: the original study runs all its phases.
    stop_when_saturated: bool = False
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
        known = {f.name for f in fields(cls)} - {"objective", "mode", "look_seeds"}  # (the plan sets look_seeds)
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
        for switch in ("stop_early", "stop_when_saturated"):
            if switch in extra:
                if not isinstance(extra[switch], bool):
                    raise ValueError(f"{where}.decision_settings.{switch}: expected true or false")
                settings = replace(settings, **{switch: extra[switch]})
        if "looks" in extra:
            if not isinstance(extra["looks"], int) or extra["looks"] < 1:
                raise ValueError(f"{where}.decision_settings.looks: expected a whole number ≥ 1")
            settings = replace(settings, looks=extra["looks"])
        if "confirm" in extra:
            if not isinstance(extra["confirm"], int) or extra["confirm"] < 0:
                raise ValueError(f"{where}.decision_settings.confirm: expected a whole number ≥ 0")
            settings = replace(settings, confirm=extra["confirm"])
        return settings

    @property
    def metric(self) -> Metric:
        """The objective, reading the summary column of `read_at`."""
        objective = OBJECTIVES[self.objective]
        return at_last_evaluation(objective) if self.read_at == "last" else at_read_point(objective)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
