"""A clearly-worse challenger's screening trial is stopped late in its run; nothing else is."""

import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from burgerfries.sweep.pruning import MARGIN, SPREADS, ClearlyWorse, curves
from burgerfries.sweep.storage import ENTRY, STEPS
from burgerfries.sweep.trials import INCUMBENT

RUN_STEPS = 300


def trial(
    point: int, seed: int, curve: dict[int, float], state: TrialState = TrialState.COMPLETE, steps: int = RUN_STEPS
):
    return create_trial(
        state=state,
        value=curve[max(curve)] if state == TrialState.COMPLETE else None,
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0, 1)},
        user_attrs={ENTRY: {"point": point, "seed": seed}, STEPS: steps},
        intermediate_values=curve,
    )


def study_with_incumbent() -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for seed, last in enumerate((0.80, 0.82, 0.81)):
        study.add_trial(trial(INCUMBENT, seed, {100: 0.5, 200: last - 0.02, 300: last}))
    return study


def test_a_screening_challenger_far_below_the_incumbent_late_in_its_run_is_stopped():
    pruner = ClearlyWorse({INCUMBENT}, repeats=1, num_steps=RUN_STEPS, higher_is_better=True)
    study = study_with_incumbent()
    far_below = trial(1, 0, {100: 0.2, 200: 0.45}, TrialState.PRUNED)
    assert pruner.prune(study, far_below)
    close = trial(1, 0, {100: 0.2, 200: 0.75}, TrialState.PRUNED)  # 0.04 behind: within the margin
    assert not pruner.prune(study, close)
    early = trial(1, 0, {100: 0.1}, TrialState.PRUNED)  # a third of the run: too early to judge
    assert not pruner.prune(study, early)


def test_the_incumbent_and_extra_seeds_are_never_stopped():
    pruner = ClearlyWorse({INCUMBENT, 0}, repeats=1, num_steps=RUN_STEPS, higher_is_better=True)
    study = study_with_incumbent()
    assert not pruner.prune(study, trial(INCUMBENT, 3, {200: 0.1}, TrialState.PRUNED))
    assert not pruner.prune(study, trial(0, 0, {200: 0.1}, TrialState.PRUNED))  # the incumbent's grid point
    assert not pruner.prune(study, trial(1, 1, {200: 0.1}, TrialState.PRUNED))  # a confirmation seed
    one_incumbent_run = optuna.create_study(direction="maximize")
    one_incumbent_run.add_trial(trial(INCUMBENT, 0, {200: 0.8, 300: 0.8}))
    assert not pruner.prune(one_incumbent_run, trial(1, 0, {200: 0.1}, TrialState.PRUNED))


def test_for_a_loss_lower_is_better():
    pruner = ClearlyWorse({INCUMBENT}, repeats=1, num_steps=RUN_STEPS, higher_is_better=False)
    study = optuna.create_study(direction="minimize")
    for seed, last in enumerate((0.30, 0.31)):
        study.add_trial(trial(INCUMBENT, seed, {200: last}))
    assert pruner.prune(study, trial(1, 0, {200: 0.6}, TrialState.PRUNED))
    assert not pruner.prune(study, trial(1, 0, {200: 0.1}, TrialState.PRUNED))


def test_after_the_first_phase_the_incumbents_reused_runs_are_what_a_challenger_is_compared_with():
    # a later phase: the incumbent's runs were trained by the phase before, none is a trial here
    study = optuna.create_study(direction="maximize")
    far_below = trial(1, 0, {200: 0.45}, TrialState.PRUNED)
    assert not ClearlyWorse({INCUMBENT}, repeats=1, num_steps=RUN_STEPS, higher_is_better=True).prune(study, far_below)
    earlier = [{100: 0.5, 200: 0.78}, {100: 0.5, 200: 0.80}, {100: 0.5, 200: 0.79}]
    pruner = ClearlyWorse({INCUMBENT}, repeats=1, num_steps=RUN_STEPS, higher_is_better=True, earlier=earlier)
    assert pruner.prune(study, far_below)
    assert not pruner.prune(study, trial(1, 0, {200: 0.75}, TrialState.PRUNED))  # within the margin


def test_the_gap_is_the_incumbents_mean_minus_the_trial_against_the_larger_of_margin_and_spreads():
    pruner = ClearlyWorse({INCUMBENT}, repeats=1, num_steps=RUN_STEPS, higher_is_better=True)
    study = study_with_incumbent()  # at step 200: 0.78, 0.80, 0.79 (mean 0.79, σ 0.01)
    trailing, threshold = pruner.gap(study, trial(1, 0, {200: 0.45}, TrialState.PRUNED))
    assert trailing == pytest.approx(0.34) and threshold == pytest.approx(MARGIN)
    spread = optuna.create_study(direction="maximize")
    for seed, value in enumerate((0.70, 0.80, 0.90)):  # σ 0.1: 4 σ = 0.4 beats the margin
        spread.add_trial(trial(INCUMBENT, seed, {200: value}))
    trailing, threshold = pruner.gap(spread, trial(1, 0, {200: 0.45}, TrialState.PRUNED))
    assert trailing == pytest.approx(0.35) and threshold == pytest.approx(SPREADS * 0.1)
    assert not pruner.prune(spread, trial(1, 0, {200: 0.45}, TrialState.PRUNED))
    assert pruner.prune(spread, trial(1, 0, {200: 0.35}, TrialState.PRUNED))


def test_the_rule_starts_at_two_thirds_of_the_run_and_a_tie_with_the_threshold_is_not_stopped():
    pruner = ClearlyWorse({INCUMBENT}, repeats=2, num_steps=RUN_STEPS, higher_is_better=True)
    study = optuna.create_study(direction="maximize")
    for seed in range(2):
        study.add_trial(trial(INCUMBENT, seed, {199: 0.5, 200: 0.5}))
    assert pruner.gap(study, trial(1, 0, {199: 0.0}, TrialState.PRUNED)) is None  # before 2/3 of 300
    assert pruner.gap(study, trial(1, 1, {200: 0.0}, TrialState.PRUNED)) is not None  # seed 1 < repeats 2
    assert pruner.gap(study, trial(1, 2, {200: 0.0}, TrialState.PRUNED)) is None  # a confirmation seed
    tie = optuna.create_study(direction="maximize")
    for seed in range(2):
        tie.add_trial(trial(INCUMBENT, seed, {200: MARGIN}))  # mean − 0.0 is exactly the margin
    assert not pruner.prune(tie, trial(1, 0, {200: 0.0}, TrialState.PRUNED))
    assert pruner.prune(study, trial(1, 0, {200: 0.39}, TrialState.PRUNED))


def test_only_finished_incumbent_runs_with_the_step_count_and_a_trial_without_an_entry_is_a_challenger():
    pruner = ClearlyWorse({INCUMBENT}, repeats=1, num_steps=RUN_STEPS, higher_is_better=True)
    study = optuna.create_study(direction="maximize")
    study.add_trial(trial(INCUMBENT, 0, {200: 0.8}))
    study.add_trial(trial(INCUMBENT, 1, {200: 0.9}, TrialState.PRUNED))  # not finished: not counted
    study.add_trial(trial(INCUMBENT, 2, {100: 0.9}))  # no evaluation at the step: not counted
    study.add_trial(trial(1, 0, {200: 0.1}))  # a finished challenger: never the incumbent
    assert pruner.gap(study, trial(1, 0, {200: 0.1}, TrialState.PRUNED)) is None  # one incumbent run
    study.add_trial(trial(INCUMBENT, 3, {200: 0.8}))
    bare = create_trial(
        state=TrialState.PRUNED,
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0, 1)},
        user_attrs={STEPS: RUN_STEPS},
        intermediate_values={200: 0.1},
    )
    assert pruner.gap(study, bare) == pytest.approx((0.7, MARGIN))


def test_a_trial_on_another_schedule_than_the_incumbents_is_never_stopped():
    # twice the incumbent's steps (a smaller batch at the same passes): at step 200 it is a third
    # through its schedule, the incumbent two thirds; far below there, but not comparable
    pruner = ClearlyWorse({INCUMBENT}, repeats=1, num_steps=RUN_STEPS, higher_is_better=True)
    study = study_with_incumbent()
    for steps in (2 * RUN_STEPS, RUN_STEPS // 2, None):  # longer, shorter, not recorded (a trial before the attribute)
        other = trial(1, 0, {200: 0.1}, TrialState.PRUNED, steps=steps)
        assert pruner.gap(study, other) is None and not pruner.prune(study, other)
    assert pruner.prune(study, trial(1, 0, {200: 0.1}, TrialState.PRUNED, steps=RUN_STEPS))


def test_curves_are_each_runs_values_of_one_key_by_step():
    metrics = pd.DataFrame(
        [
            ("a", "eval/mAP_50", 100, 0.5),
            ("a", "eval/mAP_50", 200, 0.7),
            ("b", "eval/mAP_50", 200, 0.6),
            ("a", "eval/loss_total", 200, 3.0),
        ],
        columns=["run_id", "key", "step", "value"],
    )
    assert curves(metrics, "eval/mAP_50") == [{100: 0.5, 200: 0.7}, {200: 0.6}]
    assert curves(metrics, "eval/AR_1") == []
