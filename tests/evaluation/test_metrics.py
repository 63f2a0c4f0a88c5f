"""Evaluation numbers on hand-built cases and against pycocotools, wrong detections, the evaluate CLI."""

import mlflow
import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from burgerfries.cli import main
from burgerfries.evaluation import coco
from burgerfries.evaluation.coco import coco_metrics
from burgerfries.evaluation.ground_truth import GroundTruth
from burgerfries.evaluation.wrong_detections import wrong_detections
from burgerfries.jobs.train import TrainSettings, train

NAMES = {1: "burger", 2: "fries"}


def truth(boxes, labels, distractors=()):
    return GroundTruth(
        "img",
        100,
        200,
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(labels),
        np.array(distractors, np.float32).reshape(-1, 4),
    )


def found(boxes, classes, scores):
    return {
        "boxes": np.array(boxes, np.float32).reshape(-1, 4),
        "classes": np.array(classes),
        "scores": np.array(scores),
    }


BOX_A, BOX_B = [0.1, 0.1, 0.5, 0.4], [0.5, 0.5, 0.9, 0.9]


def test_perfect_detections_score_one():
    truths = [truth([BOX_A], [1]), truth([BOX_B], [2])]
    metrics = coco_metrics(truths, [found([BOX_A], [1], [0.9]), found([BOX_B], [2], [0.8])], NAMES)
    for key in ("eval/mAP", "eval/mAP_50", "eval/mAP_75", "eval/AR_1", "eval/AR_100", "eval/AP_50/burger"):
        assert metrics[key] == pytest.approx(1.0), key


def test_a_missed_box_halves_recall():
    truths = [truth([BOX_A], [1]), truth([BOX_B], [1])]
    metrics = coco_metrics(truths, [found([BOX_A], [1], [0.9]), found([], [], [])], NAMES)
    assert metrics["eval/AR_100"] == pytest.approx(0.5)
    assert metrics["eval/mAP_50"] == pytest.approx(51 / 101)  # precision 1 up to recall 0.5 of 101 points


def test_a_false_positive_ranked_first_halves_precision():
    truths = [truth([BOX_A], [1])]
    detections = [found([BOX_B, BOX_A], [1, 1], [0.95, 0.9])]
    assert coco_metrics(truths, detections, NAMES)["eval/mAP_50"] == pytest.approx(0.5)
    ranked_last = [found([BOX_A, BOX_B], [1, 1], [0.95, 0.9])]
    assert coco_metrics(truths, ranked_last, NAMES)["eval/mAP_50"] == pytest.approx(1.0)


def test_undefined_metrics_are_left_out_not_zero():
    # image 100×200 px: BOX_A is 40×60 px (medium), no small or large ground truth, no fries at all
    truths = [truth([BOX_A], [1])]
    for detections in ([found([BOX_A], [1], [0.9])], [found([], [], [])]):
        metrics = coco_metrics(truths, detections, NAMES)
        assert "eval/mAP_small" not in metrics and "eval/mAP_large" not in metrics and "eval/AR_large" not in metrics
        assert "eval/AP_50/fries" not in metrics
        assert "eval/mAP_medium" in metrics and "eval/AP_50/burger" in metrics
    assert metrics["eval/mAP_50"] == 0.0 and metrics["eval/AR_100"] == 0.0  # found nothing: defined, and 0
    assert coco_metrics([truth([], [])], [found([], [], [])], NAMES) == {}


def test_the_metrics_are_pycocotools_numbers(monkeypatch):
    """faster-coco-eval stands in for pycocotools' COCOeval: on many images with boxes of every COCO
    area range, near misses, duplicates, confusions and false positives, both give the same metrics."""
    rng = np.random.default_rng(7)
    truths, detections = [], []
    for _ in range(40):
        count = int(rng.integers(1, 5))
        size = np.minimum(rng.choice([0.1, 0.4, 0.8], count)[:, None] * rng.uniform(0.7, 1.3, (count, 2)), 0.95)
        corner = rng.uniform(0, 1 - size)
        boxes = np.concatenate([corner, corner + size], axis=1)
        labels = rng.integers(1, 3, count)
        truths.append(truth(boxes, labels))
        jittered = boxes + rng.normal(0, 0.03, boxes.shape) * size.repeat(2, axis=1)
        extra = rng.uniform(0, 0.5, (int(rng.integers(0, 30)), 2))
        noise = np.concatenate([extra, extra + rng.uniform(0.02, 0.5, extra.shape)], axis=1)
        found_boxes = np.concatenate([jittered, jittered[: count // 2], noise])
        found_classes = np.concatenate([labels, 3 - labels[: count // 2], rng.integers(1, 3, len(noise))])
        detections.append(found(np.clip(found_boxes, 0, 1), found_classes, rng.uniform(0, 1, len(found_boxes))))
    ours = coco_metrics(truths, detections, NAMES)
    monkeypatch.setattr(coco, "COCO", COCO)
    monkeypatch.setattr(
        coco, "COCOeval_faster", lambda ground, results, kind, print_function: COCOeval(ground, results, kind)
    )
    reference = coco_metrics(truths, detections, NAMES)
    assert {"eval/mAP_small", "eval/mAP_medium", "eval/mAP_large", "eval/AP_50/fries"} <= set(reference)
    assert 0.1 < reference["eval/mAP_50"] < 0.95  # neither trivial case
    assert ours == pytest.approx(reference, rel=1e-9, abs=1e-12)


def test_wrong_detections_are_counted_and_placed():
    cup = [0.6, 0.0, 0.9, 0.3]
    truths = [truth([BOX_A, BOX_B], [1, 2], distractors=[cup])]
    detections = [
        found(
            [BOX_A, BOX_B, cup, [0.0, 0.6, 0.2, 0.9], BOX_A, [0.0, 0.6, 0.2, 0.9]],
            [1, 1, 2, 2, 1, 1],
            [0.9, 0.8, 0.7, 0.6, 0.55, 0.3],
        )
    ]  # right, wrong class, on the cup, on background, duplicate, too weak
    metrics = wrong_detections(truths, detections, NAMES, score_threshold=0.5)
    assert metrics["eval/wrong_detections"] == 3
    assert metrics["eval/wrong_detections_class_confusion"] == 1
    assert metrics["eval/wrong_detections_on_distractors"] == 1
    assert metrics["eval/wrong_detections_on_background"] == 1
    assert metrics["eval/wrong_detections/burger"] == 1 and metrics["eval/wrong_detections/fries"] == 2


def test_evaluate_cli_logs_into_the_run_and_refuses_bad_ids(
    synthetic_data, tmp_path, tracking_uri, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    data = synthetic_data
    result = train(
        TrainSettings(data=data, profile="tiny", num_steps=3, batch_size=2, checkpoint_root=tmp_path / "ck"),
        progress=False,
    )
    assert main(["evaluate", "--run-id", result.run_id, "--data", str(data)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == result.run_id
    history = mlflow.MlflowClient().get_metric_history(result.run_id, "eval/mAP_50")
    assert [m.step for m in history] == [3]
    assert main(["evaluate", "--run-id", result.run_id, "--data", str(data), "--new-run"]) == 0
    new_run = capsys.readouterr().out.strip().splitlines()[-1]
    assert mlflow.MlflowClient().get_run(new_run).data.tags["evaluated_run_id"] == result.run_id
    assert main(["evaluate", "--run-id", "0123456789abcdef", "--data", str(data)]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["evaluate", "--run-id", result.run_id, "--data", str(data), "--step", "99"]) == 1
    assert "no checkpoint at step 99" in capsys.readouterr().err


def test_one_eval_trace_for_a_split_that_does_not_fill_its_last_batch(synthetic_data):
    """The last batch is filled with copies of its last image: the eval step keeps one shape, and
    the copies change no image's losses or detections. Compared: losses, the number of detections
    and the top score, which hold across CPUs (an untrained detector ties many scores, so which box
    wins a tie, and so the rest of the list, may differ with the batch size's kernels)."""
    from burgerfries.evaluation.evaluator import Evaluation
    from burgerfries.model.config import build_config
    from burgerfries.training.assemble import assemble

    config = build_config("ssd_mobilenet_v2_320x320", "tiny", 2, {"batch_size": 2})
    detector = assemble(config, synthetic_data / "train.record").detector
    padded, one_by_one = Evaluation(synthetic_data, batch_size=4), Evaluation(synthetic_data, batch_size=1)
    assert len(padded.truths) % 4  # the last batch is not full
    losses, detections = padded.predict(detector)
    padded.predict(detector)
    assert padded._eval_steps[detector].experimental_get_tracing_count() == 1
    expected_losses, expected_detections = one_by_one.predict(detector)
    assert losses == pytest.approx(expected_losses, rel=1e-4, abs=1e-6)
    assert len(detections) == len(expected_detections) == len(padded.truths)
    for ours, expected in zip(detections, expected_detections):
        assert len(ours["scores"]) == len(expected["scores"])
        assert ours["scores"][0] == pytest.approx(expected["scores"][0], rel=1e-4, abs=1e-6)
