"""COCO detection metrics through faster-coco-eval's COCOeval, under MLflow-safe names.

faster-coco-eval is pycocotools' COCOeval with its per-image matching and accumulation in C++:
the same numbers (tests/evaluation/test_metrics.py checks every metric against pycocotools' on
40 varied images) in a fraction of the time: pycocotools' Python matching was a large part of each
evaluation, and a sweep trial evaluates six times (bench/RESULTS.md).

MLflow keys cannot hold '@', hence `eval/mAP_50` for mAP@0.5; `ODAPI_NAMES` maps each name to
the OD API's. A metric that COCO leaves undefined (−1: no ground truth in its area range, or a
class without ground truth) is left out, not logged as 0, as the OD API leaves it out of averages.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
from faster_coco_eval import COCO, COCOeval_faster

from burgerfries.evaluation.ground_truth import GroundTruth
from burgerfries.metrics import EVAL_AR_1, EVAL_AR_10, EVAL_AR_100, EVAL_LOSS, EVAL_MAP, EVAL_MAP_50, EVAL_MAP_75

COCO_STATS = [
    "mAP",
    "mAP_50",
    "mAP_75",
    "mAP_small",
    "mAP_medium",
    "mAP_large",
    "AR_1",
    "AR_10",
    "AR_100",
    "AR_small",
    "AR_medium",
    "AR_large",
]
ODAPI_NAMES = {
    EVAL_MAP: "DetectionBoxes_Precision/mAP",
    EVAL_MAP_50: "DetectionBoxes_Precision/mAP@.50IOU",
    EVAL_MAP_75: "DetectionBoxes_Precision/mAP@.75IOU",
    "eval/mAP_small": "DetectionBoxes_Precision/mAP (small)",
    "eval/mAP_medium": "DetectionBoxes_Precision/mAP (medium)",
    "eval/mAP_large": "DetectionBoxes_Precision/mAP (large)",
    EVAL_AR_1: "DetectionBoxes_Recall/AR@1",
    EVAL_AR_10: "DetectionBoxes_Recall/AR@10",
    EVAL_AR_100: "DetectionBoxes_Recall/AR@100",
    "eval/AR_small": "DetectionBoxes_Recall/AR@100 (small)",
    "eval/AR_medium": "DetectionBoxes_Recall/AR@100 (medium)",
    "eval/AR_large": "DetectionBoxes_Recall/AR@100 (large)",
    "eval/loss_classification": "Loss/classification_loss",
    "eval/loss_localization": "Loss/localization_loss",
    "eval/loss_regularization": "Loss/regularization_loss",
    EVAL_LOSS: "Loss/total_loss",
}


def xywh(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Normalised [ymin, xmin, ymax, xmax] boxes → COCO's pixel [x, y, width, height] (float64)."""
    ymin, xmin, ymax, xmax = (boxes * np.array([height, width, height, width])).T
    return np.stack([xmin, ymin, xmax - xmin, ymax - ymin], axis=1)


def _coco_inputs(
    truths: list[GroundTruth], detections: list[dict[str, np.ndarray]]
) -> tuple[list[dict], list[dict], list[dict]]:
    """COCO's images, annotations and results from normalised boxes scaled to each image's size."""
    images, annotations, results = [], [], []
    for image_id, (truth, found) in enumerate(zip(truths, detections), start=1):
        images.append({"id": image_id, "height": truth.height, "width": truth.width})
        for box, label in zip(xywh(truth.boxes, truth.height, truth.width), truth.labels):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(label),
                    "bbox": [float(v) for v in box],
                    "area": float(box[2] * box[3]),
                    "iscrowd": 0,
                }
            )
        for box, label, score in zip(
            xywh(found["boxes"], truth.height, truth.width), found["classes"], found["scores"]
        ):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(label),
                    "bbox": [float(v) for v in box],
                    "score": float(score),
                }
            )
    return images, annotations, results


def coco_evaluation(
    truths: list[GroundTruth], detections: list[dict[str, np.ndarray]], class_names: dict[int, str]
) -> COCOeval_faster | None:
    """COCOeval, evaluated and accumulated; None when there is no ground truth or no detection."""
    images, annotations, results = _coco_inputs(truths, detections)
    if not annotations or not results:
        return None
    with contextlib.redirect_stdout(io.StringIO()):
        ground = COCO()
        ground.dataset = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": i, "name": n} for i, n in class_names.items()],
        }
        ground.createIndex()
        evaluation = COCOeval_faster(ground, ground.loadRes(results), "bbox", print_function=print)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def coco_metrics(
    truths: list[GroundTruth], detections: list[dict[str, np.ndarray]], class_names: dict[int, str]
) -> dict[str, float]:
    """COCOeval on normalised boxes scaled to each image's size."""
    _, annotations, results = _coco_inputs(truths, detections)
    if not annotations:
        return {}
    if not results:  # nothing detected: every defined metric is 0 (COCO.loadRes refuses an empty result list)
        return _all_zero(annotations, class_names)
    evaluation = coco_evaluation(truths, detections, class_names)
    metrics = {f"eval/{name}": float(value) for name, value in zip(COCO_STATS, evaluation.stats) if value > -1}
    precision = evaluation.eval["precision"]  # [IoU, recall, class, area, max dets]
    for index, category in enumerate(evaluation.params.catIds):
        values = precision[0, :, index, 0, -1]
        values = values[values > -1]
        if values.size:
            metrics[f"eval/AP_50/{class_names[category]}"] = float(values.mean())
    return metrics


AREA_RANGES = {"small": (0, 32**2), "medium": (32**2, 96**2), "large": (96**2, float("inf"))}  # COCOeval's


def _all_zero(annotations: list[dict], class_names: dict[int, str]) -> dict[str, float]:
    """The metrics of a detector that found nothing: 0 wherever COCO would define them."""
    metrics = {f"eval/{name}": 0.0 for name in COCO_STATS if not name.endswith(tuple(AREA_RANGES))}
    for area, (low, high) in AREA_RANGES.items():
        if any(low <= annotation["area"] <= high for annotation in annotations):
            metrics[f"eval/mAP_{area}"] = metrics[f"eval/AR_{area}"] = 0.0
    labelled = {annotation["category_id"] for annotation in annotations}
    metrics.update({f"eval/AP_50/{name}": 0.0 for label, name in class_names.items() if label in labelled})
    return metrics
