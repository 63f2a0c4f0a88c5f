"""The `export` job: SavedModel, TFLite and label map from a run's checkpoint, and the MLflow
pyfunc model logged into that run (optionally registered)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from PIL import Image

from burgerfries.export.loading import encode_image
from burgerfries.export.saved_model import save_saved_model, save_tflite
from burgerfries.jobs.pyfunc_model import DetectorModel
from burgerfries.jobs.trained_run import load_trained_run


def export_run(
    run_id: str, out: Path, register: str | None = None, example_image: Path | None = None
) -> dict[str, Path]:
    """Write saved_model/, model.tflite and label_map.pbtxt to `out` and log the MLflow model."""

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trained = load_trained_run(run_id)
    saved_model = save_saved_model(trained.detector, out / "saved_model")
    tflite = save_tflite(trained.detector, out / "model.tflite")
    if trained.label_map_path:
        shutil.copy(trained.label_map_path, out / "label_map.pbtxt")
        shutil.copy(trained.label_map_path, saved_model / "label_map.pbtxt")
    height, width = trained.detector.image_size
    if example_image is None:
        buffer = io.BytesIO()

        Image.fromarray(np.full((height, width, 3), 127, np.uint8)).save(buffer, format="JPEG")
        example_bytes = buffer.getvalue()
    else:
        example_bytes = Path(example_image).read_bytes()
    example = pd.DataFrame({"image": [encode_image(example_bytes)]})

    class _Context:
        artifacts = {"saved_model": str(saved_model)}

    probe = DetectorModel()  # a loaded instance answers the example; a fresh one is what gets pickled
    probe.load_context(_Context())
    signature = infer_signature(example, probe.predict(None, example))
    with mlflow.start_run(run_id=run_id):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=DetectorModel(),
            artifacts={"saved_model": str(saved_model)},
            signature=signature,
            input_example=example,
            registered_model_name=register,
        )
        mlflow.log_artifact(str(tflite), "export")
        mlflow.set_tag("exported_model_uri", info.model_uri)
    return {
        "saved_model": saved_model,
        "tflite": tflite,
        "label_map": out / "label_map.pbtxt",
        "model_uri": info.model_uri,
    }
