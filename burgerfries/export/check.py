"""An export is checked, not trusted: the SavedModel and the TFLite file are evaluated on the eval
split with the same COCO evaluation as the checkpoint they came from.

Exports that load but find nothing (a TFLite file of a few hundred bytes, a converter that drops
a layer) are a known failure of detection exports; comparing mAP@0.5 catches them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from burgerfries.data.folder import DataFolder
from burgerfries.evaluation.coco import coco_metrics
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.evaluation.ground_truth import read_ground_truth
from burgerfries.export.loading import SavedModelDetector
from burgerfries.export.tflite import resize_for_tflite, run_tflite, tflite_postprocess
from burgerfries.metrics import EVAL_MAP_50
from burgerfries.model.ssd import Detector

MAX_MAP_DROP = 0.01  # an artifact more than this below the checkpoint's mAP@0.5 fails the export


def _kept(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, count: int) -> dict[str, np.ndarray]:
    return {"boxes": boxes[:count], "scores": scores[:count], "classes": classes[:count].astype(int)}


def export_map_50(
    detector: Detector, saved_model: Path, tflite: Path, data: Path | DataFolder
) -> dict[str, float | None]:
    """mAP@0.5 on `data`'s eval split of the checkpoint (`detector`), the SavedModel and the TFLite
    file; None where COCO leaves it undefined (no ground truth)."""
    folder = DataFolder.open(data)
    class_names = folder.class_names
    truths = read_ground_truth(folder.eval_record, keep_images=10**9)
    saved = SavedModelDetector(saved_model)
    from_saved, from_tflite = [], []
    for truth in truths:
        output = saved(truth.image)
        count = int(output["num_detections"][0])
        from_saved.append(
            _kept(output["detection_boxes"][0], output["detection_scores"][0], output["detection_classes"][0], count)
        )
        raw = run_tflite(tflite, resize_for_tflite(truth.image, detector.image_size))
        post = tflite_postprocess(raw["raw_detection_boxes"], raw["raw_detection_scores"])
        from_tflite.append(
            _kept(
                post["detection_boxes"][0],
                post["detection_scores"][0],
                post["detection_classes"][0],
                int(post["num_detections"][0]),
            )
        )
    return {
        "checkpoint": Evaluation(folder)(detector).get(EVAL_MAP_50),
        "saved_model": coco_metrics(truths, from_saved, class_names).get(EVAL_MAP_50),
        "tflite": coco_metrics(truths, from_tflite, class_names).get(EVAL_MAP_50),
    }


def export_problems(scores: dict[str, float | None]) -> list[str]:
    """What is wrong with the exports, one sentence each; empty when every artifact holds up."""
    reference = scores["checkpoint"]
    if reference is None:
        return []
    problems = []
    for artifact in ("saved_model", "tflite"):
        value = scores[artifact]
        if value is None or value < reference - MAX_MAP_DROP:
            shown = "undefined" if value is None else f"{value:.3f}"
            problems.append(
                f"{artifact}: mAP@0.5 {shown} on the eval split, more than {MAX_MAP_DROP} below the "
                f"checkpoint's {reference:.3f} — the export lost accuracy"
            )
    return problems
