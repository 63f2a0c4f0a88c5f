"""`Evaluation`: everything `eval/*` for a detector on one split of a data_prep folder: its
validation photos during training (what choices read), its test photos (`eval.record`) elsewhere.

The eval images are decoded and resized once per image size, and the eval step is traced once
per detector (a sweep reuses detectors across trials), so periodic evaluation during training
costs the forward passes and the COCO evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf
from cachetools import LRUCache
from PIL import Image

from burgerfries.data.folder import TEST, DataFolder
from burgerfries.data.pipeline import check_record, eval_dataset
from burgerfries.evaluation import SCORE_THRESHOLD
from burgerfries.evaluation.coco import coco_metrics
from burgerfries.evaluation.drawing import side_by_side
from burgerfries.evaluation.ground_truth import read_ground_truth
from burgerfries.evaluation.wrong_detections import wrong_detections
from burgerfries.model.ssd import Detector
from burgerfries.training.setups import KEPT_SETUPS
from burgerfries.training.step import LOSS_KEYS, make_eval_step

DETECTION_KEYS = ("num_detections", "detection_boxes", "detection_scores", "detection_classes")


class Evaluation:
    """Called as `evaluation(detector)` → `eval/*` metrics; `pictures()` draws the last call's
    detections beside the ground truth for the first `num_images` eval images."""

    def __init__(
        self,
        data: Path | DataFolder,
        score_threshold: float = SCORE_THRESHOLD,
        batch_size: int = 8,
        num_images: int = 6,
        split: str = TEST,
    ):
        self.folder = DataFolder.open(data)
        self.record = self.folder.record(split)
        check_record(self.record)
        self.class_names = self.folder.class_names
        self.score_threshold = score_threshold
        self.batch_size = batch_size
        self.num_images = num_images
        self.truths = read_ground_truth(self.record, keep_images=num_images)
        self.max_boxes = max(1, max(len(t.labels) for t in self.truths))
        # The traced eval step of each detector a sweep's training setups keep (training/setups.py).
        self._eval_steps: LRUCache[Detector, Callable] = LRUCache(maxsize=KEPT_SETUPS)
        # The eval batches per image size, as tensors: a pass over them starts no tf.data iterator.
        self._batches: dict[tuple[int, int], list[tuple[tuple[tf.Tensor, ...], int]]] = {}
        self.last_detections: list[dict[str, np.ndarray]] = []

    def predict(self, detector: Detector) -> tuple[dict[str, float], list[dict[str, np.ndarray]]]:
        """Mean per-image eval losses and per-image detections (normalised boxes)."""
        eval_step = self._eval_steps.get(detector)
        if eval_step is None:  # traced once per detector
            eval_step = self._eval_steps[detector] = make_eval_step(detector)
        if detector.image_size not in self._batches:  # decode and resize the eval images once
            self._batches[detector.image_size] = self._full_batches(detector.image_size)
        loss_sums = {key: 0.0 for key in LOSS_KEYS}
        detections: list[dict[str, np.ndarray]] = []
        for (images, boxes, labels, valid), batch in self._batches[detector.image_size]:
            losses, output = eval_step(images, boxes, labels, valid)
            for key in LOSS_KEYS:  # per image, but regularization: one scalar for all images
                loss_sums[key] += float(np.sum(np.broadcast_to(losses[key].numpy(), [self.batch_size])[:batch]))
            # to NumPy once per batch, then sliced per image (no TensorFlow op per image)
            found = {key: output[key].numpy() for key in DETECTION_KEYS}
            for index in range(batch):
                count = int(found["num_detections"][index])
                detections.append(
                    {
                        "boxes": found["detection_boxes"][index, :count],
                        "scores": found["detection_scores"][index, :count],
                        "classes": found["detection_classes"][index, :count].astype(int),
                    }
                )
        mean_losses = {f"eval/{key}": value / len(detections) for key, value in loss_sums.items()}
        return mean_losses, detections

    def _full_batches(self, image_size: tuple[int, int]) -> list[tuple[tuple[tf.Tensor, ...], int]]:
        """(images, boxes, labels, valid) batches of `batch_size`, each with its number of eval
        images: the last one is filled up with copies of its last image, whose results are dropped.
        Every call then has one shape and the eval step is traced once, not twice (≈ 4 s of a
        sweep trial that traces it, measured)."""
        batches = []
        for images, boxes, labels, valid, *_ in eval_dataset(self.record, image_size, self.batch_size, self.max_boxes):
            tensors, count = (images, boxes, labels, valid), images.shape[0]
            if count < self.batch_size:  # only the last batch
                tensors = tuple(tf.concat([t, tf.repeat(t[-1:], self.batch_size - count, axis=0)], 0) for t in tensors)
            batches.append((tensors, count))
        return batches

    def __call__(self, detector: Detector) -> dict[str, float]:
        losses, detections = self.predict(detector)
        self.last_detections = detections
        return {
            **losses,
            **coco_metrics(self.truths, detections, self.class_names),
            **wrong_detections(self.truths, detections, self.class_names, self.score_threshold),
        }

    def pictures(self) -> dict[str, Image.Image]:
        """Ground truth | detections of the last evaluation, by eval image name."""
        pictures = {}
        for truth, found in zip(self.truths[: self.num_images], self.last_detections):
            name = Path(truth.source_id).stem.replace(" ", "_")
            pictures[name] = side_by_side(truth, found, self.class_names, self.score_threshold)
        return pictures
