"""Wrong detections: what the original study counted by eye, counted here by rule."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

from burgerfries.evaluation import SCORE_THRESHOLD
from burgerfries.evaluation.coco import xywh
from burgerfries.evaluation.ground_truth import GroundTruth
from burgerfries.metrics import EVAL_WRONG_DETECTION_RATE, EVAL_WRONG_DETECTIONS

WRONG_IOU = 0.5


def wrong_detections(
    truths: list[GroundTruth],
    detections: list[dict[str, np.ndarray]],
    class_names: dict[int, str],
    score_threshold: float = SCORE_THRESHOLD,
) -> dict[str, float]:
    """Detections scoring ≥ threshold that overlap no ground-truth box of their class at IoU ≥ 0.5,
    split by where they sit: on a known distractor, on an object of another class, or elsewhere;
    also their number per eval image."""
    counts = {"total": 0, "on_distractors": 0, "class_confusion": 0, "on_background": 0}
    per_class = {name: 0 for name in class_names.values()}
    for truth, found in zip(truths, detections):
        confident = found["scores"] >= score_threshold
        boxes, classes = found["boxes"][confident], found["classes"][confident].astype(int)
        if not len(boxes):
            continue
        overlap_truth = box_iou(boxes, truth.boxes)
        overlap_distractor = box_iou(boxes, truth.distractors)
        for index, label in enumerate(classes):
            same_class = truth.labels == label
            if same_class.any() and overlap_truth[index, same_class].max() >= WRONG_IOU:
                continue
            counts["total"] += 1
            per_class[class_names.get(label, str(label))] = per_class.get(class_names.get(label, str(label)), 0) + 1
            if overlap_distractor.shape[1] and overlap_distractor[index].max() >= WRONG_IOU:
                counts["on_distractors"] += 1
            elif (~same_class).any() and overlap_truth[index, ~same_class].max() >= WRONG_IOU:
                counts["class_confusion"] += 1
            else:
                counts["on_background"] += 1
    metrics = {
        EVAL_WRONG_DETECTIONS: float(counts["total"]),
        # per eval image: comparable across eval splits, and a rate the ranking can give a noise floor
        EVAL_WRONG_DETECTION_RATE: counts["total"] / max(len(truths), 1),
    }
    metrics.update({f"eval/wrong_detections_{key}": float(value) for key, value in counts.items() if key != "total"})
    metrics.update({f"eval/wrong_detections/{name}": float(value) for name, value in per_class.items()})
    return metrics


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[len(a), len(b)] IoU of normalised boxes, by pycocotools' C code (the IoU COCOeval uses):
    a TensorFlow call per eval image cost ≈ 1 s per evaluation. IoU does not change when both
    axes are scaled, so normalised boxes give the pixel boxes' IoU."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), np.float64)
    return coco_mask.iou(xywh(a, 1, 1), xywh(b, 1, 1), np.zeros(len(b), np.uint8))
