"""The `predict` job: run an exported model (a folder or an MLflow model URI) on image files and
draw what it finds."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from PIL import Image

from burgerfries.evaluation.drawing import draw_box
from burgerfries.export.loading import ExportError, SavedModelDetector, decode_to_array


def resolve_model(model: str) -> Path:
    """A local folder, or an MLflow URI (runs:/RUN_ID/model, models:/NAME/VERSION) downloaded first."""
    if "://" in model or model.startswith(("runs:/", "models:/")):
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model, dst_path=tempfile.mkdtemp()))
        except (MlflowException, OSError) as error:
            raise ExportError(f"{model}: cannot download ({error})") from error
        for candidate in [local, *local.rglob("saved_model.pb")]:
            folder = candidate.parent if candidate.name == "saved_model.pb" else candidate
            if (folder / "saved_model.pb").is_file() or (folder / "saved_model" / "saved_model.pb").is_file():
                return folder
        raise ExportError(f"{model}: no saved_model.pb in the downloaded artifacts — not an exported model")
    return Path(model)


def predict_images(images: list[Path], model: str, out: Path, threshold: float = 0.5) -> list[Path]:
    detector = SavedModelDetector(resolve_model(str(model)))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for image_path in images:
        try:
            data = Path(image_path).read_bytes()
        except OSError as error:
            raise ExportError(f"{image_path}: cannot read ({error.strerror})") from error
        array = decode_to_array(data, str(image_path))
        output = detector(array)
        picture = Image.fromarray(array)
        line = max(1, round(max(picture.size) / 200))
        for box, label, score in zip(
            output["detection_boxes"][0], output["detection_classes"][0], output["detection_scores"][0]
        ):
            if score >= threshold:
                name = detector.class_names.get(int(label), str(int(label)))
                draw_box(picture, box, f"{name} {score:.2f}", (255, 60, 60), line)
        target = out / f"{Path(image_path).stem}.png"
        picture.save(target)
        written.append(target)
    return written
