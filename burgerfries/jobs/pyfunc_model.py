"""The MLflow pyfunc flavour of an exported detector: what `mlflow models serve` answers with."""

from __future__ import annotations

import base64
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from burgerfries.export.loading import SavedModelDetector, decode_to_array


class DetectorModel(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc flavour: a DataFrame with an `image` column of base64-encoded image files in,
    one row per detection out (image, class_id, class_name, score, ymin, xmin, ymax, xmax)."""

    def load_context(self, context) -> None:
        self.detector = SavedModelDetector(Path(context.artifacts["saved_model"]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        rows = []
        for index, encoded in enumerate(model_input["image"]):
            array = decode_to_array(base64.b64decode(encoded), f"row {index}")
            output = self.detector(array)
            for box, label, score in zip(
                output["detection_boxes"][0][: int(output["num_detections"][0])],
                output["detection_classes"][0],
                output["detection_scores"][0],
            ):
                rows.append(
                    {
                        "image": index,
                        "class_id": int(label),
                        "class_name": self.detector.class_names.get(int(label), str(int(label))),
                        "score": float(score),
                        "ymin": float(box[0]),
                        "xmin": float(box[1]),
                        "ymax": float(box[2]),
                        "xmax": float(box[3]),
                    }
                )
        return pd.DataFrame(rows, columns=["image", "class_id", "class_name", "score", "ymin", "xmin", "ymax", "xmax"])
