"""Diagnostics on detections whose answer is known: confusion with background, F1 by threshold, PR."""

import numpy as np

from burgerfries.evaluation.diagnostics import BACKGROUND, diagnose
from burgerfries.evaluation.ground_truth import GroundTruth

NAMES = {1: "burger", 2: "fries"}
BURGER = [0.1, 0.1, 0.4, 0.4]
FRIES = [0.5, 0.5, 0.9, 0.9]
ELSEWHERE = [0.0, 0.6, 0.3, 0.95]


def truth(boxes, labels):
    return GroundTruth("x", 100, 100, np.array(boxes, float).reshape(-1, 4), np.array(labels), np.zeros((0, 4)))


def found(boxes, classes, scores):
    return {"boxes": np.array(boxes, float).reshape(-1, 4), "classes": np.array(classes), "scores": np.array(scores)}


def test_confusion_counts_matches_confusions_misses_and_spurious_detections():
    truths = [truth([BURGER, FRIES], [1, 2]), truth([BURGER], [1])]
    detections = [
        found([BURGER, FRIES, ELSEWHERE], [1, 1, 2], [0.9, 0.8, 0.7]),  # right, fries called burger, spurious fries
        found([ELSEWHERE, BURGER], [1, 1], [0.9, 0.3]),  # spurious burger; the right one scores below 0.5
    ]
    result = diagnose(truths, detections, NAMES, score_threshold=0.5)
    matrix = result.confusion
    assert matrix.loc["burger", "burger"] == 1 and matrix.loc["fries", "burger"] == 1
    assert matrix.loc[BACKGROUND, "fries"] == 1 and matrix.loc[BACKGROUND, "burger"] == 1
    assert matrix.loc["burger", BACKGROUND] == 1  # the second image's burger, missed at 0.5
    assert result.wrong == [2, 2]
    # at 0.25 the second image's burger is found: F1 is best at a threshold below 0.5
    assert result.best_threshold < 0.35
    assert result.f1.loc[result.f1["threshold"] == 0.5, "recall"].item() == 1 / 3
    assert set(result.ap50) == {"burger", "fries"} and set(result.pr["class"]) == {"burger", "fries"}
    assert result.pr["precision"].between(0, 1).all()


def test_nothing_detected_gives_no_curve_and_every_object_missed():
    result = diagnose([truth([BURGER], [1])], [found([], [], [])], NAMES, 0.5)
    assert result.pr.empty and result.ap50 == {}
    assert result.confusion.loc["burger", BACKGROUND] == 1 and result.wrong == [1]
    assert (result.f1["f1"] == 0).all()
