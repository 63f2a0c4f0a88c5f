"""Pictures of detections: boxes with class names and scores drawn on an image."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from burgerfries.evaluation.ground_truth import GroundTruth


def side_by_side(
    truth: GroundTruth, found: dict[str, np.ndarray], class_names: dict[int, str], score_threshold: float
) -> Image.Image:
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
