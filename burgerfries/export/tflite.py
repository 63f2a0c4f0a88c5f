"""Running the exported TFLite file, and the post-processing it leaves to the app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

TFLITE_TOLERANCE = 1e-4  # max |TFLite − SavedModel| on raw boxes and scores, asserted by the tests


def run_tflite(path: Path, image: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 [h, w, 3] at the model's size → raw boxes and scores, by output name."""
    interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    return {key: np.asarray(value) for key, value in runner(input_tensor=image[None].astype(np.uint8)).items()}


def tflite_postprocess(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    iou_threshold: float = 0.6,
    score_threshold: float = 1e-8,
    max_detections: int = 100,
) -> dict[str, np.ndarray]:
    """The post-processing the TFLite model leaves to the app (the SavedModel's own)."""
    result = tf.image.combined_non_max_suppression(
        tf.constant(raw_boxes)[:, :, None, :],
        tf.constant(raw_scores)[:, :, 1:],
        max_detections,
        max_detections,
        iou_threshold,
        score_threshold,
        clip_boxes=True,
    )
    return {
        "detection_boxes": result.nmsed_boxes.numpy(),
        "detection_scores": result.nmsed_scores.numpy(),
        "detection_classes": result.nmsed_classes.numpy() + 1.0,
        "num_detections": result.valid_detections.numpy().astype(np.float32),
    }


def resize_for_tflite(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The resize an app does before calling the TFLite file: the SavedModel's own bilinear
    sampling (TF1 legacy, as `resize_and_scale`), rounded back to uint8."""
    resized = tf.raw_ops.ResizeBilinear(
        images=tf.cast(image[None], tf.float32), size=size, align_corners=False, half_pixel_centers=False
    )
    return np.clip(np.round(resized.numpy()[0]), 0, 255).astype(np.uint8)
