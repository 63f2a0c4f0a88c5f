"""Evaluation on the eval split: COCO metrics (pycocotools), eval losses, wrong detections.

The original study judged runs by mAP@0.5, recall (AR@1/10/100), eval loss against train loss,
and "wrong detections" seen by eye; all four are measured here, at the same step as training so
the curves share an x-axis. MLflow keys cannot hold '@', hence the names below; the mapping to the
OD API's metric names is `ODAPI_NAMES`.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw

from burgerfries.data.label_map import read_label_map
from burgerfries.data.pipeline import check_record, eval_dataset
from burgerfries.data.tfrecord import parse_example
from burgerfries.model.matcher import iou
from burgerfries.model.ssd import Detector
from burgerfries.training.step import LOSS_KEYS, make_eval_step

COCO_STATS = ["mAP", "mAP_50", "mAP_75", "mAP_small", "mAP_medium", "mAP_large",
              "AR_1", "AR_10", "AR_100", "AR_small", "AR_medium", "AR_large"]
ODAPI_NAMES = {
    "eval/mAP": "DetectionBoxes_Precision/mAP",
    "eval/mAP_50": "DetectionBoxes_Precision/mAP@.50IOU",
    "eval/mAP_75": "DetectionBoxes_Precision/mAP@.75IOU",
    "eval/mAP_small": "DetectionBoxes_Precision/mAP (small)",
    "eval/mAP_medium": "DetectionBoxes_Precision/mAP (medium)",
    "eval/mAP_large": "DetectionBoxes_Precision/mAP (large)",
    "eval/AR_1": "DetectionBoxes_Recall/AR@1",
    "eval/AR_10": "DetectionBoxes_Recall/AR@10",
    "eval/AR_100": "DetectionBoxes_Recall/AR@100",
    "eval/AR_small": "DetectionBoxes_Recall/AR@100 (small)",
    "eval/AR_medium": "DetectionBoxes_Recall/AR@100 (medium)",
    "eval/AR_large": "DetectionBoxes_Recall/AR@100 (large)",
    "eval/loss_classification": "Loss/classification_loss",
    "eval/loss_localization": "Loss/localization_loss",
    "eval/loss_regularization": "Loss/regularization_loss",
    "eval/loss_total": "Loss/total_loss",
}
WRONG_IOU = 0.5


@dataclass
class GroundTruth:
    """One eval image as the metrics need it: absolute-pixel boxes of the original image."""

    source_id: str
    height: int
    width: int
    boxes: np.ndarray  # [N, 4] normalised ymin, xmin, ymax, xmax
    labels: np.ndarray  # [N] 1-based
    distractors: np.ndarray  # [M, 4] normalised
    image: np.ndarray | None = None


def read_ground_truth(record: Path, keep_images: int = 0) -> list[GroundTruth]:
    truths = []
    for index, raw in enumerate(tf.data.TFRecordDataset(str(record))):
        example = parse_example(raw)
        truths.append(GroundTruth(
            source_id=example["source_id"].numpy().decode("utf-8"), height=int(example["height"]),
            width=int(example["width"]), boxes=example["boxes"].numpy(), labels=example["labels"].numpy(),
            distractors=example["distractor_boxes"].numpy(),
            image=example["image"].numpy() if index < keep_images else None))
    return truths


def _xywh(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    ymin, xmin, ymax, xmax = (boxes * np.array([height, width, height, width])).T
    return np.stack([xmin, ymin, xmax - xmin, ymax - ymin], axis=1)


def coco_metrics(truths: list[GroundTruth], detections: list[dict[str, np.ndarray]], class_names: dict[int, str]
                 ) -> dict[str, float]:
    """pycocotools' COCOeval on normalised boxes scaled to each image's size."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for image_id, (truth, found) in enumerate(zip(truths, detections), start=1):
        images.append({"id": image_id, "height": truth.height, "width": truth.width})
        for box, label in zip(_xywh(truth.boxes, truth.height, truth.width), truth.labels):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(label),
                                "bbox": [float(v) for v in box], "area": float(box[2] * box[3]), "iscrowd": 0})
        for box, label, score in zip(_xywh(found["boxes"], truth.height, truth.width), found["classes"], found["scores"]):
            results.append({"image_id": image_id, "category_id": int(label), "bbox": [float(v) for v in box],
                            "score": float(score)})
    metrics = {f"eval/{name}": 0.0 for name in COCO_STATS}
    metrics.update({f"eval/AP_50/{name}": 0.0 for name in class_names.values()})
    if not annotations:
        return metrics
    with contextlib.redirect_stdout(io.StringIO()):
        ground = COCO()
        ground.dataset = {"images": images, "annotations": annotations,
                          "categories": [{"id": i, "name": n} for i, n in class_names.items()]}
        ground.createIndex()
        if not results:
            return metrics
        evaluation = COCOeval(ground, ground.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    metrics.update({f"eval/{name}": max(0.0, float(value)) for name, value in zip(COCO_STATS, evaluation.stats)})
    precision = evaluation.eval["precision"]  # [IoU, recall, class, area, max dets]
    for index, category in enumerate(evaluation.params.catIds):
        values = precision[0, :, index, 0, -1]
        values = values[values > -1]
        metrics[f"eval/AP_50/{class_names[category]}"] = float(values.mean()) if values.size else 0.0
    return metrics


def wrong_detections(truths: list[GroundTruth], detections: list[dict[str, np.ndarray]], class_names: dict[int, str],
                     score_threshold: float = 0.5) -> dict[str, float]:
    """Detections scoring ≥ threshold that overlap no ground-truth box of their class at IoU ≥ 0.5,
    split by where they sit: on a known distractor, on an object of another class, or elsewhere."""
    counts = {"total": 0, "on_distractors": 0, "class_confusion": 0, "on_background": 0}
    per_class = {name: 0 for name in class_names.values()}
    for truth, found in zip(truths, detections):
        confident = found["scores"] >= score_threshold
        boxes, classes = found["boxes"][confident], found["classes"][confident].astype(int)
        if not len(boxes):
            continue
        overlap_truth = iou_numpy(boxes, truth.boxes)
        overlap_distractor = iou_numpy(boxes, truth.distractors)
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
    metrics = {"eval/wrong_detections": float(counts["total"])}
    metrics.update({f"eval/wrong_detections_{key}": float(value) for key, value in counts.items() if key != "total"})
    metrics.update({f"eval/wrong_detections/{name}": float(value) for name, value in per_class.items()})
    return metrics


def iou_numpy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), np.float32)
    return iou(tf.constant(a[None], tf.float32), tf.constant(b, tf.float32)).numpy()[0]


def side_by_side(truth: GroundTruth, found: dict[str, np.ndarray], class_names: dict[int, str],
                 score_threshold: float) -> Image.Image:
    """Ground truth left, detections (score ≥ threshold) right, labelled with class and score."""
    image = Image.fromarray(truth.image)
    left, right = image.copy(), image.copy()
    line = max(1, round(max(image.size) / 200))
    for box, label in zip(truth.boxes, truth.labels):
        draw_box(left, box, class_names.get(int(label), str(label)), (0, 220, 0), line)
    for box, label, score in zip(found["boxes"], found["classes"], found["scores"]):
        if score >= score_threshold:
            draw_box(right, box, f"{class_names.get(int(label), str(int(label)))} {score:.2f}", (255, 60, 60), line)
    canvas = Image.new("RGB", (image.width * 2 + 8, image.height), (255, 255, 255))
    canvas.paste(left, (0, 0))
    canvas.paste(right, (image.width + 8, 0))
    return canvas


def draw_box(image: Image.Image, box: np.ndarray, text: str, colour: tuple[int, int, int], line: int) -> None:
    draw = ImageDraw.Draw(image)
    ymin, xmin, ymax, xmax = box * np.array([image.height, image.width, image.height, image.width])
    draw.rectangle((xmin, ymin, xmax, ymax), outline=colour, width=line)
    draw.text((xmin + line + 1, max(0, ymin - 11)), text, fill=colour)


class Evaluation:
    """The evaluator seam's implementation: everything `eval/*` on one data_prep folder."""

    def __init__(self, data: Path, score_threshold: float = 0.5, batch_size: int = 8, num_images: int = 6):
        self.data = Path(data)
        self.record = self.data / "eval.record"
        check_record(self.record)
        self.class_names = read_label_map(self.data / "label_map.pbtxt")
        self.score_threshold = score_threshold
        self.batch_size = batch_size
        self.num_images = num_images
        self.truths = read_ground_truth(self.record, keep_images=num_images)
        self.max_boxes = max(1, max(len(t.labels) for t in self.truths))
        self._eval_step: tuple[Detector | None, object] = (None, None)
        self._datasets: dict[tuple[int, int], tf.data.Dataset] = {}
        self.last_detections: list[dict[str, np.ndarray]] = []

    def predict(self, detector: Detector) -> tuple[dict[str, float], list[dict[str, np.ndarray]]]:
        """Mean per-image eval losses and per-image detections (normalised boxes)."""
        if self._eval_step[0] is not detector:  # trace once per detector, not once per evaluation
            self._eval_step = (detector, make_eval_step(detector))
        eval_step = self._eval_step[1]
        if detector.image_size not in self._datasets:  # decode and resize the eval images once
            self._datasets[detector.image_size] = eval_dataset(self.record, detector.image_size, self.batch_size,
                                                               self.max_boxes).cache()
        loss_sums = {key: 0.0 for key in LOSS_KEYS}
        detections: list[dict[str, np.ndarray]] = []
        for images, boxes, labels, valid, *_ in self._datasets[detector.image_size]:
            losses, output = eval_step(images, boxes, labels, valid)
            batch = int(tf.shape(images)[0])
            for key in LOSS_KEYS:  # regularization is one scalar for all images
                loss_sums[key] += float(tf.reduce_sum(tf.broadcast_to(losses[key], [batch])))
            for index in range(batch):
                count = int(output["num_detections"][index])
                detections.append({"boxes": output["detection_boxes"][index, :count].numpy(),
                                   "scores": output["detection_scores"][index, :count].numpy(),
                                   "classes": output["detection_classes"][index, :count].numpy().astype(int)})
        mean_losses = {f"eval/{key}": value / len(detections) for key, value in loss_sums.items()}
        return mean_losses, detections

    def __call__(self, detector: Detector, step: int, final: bool = False) -> dict[str, float]:
        losses, detections = self.predict(detector)
        self.last_detections = detections
        metrics = {**losses, **coco_metrics(self.truths, detections, self.class_names),
                   **wrong_detections(self.truths, detections, self.class_names, self.score_threshold)}
        if final:
            self.log_images(detections, step)
        return metrics

    def log_images(self, detections: list[dict[str, np.ndarray]], step: int) -> None:
        import mlflow

        if mlflow.active_run() is None:
            return
        for truth, found in zip(self.truths[: self.num_images], detections):
            name = Path(truth.source_id).stem.replace(" ", "_")
            mlflow.log_image(side_by_side(truth, found, self.class_names, self.score_threshold),
                             f"eval_images/step_{step}/{name}.png")


def evaluate_run(run_id: str, data: Path, step: int | None = None, new_run: bool = False) -> tuple[str, int, dict[str, float]]:
    """Evaluate a training run's checkpoint on `data` and log `eval/*` at the checkpoint's step —
    into that run, or (new_run) into a new run tagged with `evaluated_run_id`."""
    import time

    import mlflow

    from burgerfries.tracking import MetricBuffer, configure_tracking, tracked_run
    from burgerfries.trained_run import load_trained_run

    configure_tracking()
    trained = load_trained_run(run_id, step)
    evaluation = Evaluation(data)
    started = time.perf_counter()
    metrics = evaluation(trained.detector, trained.step)
    metrics["eval/seconds"] = time.perf_counter() - started
    if new_run:
        with tracked_run("evaluate", run_name=f"evaluate {run_id[:8]} step {trained.step}",
                         tags={"evaluated_run_id": run_id, "data": str(Path(data).resolve())}) as run:
            target = run.info.run_id
            evaluation.log_images(evaluation.last_detections, trained.step)
            with MetricBuffer(target) as buffer:
                buffer.log(metrics, trained.step)
    else:
        target = run_id
        with MetricBuffer(target) as buffer:
            buffer.log(metrics, trained.step)
        mlflow.MlflowClient().set_tag(run_id, "last_evaluated_data", str(Path(data).resolve()))
    return target, trained.step, metrics
