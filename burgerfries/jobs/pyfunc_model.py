"""The MLflow pyfunc flavours of a detector: what `mlflow models serve` and `mlflow.pyfunc.load_model`
answer with — an exported SavedModel (`DetectorModel`, logged by `export`) or a training
checkpoint (`CheckpointModel`, the logged model of a training run's last evaluation).

Both take a DataFrame with an `image` column of base64-encoded image files and give one row per
detection (image, class_id, class_name, score, ymin, xmin, ymax, xmax)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from PIL import Image

from burgerfries.export.loading import SavedModelDetector, decode_to_array, encode_image

DETECTION_COLUMNS = ["image", "class_id", "class_name", "score", "ymin", "xmin", "ymax", "xmax"]
# Written out rather than inferred: inferring runs the model on the example, seconds per model.
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "image")]),
    outputs=Schema(
        [ColSpec("long", "image"), ColSpec("long", "class_id"), ColSpec("string", "class_name")]
        + [ColSpec("double", name) for name in ("score", "ymin", "xmin", "ymax", "xmax")]
    ),
)


def input_example(image_size: tuple[int, int]) -> pd.DataFrame:
    """One grey JPEG of the model's input size, as a request would send it."""
    height, width = image_size
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 127, np.uint8)).save(buffer, format="JPEG")
    return pd.DataFrame({"image": [encode_image(buffer.getvalue())]})


def detection_rows(
    model_input: pd.DataFrame, detect: Callable[[np.ndarray], dict[str, np.ndarray]], class_names: dict[int, str]
) -> pd.DataFrame:
    """Run `detect` (an image array → the OD API's detection outputs) on every row's image."""
    rows = []
    for index, encoded in enumerate(model_input["image"]):
        output = detect(decode_to_array(base64.b64decode(encoded), f"row {index}"))
        for box, label, score in zip(
            output["detection_boxes"][0][: int(output["num_detections"][0])],
            output["detection_classes"][0],
            output["detection_scores"][0],
        ):
            rows.append(
                {
                    "image": index,
                    "class_id": int(label),
                    "class_name": class_names.get(int(label), str(int(label))),
                    "score": float(score),
                    "ymin": float(box[0]),
                    "xmin": float(box[1]),
                    "ymax": float(box[2]),
                    "xmax": float(box[3]),
                }
            )
    return pd.DataFrame(rows, columns=DETECTION_COLUMNS)


class DetectorModel(mlflow.pyfunc.PythonModel):
    """An exported SavedModel (artifact `saved_model`)."""

    def load_context(self, context) -> None:
        self.detector = SavedModelDetector(Path(context.artifacts["saved_model"]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return detection_rows(model_input, self.detector, self.detector.class_names)


class CheckpointModel(mlflow.pyfunc.PythonModel):
    """A training checkpoint (artifacts `checkpoint`: a folder with one checkpoint, `pipeline`:
    the run's pipeline.yaml, `label_map`), rebuilt with the model code of this package."""

    def load_context(self, context) -> None:
        import tensorflow as tf
        import yaml

        from burgerfries.data.folder import read_label_map
        from burgerfries.model.ssd import build_detector
        from burgerfries.training.checkpoints import make_checkpoint, resolve_checkpoint

        config = yaml.safe_load(Path(context.artifacts["pipeline"]).read_text(encoding="utf-8"))
        self.detector = build_detector(config)
        prefix = resolve_checkpoint(Path(context.artifacts["checkpoint"]))
        make_checkpoint(self.detector.model, None, tf.Variable(0, dtype=tf.int64)).restore(prefix).expect_partial()
        self.class_names = read_label_map(Path(context.artifacts["label_map"]))

    def _detect(self, image: np.ndarray) -> dict[str, np.ndarray]:
        import tensorflow as tf

        output = self.detector.detect(tf.constant(image[None], tf.uint8))
        return {key: value.numpy() for key, value in output.items()}

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return detection_rows(model_input, self._detect, self.class_names)
