"""Export a trained run in the forms people deploy.

- `saved_model/`: `serving_default` takes `input_tensor` uint8 [1, H, W, 3] (any H, W; resized
  inside) and returns the TF OD API's keys — `detection_boxes` (normalised ymin, xmin, ymax,
  xmax), `detection_classes` (1-based label-map ids, float), `detection_scores`,
  `num_detections` — plus `raw_detection_boxes`/`raw_detection_scores` as OD-API exports do, so
  code written for OD-API exported models works unchanged.
- `model.tflite`: float, built-in ops only (runs on any TFLite runtime, no Flex delegate). Input
  uint8 [1, h, w, 3] at the model's fixed size (resize before calling); outputs
  `raw_detection_boxes` [1, A, 4] and `raw_detection_scores` [1, A, C+1] (sigmoid; column 0 is the
  background slot). Post-processing is left to the app, as documented in the README:
  per-class NMS, IoU 0.6, score ≥ 1e-8, 100 detections (`tflite_postprocess` does exactly that).
- an MLflow pyfunc model (`model` artifact of the run) taking base64-encoded images, with
  signature and input example, optionally registered under a name.
"""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import tensorflow as tf

from burgerfries.model.ssd import Detector

TFLITE_TOLERANCE = 1e-4  # max |TFLite − SavedModel| on raw boxes and scores, asserted by the tests


class ExportError(ValueError):
    """A model path or export target that cannot be used; the message names it."""


def _archive(detector: Detector, path: Path, endpoint, input_shape: list[int | None]) -> Path:
    """A SavedModel written with Keras' ExportArchive: it tracks Keras 3 variables properly (a
    plain tf.Module + tf.saved_model.save lets the TFLite converter read them uninitialised)."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(detector.model)
    archive.add_endpoint(name="serving_default", fn=endpoint,
                         input_signature=[tf.TensorSpec(input_shape, tf.uint8, name="input_tensor")])
    archive.write_out(str(path), verbose=False)
    return path


def save_saved_model(detector: Detector, path: Path) -> Path:
    def serve(input_tensor: tf.Tensor) -> dict[str, tf.Tensor]:
        return detector.detect(input_tensor)

    return _archive(detector, path, serve, [1, None, None, 3])


def save_tflite(detector: Detector, path: Path) -> Path:
    import tempfile

    def raw(input_tensor: tf.Tensor) -> dict[str, tf.Tensor]:
        box_encodings, class_logits = detector.model(detector.preprocess(input_tensor), training=False)
        return {"raw_detection_boxes": detector.decode_boxes(box_encodings), "raw_detection_scores": tf.sigmoid(class_logits)}

    with tempfile.TemporaryDirectory() as scratch:
        archive = _archive(detector, Path(scratch) / "raw", raw, [1, *detector.image_size, 3])
        converter = tf.lite.TFLiteConverter.from_saved_model(str(archive))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        path.write_bytes(converter.convert())
    return path


def run_tflite(path: Path, image: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 [h, w, 3] at the model's size → raw boxes and scores, by output name."""
    interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    return {key: np.asarray(value) for key, value in runner(input_tensor=image[None].astype(np.uint8)).items()}


def tflite_postprocess(raw_boxes: np.ndarray, raw_scores: np.ndarray, iou_threshold: float = 0.6,
                       score_threshold: float = 1e-8, max_detections: int = 100) -> dict[str, np.ndarray]:
    """The post-processing the TFLite model leaves to the app (the SavedModel's own)."""
    result = tf.image.combined_non_max_suppression(
        tf.constant(raw_boxes)[:, :, None, :], tf.constant(raw_scores)[:, :, 1:], max_detections, max_detections,
        iou_threshold, score_threshold, clip_boxes=True)
    return {"detection_boxes": result.nmsed_boxes.numpy(), "detection_scores": result.nmsed_scores.numpy(),
            "detection_classes": result.nmsed_classes.numpy() + 1.0,
            "num_detections": result.valid_detections.numpy().astype(np.float32)}


def encode_image(path_or_bytes: Path | bytes) -> str:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return base64.b64encode(data).decode("ascii")


def decode_to_array(data: bytes, where: str = "image") -> np.ndarray:
    """Any image file's bytes → uint8 RGB [H, W, 3] with EXIF orientation applied."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ExportError(f"{where}: not a readable image ({error})") from error
    return np.asarray(image)


class SavedModelDetector:
    """Loads an exported `saved_model/` (ours or the OD API's) and runs its serving signature."""

    def __init__(self, path: Path):
        path = Path(path)
        candidates = [path, path / "saved_model"]
        folder = next((c for c in candidates if (c / "saved_model.pb").is_file()), None)
        if folder is None:
            raise ExportError(f"{path}: not a model (no saved_model.pb in it or in its saved_model/ folder)")
        self.folder = folder
        self.serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
        label_map = next((p for p in (folder / "label_map.pbtxt", folder.parent / "label_map.pbtxt") if p.is_file()), None)
        from burgerfries.data.label_map import read_label_map

        self.class_names = read_label_map(label_map) if label_map else {}

    def __call__(self, image: np.ndarray) -> dict[str, np.ndarray]:
        output = self.serve(input_tensor=tf.constant(image[None], tf.uint8))
        return {key: value.numpy() for key, value in output.items()}


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
            for box, label, score in zip(output["detection_boxes"][0][: int(output["num_detections"][0])],
                                         output["detection_classes"][0], output["detection_scores"][0]):
                rows.append({"image": index, "class_id": int(label), "class_name": self.detector.class_names.get(int(label), str(int(label))),
                             "score": float(score), "ymin": float(box[0]), "xmin": float(box[1]),
                             "ymax": float(box[2]), "xmax": float(box[3])})
        return pd.DataFrame(rows, columns=["image", "class_id", "class_name", "score", "ymin", "xmin", "ymax", "xmax"])


def export_run(run_id: str, out: Path, register: str | None = None, example_image: Path | None = None) -> dict[str, Path]:
    """Write saved_model/, model.tflite and label_map.pbtxt to `out` and log the MLflow model."""
    import mlflow
    from mlflow.models import infer_signature

    from burgerfries.trained_run import load_trained_run

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
        from PIL import Image

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
        info = mlflow.pyfunc.log_model(name="model", python_model=DetectorModel(), artifacts={"saved_model": str(saved_model)},
                                       signature=signature, input_example=example,
                                       registered_model_name=register)
        mlflow.log_artifact(str(tflite), "export")
        mlflow.set_tag("exported_model_uri", info.model_uri)
    return {"saved_model": saved_model, "tflite": tflite, "label_map": out / "label_map.pbtxt", "model_uri": info.model_uri}
