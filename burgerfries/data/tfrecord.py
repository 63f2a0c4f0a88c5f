"""The TF Object Detection API's `tf.train.Example` schema: one place for every feature key.

Users bring TFRecords made by OD-API scripts and take ours to OD-API tools, so the keys and
their meaning (normalised boxes, 1-based labels, class text) follow the OD API exactly. The
`image/distractor/*` keys are ours: OD-API readers ignore unknown keys.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from burgerfries.data.ingest import NormalizedBox, Sample

BOX_KEYS = ("xmin", "ymin", "xmax", "ymax")


def _bytes(values: list[bytes]) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _floats(values: list[float]) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _ints(values: list[int]) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _box_features(prefix: str, boxes: list[NormalizedBox]) -> dict[str, tf.train.Feature]:
    return {f"{prefix}/bbox/{key}": _floats([getattr(b, key) for b in boxes]) for key in BOX_KEYS}


def sample_to_example(sample: Sample, class_ids: dict[str, int]) -> tf.train.Example:
    features = {
        "image/encoded": _bytes([sample.jpeg_bytes]),
        "image/format": _bytes([b"jpeg"]),
        "image/height": _ints([sample.height]),
        "image/width": _ints([sample.width]),
        "image/filename": _bytes([sample.rel_path.encode("utf-8")]),
        "image/source_id": _bytes([sample.rel_path.encode("utf-8")]),
        "image/key/sha256": _bytes([hashlib.sha256(sample.jpeg_bytes).hexdigest().encode()]),
        "image/object/class/text": _bytes([b.name.encode("utf-8") for b in sample.objects]),
        "image/object/class/label": _ints([class_ids[b.name] for b in sample.objects]),
        "image/object/difficult": _ints([int(b.difficult) for b in sample.objects]),
        "image/distractor/text": _bytes([b.name.encode("utf-8") for b in sample.distractors]),
        **_box_features("image/object", sample.objects),
        **_box_features("image/distractor", sample.distractors),
    }
    return tf.train.Example(features=tf.train.Features(feature=features))


def write_records(path: Path, samples: list[Sample], class_ids: dict[str, int]) -> None:
    with tf.io.TFRecordWriter(str(path)) as writer:
        for sample in samples:
            writer.write(sample_to_example(sample, class_ids).SerializeToString())


FEATURE_SPEC = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/format": tf.io.FixedLenFeature([], tf.string, default_value="jpeg"),
    "image/height": tf.io.FixedLenFeature([], tf.int64),
    "image/width": tf.io.FixedLenFeature([], tf.int64),
    "image/filename": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "image/source_id": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "image/object/class/text": tf.io.VarLenFeature(tf.string),
    "image/object/class/label": tf.io.VarLenFeature(tf.int64),
    "image/object/difficult": tf.io.VarLenFeature(tf.int64),
    "image/distractor/text": tf.io.VarLenFeature(tf.string),
    **{f"image/object/bbox/{key}": tf.io.VarLenFeature(tf.float32) for key in BOX_KEYS},
    **{f"image/distractor/bbox/{key}": tf.io.VarLenFeature(tf.float32) for key in BOX_KEYS},
}


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Decode one record into dense tensors: image uint8 [H, W, 3], boxes [N, 4] as
    (ymin, xmin, ymax, xmax) — the OD API's internal order — and 1-based int32 labels."""
    parsed = tf.io.parse_single_example(serialized, FEATURE_SPEC)
    dense = {
        key: tf.sparse.to_dense(value) if isinstance(value, tf.SparseTensor) else value for key, value in parsed.items()
    }

    def boxes(prefix: str) -> tf.Tensor:
        return tf.stack([dense[f"{prefix}/bbox/{k}"] for k in ("ymin", "xmin", "ymax", "xmax")], axis=-1)

    return {
        "image": tf.io.decode_image(dense["image/encoded"], channels=3, expand_animations=False),
        "height": tf.cast(dense["image/height"], tf.int32),
        "width": tf.cast(dense["image/width"], tf.int32),
        "filename": dense["image/filename"],
        "source_id": dense["image/source_id"],
        "boxes": tf.reshape(boxes("image/object"), [-1, 4]),
        "labels": tf.cast(dense["image/object/class/label"], tf.int32),
        "difficult": tf.cast(dense["image/object/difficult"], tf.bool),
        "distractor_boxes": tf.reshape(boxes("image/distractor"), [-1, 4]),
    }


def read_boxes(path: Path) -> np.ndarray:
    """Every object box of a record as [N, 4] normalised (ymin, xmin, ymax, xmax), no image decoded."""
    spec = {f"image/object/bbox/{key}": tf.io.VarLenFeature(tf.float32) for key in ("ymin", "xmin", "ymax", "xmax")}
    boxes = [np.zeros((0, 4), np.float32)]
    for raw in tf.data.TFRecordDataset(str(path)):
        parsed = tf.io.parse_single_example(raw, spec)
        boxes.append(np.stack([parsed[key].values.numpy() for key in spec], axis=1))
    return np.concatenate(boxes)
