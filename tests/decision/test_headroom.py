"""A base at the metric's ceiling leaves nothing a phase could detect: the sweep says so and stops."""

import math
import re
from dataclasses import replace

from study_runs import MODEL, study

from burgerfries.decision.headroom import nothing_to_find
from burgerfries.decision.settings import DecisionSettings
from burgerfries.decision.tables import decision_tables
from burgerfries.runs.run_set import RunSet

BASE = [0.993, 0.999, 0.996]
CHALLENGER = [0.990, 0.998, 0.994]


def saturated(shift: float = 0.0) -> list:
    return [
        ("weights", {}, [v - shift for v in BASE], -1, True),
        ("weights", {"classification_weight": 0.5}, [v - shift for v in CHALLENGER], 1, False),
    ]


def test_a_base_at_the_ceiling_leaves_nothing_to_find_and_the_sentence_says_why():
    reason = nothing_to_find(decision_tables(study(saturated())), MODEL)
    assert reason is not None and reason.startswith("nothing was there to find")
    numbers = re.search(
        r"is (\S+) over 3 runs, (\S+) below the best possible 1, .* 9 vs 9 runs detect .* is (\S+) \(", reason
    )
    mean, headroom, effect = (float(x) for x in numbers.groups())
    last = sum(BASE) / 3 * (1 - math.exp(-6))  # the helper's curve at its last evaluation
    assert mean == round(last, 3) and headroom == round(1 - last, 3) and headroom < effect
    # the same spread further from the ceiling, by more than that effect: a gain could be found
    assert nothing_to_find(decision_tables(study(saturated(shift=effect))), MODEL) is None


def test_room_below_the_ceiling_or_an_unbounded_metric_keeps_tuning():
    plan = [("weights", {}, [0.60, 0.62, 0.58], -1, True), ("weights", {"localization_weight": 0.5}, [0.61], 0, False)]
    assert nothing_to_find(decision_tables(study(plan)), MODEL) is None
    tables = decision_tables(study(saturated()))
    assert nothing_to_find(replace(tables, settings=DecisionSettings(objective="eval_loss")), MODEL) is None
    assert nothing_to_find(tables, "a model with no runs") is None


def test_earlier_runs_widen_the_sigma_and_so_the_gain_a_phase_could_detect():
    # just further below the ceiling than this sweep's own runs could detect: keep tuning...
    alone = decision_tables(study(saturated()))
    effect = float(re.search(r"detect with 80% power is (\S+) \(", nothing_to_find(alone, MODEL)).group(1))
    runs = study(saturated(shift=effect + 0.002))
    assert nothing_to_find(decision_tables(runs), MODEL) is None
    # ...unless the model's earlier sweeps were noisier: their σ pools in, the detectable gain grows
    earlier = study([("old", {}, [0.60, 0.90, 0.70, 0.95], -1, True)])
    with_prior = RunSet("s", runs.runs, runs.metrics, prior_runs=earlier.runs, prior_metrics=earlier.metrics)
    reason = nothing_to_find(decision_tables(with_prior), MODEL)
    assert reason is not None and "dof" in reason
    other_model = earlier.runs.assign(model="another model")  # another model's noise is not this one's
    elsewhere = RunSet("s", runs.runs, runs.metrics, prior_runs=other_model, prior_metrics=earlier.metrics)
    assert nothing_to_find(decision_tables(elsewhere), MODEL) is None


def test_without_a_sigma_nothing_can_be_told_even_at_the_ceiling():
    one_run_each = [("weights", {}, [0.999], -1, True), ("weights", {"classification_weight": 0.5}, [0.998], 1, False)]
    assert nothing_to_find(decision_tables(study(one_run_each)), MODEL) is None  # no σ from single runs
