"""What a detector gets wrong on the held-out split: per-class precision–recall at IoU 0.5 and AP
(COCOeval's own numbers), a confusion matrix with background (missed objects and spurious
detections), F1 against the score threshold with the best threshold, and the images with the
most wrong detections. The report shows them for its finalists and logs them on their runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from PIL import Image

from burgerfries.evaluation.coco import coco_evaluation
from burgerfries.evaluation.ground_truth import GroundTruth
from burgerfries.evaluation.wrong_detections import WRONG_IOU, box_iou

BACKGROUND = "background"  # a confusion-matrix row: spurious detections; a column: missed objects
THRESHOLDS = np.round(np.arange(0.05, 1.0, 0.05), 2)


@dataclass
class Diagnostics:
    pr: pd.DataFrame  # class, recall, precision at IoU 0.5 (COCO's 101 recall points; undefined dropped)
    ap50: dict[str, float]  # per class, as COCOeval averages the curve
    confusion: pd.DataFrame  # rows: the true class (or background), columns: the predicted one (or background)
    f1: pd.DataFrame  # threshold, precision, recall, f1
    best_threshold: float  # the threshold of the highest F1 (the lowest such threshold on a tie)
    wrong: list[int]  # per eval image: spurious detections + missed objects at the score threshold


@dataclass
class FinalistDiagnostics:
    """A finalist run's diagnostics and the pictures of its images with the most wrong detections."""

    diagnostics: Diagnostics
    worst: list[Image.Image] = field(default_factory=list)  # ground truth | detections, most wrong first


def _match(truth: GroundTruth, boxes: np.ndarray, classes: np.ndarray, same_class: bool) -> list[tuple[int, int]]:
    """Greedy matching of detections (best score first; `boxes` in that order) to ground-truth
    boxes at IoU ≥ 0.5, each box used once: [(detection, truth)]. With `same_class`, only boxes of
    the detection's class match."""
    overlap = box_iou(boxes, truth.boxes)
    used: set[int] = set()
    pairs = []
    for index in range(len(boxes)):
        candidates = [
            (overlap[index, j], j)
            for j in range(len(truth.boxes))
            if j not in used
            and overlap[index, j] >= WRONG_IOU
            and (not same_class or truth.labels[j] == classes[index])
        ]
        if candidates:
            _, j = max(candidates)
            used.add(j)
            pairs.append((index, j))
    return pairs


def _confident(found: dict[str, np.ndarray], threshold: float) -> tuple[np.ndarray, np.ndarray]:
    keep = np.flatnonzero(found["scores"] >= threshold)
    keep = keep[np.argsort(-found["scores"][keep], kind="stable")]
    return found["boxes"][keep], found["classes"][keep].astype(int)


def confusion_matrix(
    truths: list[GroundTruth], detections: list[dict[str, np.ndarray]], class_names: dict[int, str], threshold: float
) -> tuple[pd.DataFrame, list[int]]:
    """Counts of (true, predicted) at IoU ≥ 0.5 over detections scoring ≥ `threshold`, with
    background for spurious detections and missed objects; and each image's wrong count."""
    names = [*class_names.values(), BACKGROUND]
    matrix = pd.DataFrame(0, index=names, columns=names)
    wrong = []
    for truth, found in zip(truths, detections):
        boxes, classes = _confident(found, threshold)
        pairs = _match(truth, boxes, classes, same_class=False)
        matched_detections, matched_truths = {d for d, _ in pairs}, {t for _, t in pairs}
        errors = 0
        for d, t in pairs:
            true, predicted = class_names[int(truth.labels[t])], class_names[int(classes[d])]
            matrix.loc[true, predicted] += 1
            errors += true != predicted
        for d in set(range(len(boxes))) - matched_detections:
            matrix.loc[BACKGROUND, class_names[int(classes[d])]] += 1
            errors += 1
        for t in set(range(len(truth.boxes))) - matched_truths:
            matrix.loc[class_names[int(truth.labels[t])], BACKGROUND] += 1
            errors += 1
        wrong.append(errors)
    return matrix, wrong


def f1_curve(truths: list[GroundTruth], detections: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """Precision, recall and F1 of the class-aware matching at each score threshold."""
    rows = []
    total = sum(len(truth.boxes) for truth in truths)
    for threshold in THRESHOLDS:
        found_count = matched = 0
        for truth, found in zip(truths, detections):
            boxes, classes = _confident(found, threshold)
            found_count += len(boxes)
            matched += len(_match(truth, boxes, classes, same_class=True))
        precision = matched / found_count if found_count else float("nan")
        recall = matched / total if total else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if found_count and total and matched else 0.0
        rows.append((float(threshold), precision, recall, f1))
    return pd.DataFrame(rows, columns=["threshold", "precision", "recall", "f1"])


def diagnose(
    truths: list[GroundTruth],
    detections: list[dict[str, np.ndarray]],
    class_names: dict[int, str],
    score_threshold: float,
) -> Diagnostics:
    evaluation = coco_evaluation(truths, detections, class_names)
    curves, ap50 = [], {}
    if evaluation is not None:
        precision = evaluation.eval["precision"]  # [IoU, recall, class, area, max dets]; IoU 0.5 first
        recall_points = np.asarray(evaluation.params.recThrs)
        for index, category in enumerate(evaluation.params.catIds):
            values = precision[0, :, index, 0, -1]
            defined = values > -1
            if defined.any():
                name = class_names[category]
                ap50[name] = float(values[defined].mean())
                curves.append(
                    pd.DataFrame({"class": name, "recall": recall_points[defined], "precision": values[defined]})
                )
    pr = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["class", "recall", "precision"])
    confusion, wrong = confusion_matrix(truths, detections, class_names, score_threshold)
    f1 = f1_curve(truths, detections)
    best = f1.sort_values(["f1", "threshold"], ascending=[False, True], kind="stable").iloc[0]
    return Diagnostics(pr, ap50, confusion, f1, float(best["threshold"]), wrong)
