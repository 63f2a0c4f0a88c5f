"""Evaluation prepares each image exactly as the exported model does, large photos included; both
pipelines run without tf.data's autotuning."""

import io

import numpy as np
import tensorflow as tf
from PIL import Image

from burgerfries.data.ingest import NormalizedBox, Sample
from burgerfries.data.pipeline import eval_dataset, train_dataset
from burgerfries.data.tfrecord import write_records
from burgerfries.model.preprocessing import resize_and_scale


def photo(width: int, height: int) -> np.ndarray:
    """Fine stripes and noise: the detail that antialiased and plain downsampling disagree on."""
    rng = np.random.default_rng(0)
    x = np.arange(width)[None, :, None]
    y = np.arange(height)[:, None, None]
    pattern = 127 + 100 * np.sin(x * 0.9) * np.cos(y * 0.7) + rng.normal(0, 20, (height, width, 3))
    return np.clip(pattern, 0, 255).astype(np.uint8)


def write_photo(record, pixels: np.ndarray) -> bytes:
    """A one-image record of `pixels` as a JPEG, with one box; the JPEG's bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    height, width = pixels.shape[:2]
    sample = Sample(
        rel_path="photo.jpg",
        jpeg_bytes=buffer.getvalue(),
        width=width,
        height=height,
        content_sha256="x",
        objects=[NormalizedBox("burger", 0.1, 0.1, 0.5, 0.5)],
        distractors=[],
    )
    write_records(record, [sample], {"burger": 1})
    return buffer.getvalue()


def test_eval_images_are_the_exported_models_input_on_a_large_photo(tmp_path):
    record = tmp_path / "eval.record"
    jpeg = write_photo(record, photo(1600, 1200))
    pixels = tf.io.decode_jpeg(jpeg).numpy()  # what the exported model is given
    images, *_ = next(iter(eval_dataset(record, (160, 160), batch_size=1, max_boxes=1)))
    exported = resize_and_scale(tf.constant(pixels[None]), (160, 160))
    assert float(tf.reduce_max(tf.abs(images - exported))) <= 1e-3


def test_both_pipelines_run_without_autotuning_and_still_give_batches(tmp_path):
    """Autotuning's optimisation thread made deleting a training iterator wait up to a minute at the
    end of a sweep trial (bench/RESULTS.md); the stall was intermittent, so the setting is checked."""
    record = tmp_path / "train.record"
    write_photo(record, photo(320, 240))
    train = train_dataset(
        record, (96, 96), batch_size=2, augmentation=[{"random_horizontal_flip": {}}], seed=0, max_boxes=1
    )
    evaluation = eval_dataset(record, (96, 96), batch_size=1, max_boxes=1)
    assert train.options().autotune.enabled is False
    assert evaluation.options().autotune.enabled is False
    images, boxes, labels, valid = next(iter(train))
    assert images.shape == (2, 96, 96, 3) and boxes.shape == (2, 1, 4) and bool(tf.reduce_all(valid))
