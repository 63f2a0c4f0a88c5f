"""Loading an exported SavedModel (ours or the OD API's) and turning image files into its input."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import tensorflow as tf

from burgerfries.data.folder import read_label_map
from burgerfries.keys import LABEL_MAP


class ExportError(ValueError):
    """A model path or export target that cannot be used; the message names it."""


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


def saved_model_folder(path: Path) -> Path:
    """An export folder or its `saved_model/` folder → the folder holding saved_model.pb."""
    path = Path(path)
    folder = next((c for c in (path, path / "saved_model") if (c / "saved_model.pb").is_file()), None)
    if folder is None:
        raise ExportError(f"{path}: not a model (no saved_model.pb in it or in its saved_model/ folder)")
    return folder


def class_names_beside(saved_model: Path) -> dict[int, str]:
    """The label map an export keeps in its saved_model/ folder or beside it; {} when there is none."""
    label_map = next((p for p in (saved_model / LABEL_MAP, saved_model.parent / LABEL_MAP) if p.is_file()), None)
    return read_label_map(label_map) if label_map else {}


class SavedModelDetector:
    """Loads an exported `saved_model/` (ours or the OD API's) and runs its serving signature."""

    def __init__(self, path: Path):
        self.folder = saved_model_folder(path)
        self.serve = tf.saved_model.load(str(self.folder)).signatures["serving_default"]
        self.class_names = class_names_beside(self.folder)

    def __call__(self, image: np.ndarray) -> dict[str, np.ndarray]:
        output = self.serve(input_tensor=tf.constant(image[None], tf.uint8))
        return {key: value.numpy() for key, value in output.items()}
