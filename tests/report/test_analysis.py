"""Plateau points on curves whose answer is known, and the winner rule's tie-breaks."""

import numpy as np
import pandas as pd
import pytest

from burgerfries.report.plateau import plateau_point
from burgerfries.report.selection import (
    loss_basis,
    loss_basis_note,
    noise_floor,
    pick_stability,
    rank_configurations,
    rank_runs,
    rule_from_names,
)
from burgerfries.report.summary import summarize_run
from burgerfries.report.tables import rank_groups

STEPS = list(range(100, 1100, 100))


def curve(values, steps=STEPS):
    return pd.Series(values, index=steps[: len(values)], dtype=float)


def test_clean_decreasing_curve_flattens_where_it_stops_improving():
    values = [3.0, 2.0, 1.2, 0.8, 0.62, 0.6, 0.6, 0.6, 0.6, 0.6]
    point = plateau_point(curve(values), decreasing=True, smoothing=1.0)  # no smoothing: exact answer
    # total improvement 2.4; at step 500 the remaining improvement is 0.02 ≤ 5 % (0.12), at 400 it is 0.2
    assert (point.step, point.status) == (500, "flattened")


def test_increasing_curve_plateau_is_the_mirror():
    values = [0.1, 0.5, 0.8, 0.9, 0.92, 0.93, 0.93, 0.93]
    assert plateau_point(curve(values), decreasing=False, smoothing=1.0).step == 400


def test_noise_does_not_move_the_flatten_point_much():
    rng = np.random.default_rng(0)
    base = 0.5 + 2.5 * np.exp(-np.arange(20) / 2.0)
    steps = list(range(50, 1050, 50))
    clean = plateau_point(curve(base, steps), decreasing=True).step
    noisy = plateau_point(curve(base + rng.normal(0, 0.03, 20), steps), decreasing=True).step
    assert clean is not None and noisy is not None and abs(noisy - clean) <= 150


def test_special_cases_are_named():
    assert plateau_point(curve([2.0, 1.0]), decreasing=True).status == "too short"
    constant = plateau_point(curve([1.0] * 5), decreasing=True)
    assert (constant.step, constant.status) == (100, "constant")
    never = plateau_point(curve([5.0, 4.0, 3.0, 2.0, 1.0]), decreasing=True)
    assert (never.step, never.status) == (None, "never flattens")
    with_nan = plateau_point(curve([3.0, float("nan"), 1.0, 0.5, 0.5, 0.5]), decreasing=True, smoothing=1.0)
    assert with_nan.step == 400 and with_nan.status == "flattened"


def test_run_summary_reads_everything_at_the_flatten_point():
    rows = [("eval/loss_total", s, v) for s, v in zip(STEPS[:6], [3.0, 2.0, 1.0, 0.6, 0.6, 0.6])]
    rows += [("eval/mAP_50", s, v) for s, v in zip(STEPS[:6], [0.0, 0.3, 0.6, 0.8, 0.8, 0.8])]
    rows += [
        (k, s, v)
        for k, v in (("eval/AR_1", 0.3), ("eval/AR_10", 0.6), ("eval/AR_100", 0.9), ("eval/wrong_detections", 2.0))
        for s in STEPS[:6]
    ]
    rows += [("train/loss_total", s, 0.5) for s in range(1, 601)] + [
        ("train/steps_per_sec", s, 10.0) for s in range(1, 601)
    ]
    summary = summarize_run(pd.DataFrame(rows, columns=["key", "step", "value"]))
    assert summary["flatten_step"] == summary["read_step"]
    assert summary["eval_loss"] == pytest.approx(0.6, abs=0.1)
    assert summary["train_loss"] == pytest.approx(0.5)
    assert summary["gap"] == pytest.approx(summary["eval_loss"] - 0.5)
    assert summary["avg_recall"] == pytest.approx(0.6)
    assert summary["wrong_detections"] == 2 and summary["steps_per_sec"] == 10


def runs(**columns):
    frame = pd.DataFrame(columns)
    frame.index = [f"run{i}" for i in range(len(frame))]
    frame["name"] = frame.index
    return frame


def test_rule_wrong_detections_first_then_eval_loss():
    frame = runs(wrong_detection_rate=[1.0, 0.0, 0.0], eval_loss=[0.1, 0.5, 0.4], gap=[0.0] * 3, avg_recall=[0.5] * 3)
    ranked = rank_runs(frame)
    assert list(ranked.index) == ["run2", "run1", "run0"]
    assert "eval loss" in ranked.loc["run2", "reason"]
    assert "wrong detections" in ranked.loc["run1", "reason"]


def test_rule_ties_broken_by_gap_then_recall():
    frame = runs(wrong_detection_rate=[0.0] * 3, eval_loss=[0.5] * 3, gap=[0.3, -0.1, 0.1], avg_recall=[0.9, 0.2, 0.8])
    ranked = rank_runs(frame)
    # |−0.1| ties |0.1| (the gap counts in size, either way), so the higher recall decides; |0.3| is last
    assert list(ranked.index) == ["run2", "run1", "run0"]
    assert "avg recall" in ranked.loc["run2", "reason"] and "gap" in ranked.loc["run1", "reason"]
    frame = runs(wrong_detection_rate=[0.0] * 2, eval_loss=[0.5] * 2, gap=[0.1, 0.1], avg_recall=[0.4, 0.7])
    ranked = rank_runs(frame)
    assert list(ranked.index) == ["run1", "run0"] and "avg recall" in ranked.loc["run1", "reason"]


def test_runs_without_evaluation_rank_last_and_rules_are_configurable():
    frame = runs(
        wrong_detection_rate=[np.nan, 3.0], eval_loss=[np.nan, 0.9], gap=[np.nan, 0.0], avg_recall=[np.nan, 0.1]
    )
    ranked = rank_runs(frame)
    assert list(ranked.index) == ["run1", "run0"] and "no evaluation" in ranked.loc["run0", "reason"]
    by_recall = rank_runs(
        runs(wrong_detection_rate=[0.0, 0.0], eval_loss=[0.1, 0.9], gap=[0, 0], avg_recall=[0.1, 0.9]),
        rule_from_names(["avg_recall"]),
    )
    assert list(by_recall.index) == ["run1", "run0"]
    with pytest.raises(ValueError, match="unknown selection criteria"):
        rule_from_names(["speed"])


def test_a_run_that_finds_nothing_does_not_win_on_having_no_wrong_detections():
    frame = runs(
        AR_100=[0.01, 0.6],
        wrong_detection_rate=[0.0, 4.0],
        eval_loss=[0.3, 0.9],
        gap=[0.0, 0.0],
        avg_recall=[0.01, 0.5],
    )
    ranked = rank_runs(frame)
    assert list(ranked.index) == ["run1", "run0"]
    assert "finding objects at all" in ranked.loc["run1", "reason"]


def test_runs_that_differ_in_loss_weights_are_ranked_on_the_unweighted_loss():
    # 0.5:1 halves its classification term, so its weighted total is lower whatever it learned
    frame = runs(
        classification_weight=[0.5, 1.0],
        localization_weight=[1.0, 1.0],
        AR_100=[0.6, 0.6],
        wrong_detection_rate=[0.0, 0.0],
        eval_loss=[0.4, 0.6],
        gap=[0.0, 0.0],
        eval_loss_unweighted=[0.7, 0.6],
        gap_unweighted=[0.0, 0.0],
        avg_recall=[0.5, 0.5],
        config_key=["half", "one"],
        varied=["0.5:1", "1:1"],
        status=["FINISHED", "FINISHED"],
    )
    ranked = rank_configurations(frame)
    assert list(ranked["varied"]) == ["1:1", "0.5:1"] and set(ranked["loss_basis"]) == {"unweighted"}
    assert "unweighted eval loss" in ranked["reason"].iloc[0]
    assert list(rank_configurations(frame, basis="weighted")["varied"]) == ["0.5:1", "1:1"]
    same_weights = frame.assign(classification_weight=1.0)
    assert rank_configurations(same_weights)["loss_basis"].iloc[0] == "weighted"
    before_unweighted_losses = frame.assign(eval_loss_unweighted=np.nan)
    assert loss_basis(before_unweighted_losses) == "weighted"
    assert "predate" in loss_basis_note(before_unweighted_losses, "weighted")


def seeded_runs(eval_losses: dict[str, list[float]], avg_recall: dict[str, float]) -> pd.DataFrame:
    """Finished runs of configurations (label → one eval loss per seed), same weights, no wrong detections."""
    rows = []
    for label, losses in eval_losses.items():
        for seed, loss in enumerate(losses):
            rows.append(
                {
                    "config_key": label,
                    "varied": label,
                    "status": "FINISHED",
                    "phase": "lr",
                    "AR_100": 0.6,
                    "wrong_detection_rate": 0.0,
                    "eval_loss": loss,
                    "gap": 0.0,
                    "avg_recall": avg_recall[label],
                    "seed": seed,
                }
            )
    frame = pd.DataFrame(rows)
    frame.index = [f"run{i}" for i in range(len(frame))]
    return frame


def test_a_difference_within_the_noise_floor_falls_through_to_the_next_criterion():
    # the base's three seeds spread by 0.05; 0.02 lower eval loss is within noise, so recall decides
    frame = seeded_runs({"0.04": [0.45, 0.50, 0.55], "0.03": [0.48]}, {"0.04": 0.7, "0.03": 0.5})
    assert noise_floor(frame)["eval_loss"] == pytest.approx(0.05)
    ranked = rank_configurations(frame)
    assert list(ranked["varied"]) == ["0.04", "0.03"] and list(ranked["runs"]) == [3, 1]
    assert "eval loss within noise" in ranked["reason"].iloc[0] and "avg recall" in ranked["reason"].iloc[0]
    assert ranked["eval_loss_ci"].iloc[0] == pytest.approx(4.303 * 0.05 / np.sqrt(3), rel=1e-3)
    assert np.isnan(ranked["eval_loss_ci"].iloc[1])
    # far outside the noise, eval loss decides again
    clear = rank_configurations(seeded_runs({"0.04": [0.45, 0.50, 0.55], "0.03": [0.20]}, {"0.04": 0.7, "0.03": 0.5}))
    assert list(clear["varied"]) == ["0.03", "0.04"] and "within noise" not in clear["reason"].iloc[0]
    # one run per configuration: no noise floor, exact comparison (as before seed repeats)
    single = seeded_runs({"0.04": [0.50], "0.03": [0.48]}, {"0.04": 0.7, "0.03": 0.5})
    assert noise_floor(single) == {} and list(rank_configurations(single)["varied"]) == ["0.03", "0.04"]


def test_a_configuration_of_several_runs_keeps_its_representative_runs_read_steps_and_seed():
    # three seeds whose eval loss flattens at different steps (the default study's noise-floor runs)
    frame = seeded_runs({"0.04": [0.45, 0.50, 0.55], "0.03": [0.20]}, {"0.04": 0.7, "0.03": 0.5})
    frame["read_step"] = frame["flatten_step"] = frame["map_plateau_step"] = [250, 300, 300, 300]
    ranked = rank_configurations(frame).set_index("varied")
    assert ranked.loc["0.04", "eval_loss"] == pytest.approx(0.50)  # quantities: the mean over seeds
    assert ranked.loc["0.04", "run_id"] == "run0"  # its best run represents it: read where that run is read
    assert ranked.loc["0.04", "read_step"] == 250 and ranked.loc["0.04", "seed"] == 0
    groups = rank_groups(frame.assign(model="ssd"))  # the report's tables take whole steps
    assert list(groups[("lr", "ssd")]["flatten_step"]) == [300, 250]


def test_pick_stability_is_high_for_a_clear_winner_and_unknown_without_a_noise_floor():
    frame = seeded_runs({"0.04": [0.45, 0.50, 0.55], "0.03": [0.20]}, {"0.04": 0.7, "0.03": 0.5})
    ranked = rank_configurations(frame)
    stability = pick_stability(ranked, rule_from_names(["eval_loss"]), noise_floor(frame))
    assert 0.9 <= stability <= 1.0
    close = seeded_runs({"0.04": [0.45, 0.50, 0.55], "0.03": [0.49]}, {"0.04": 0.5, "0.03": 0.5})
    rule = rule_from_names(["eval_loss"])
    close_ranked = rank_configurations(close, rule, noise={})  # ranked exactly, resampled with the noise
    assert 0.2 < pick_stability(close_ranked, rule, noise_floor(close)) < 0.9
    assert pick_stability(ranked, rule, {}) is None
