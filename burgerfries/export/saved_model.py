"""SavedModel and TFLite files written from a detector (see the package docstring for their signatures)."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from burgerfries.model.ssd import Detector


def _archive(detector: Detector, path: Path, endpoint, input_shape: list[int | None]) -> Path:
    """A SavedModel written with Keras' ExportArchive: it tracks Keras 3 variables properly (a
    plain tf.Module + tf.saved_model.save lets the TFLite converter read them uninitialised)."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(detector.model)
    archive.add_endpoint(
        name="serving_default", fn=endpoint, input_signature=[tf.TensorSpec(input_shape, tf.uint8, name="input_tensor")]
    )
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
        return {
            "raw_detection_boxes": detector.decode_boxes(box_encodings),
            "raw_detection_scores": tf.sigmoid(class_logits),
        }

    with tempfile.TemporaryDirectory() as scratch:
        archive = _archive(detector, Path(scratch) / "raw", raw, [1, *detector.image_size, 3])
        converter = tf.lite.TFLiteConverter.from_saved_model(str(archive))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        path.write_bytes(converter.convert())
    return path
