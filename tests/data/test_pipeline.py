"""Evaluation prepares each image exactly as the exported model does, large photos included."""

import io

import numpy as np
import tensorflow as tf
from PIL import Image

from burgerfries.data.ingest import NormalizedBox, Sample
from burgerfries.data.pipeline import eval_dataset
from burgerfries.data.tfrecord import write_records
from burgerfries.model.preprocessing import resize_and_scale


def photo(width: int, height: int) -> np.ndarray:
    """Fine stripes and noise: the detail that antialiased and plain downsampling disagree on."""
    rng = np.random.default_rng(0)
    x = np.arange(width)[None, :, None]
    y = np.arange(height)[:, None, None]
    pattern = 127 + 100 * np.sin(x * 0.9) * np.cos(y * 0.7) + rng.normal(0, 20, (height, width, 3))
    return np.clip(pattern, 0, 255).astype(np.uint8)


def test_eval_images_are_the_exported_models_input_on_a_large_photo(tmp_path):
    pixels = photo(1600, 1200)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    pixels = tf.io.decode_jpeg(buffer.getvalue()).numpy()  # what the exported model is given
    sample = Sample(
        rel_path="big.jpg",
        jpeg_bytes=buffer.getvalue(),
        width=1600,
        height=1200,
        content_sha256="x",
        objects=[NormalizedBox("burger", 0.1, 0.1, 0.5, 0.5)],
        distractors=[],
    )
    record = tmp_path / "eval.record"
    write_records(record, [sample], {"burger": 1})
    images, *_ = next(iter(eval_dataset(record, (160, 160), batch_size=1, max_boxes=1)))
    exported = resize_and_scale(tf.constant(pixels[None]), (160, 160))
    assert float(tf.reduce_max(tf.abs(images - exported))) <= 1e-3
