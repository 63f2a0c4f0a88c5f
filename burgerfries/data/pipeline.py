"""tf.data input for training and evaluation: parse → cache → (shuffle, augment) → resize →
[−1, 1] → pad boxes to a fixed count → batch → prefetch.

Ground truth is padded to a fixed number of boxes per image (the dataset's maximum, at most
max_number_of_boxes) with a `valid` mask, so every batch has the same shapes and the training
step compiles once.

Both pipelines run with tf.data's autotuning off (`without_autotuning`): its optimisation thread
made deleting a training iterator wait up to a minute at the end of a run: 13 of 28 trials of
a two-worker main job (bench/RESULTS.md, "The end-of-trial stall").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from burgerfries.data.augment import augment
from burgerfries.data.tfrecord import parse_example
from burgerfries.model.preprocessing import resize_and_scale

CACHE_SCALE = 2  # cached images are shrunk to at most twice the model input: crops stay sharp


def without_autotuning(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """The dataset with tf.data's autotuning off: its `AUTOTUNE` parallelism and buffer sizes stay
    at the values tf.data starts them with, and its iterators start no optimisation thread.

    Deleting an iterator waits for that thread. In TF 2.21 the wait took 10–58 s for some
    iterators (py-spy: `~LogicalThreadWrapper` under `RootDataset::Iterator::~Iterator`); with
    autotuning off, no trial of the main job waited."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


class DataError(ValueError):
    """A record file that cannot feed training; the message names it."""


@dataclass(frozen=True)
class RecordFacts:
    """What training needs to know of a record file before it reads its images."""

    examples: int
    max_boxes: int  # the most objects any example has


def record_facts(record: Path) -> RecordFacts:
    """`record`'s example count and largest object count, from its labels alone (no image is
    decoded), read once per process while the file is unchanged: a run checks its record and
    sizes its batches from this one pass, and a sweep's trials share it."""
    path = Path(record)
    if not path.is_file():
        raise DataError(f"{record}: not found — run data_prep first (burgerfries data-prep --out DIR)")
    stat = path.stat()
    return _read_facts(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _read_facts(path: str, mtime_ns: int, size: int) -> RecordFacts:
    spec = {"image/object/class/label": tf.io.VarLenFeature(tf.int64)}
    examples = max_boxes = 0
    for raw in tf.data.TFRecordDataset(path):
        labels = tf.io.parse_single_example(raw, spec)["image/object/class/label"]
        examples += 1
        max_boxes = max(max_boxes, int(labels.dense_shape[0]))
    return RecordFacts(examples, max_boxes)


def max_boxes_in(record: Path) -> int:
    """The most objects any example has (`record_facts`)."""
    return record_facts(record).max_boxes


def check_record(record: Path) -> int:
    """`record`'s example count; a missing or empty record is an error naming it."""
    count = record_facts(record).examples
    if count == 0:
        raise DataError(f"{record}: 0 examples — did data_prep skip everything? see skip_report.csv")
    return count


def _decoded(record: Path, image_size: tuple[int, int], shrink: bool = True) -> tf.data.Dataset:
    """Parsed examples. With `shrink`, images larger than CACHE_SCALE × the model input are shrunk
    (antialiased) so the training cache stays small; evaluation keeps the stored pixels so that it
    prepares each image exactly as the exported model does (`resize_and_scale` of the full image)."""
    limit = (image_size[0] * CACHE_SCALE, image_size[1] * CACHE_SCALE)

    def parse(raw: tf.Tensor) -> dict[str, tf.Tensor]:
        example = parse_example(raw)
        image = example["image"]
        if shrink:
            shape = tf.cast(tf.shape(image)[:2], tf.float32)
            scale = tf.minimum(1.0, tf.reduce_min(tf.constant(limit, tf.float32) / shape))
            if_large = tf.cast(tf.image.resize(image, tf.cast(shape * scale, tf.int32), antialias=True), tf.uint8)
            image = tf.cond(scale < 1.0, lambda: if_large, lambda: image)
        return {
            "image": image,
            "boxes": example["boxes"],
            "labels": example["labels"],
            "source_id": example["source_id"],
            "height": example["height"],
            "width": example["width"],
        }

    return tf.data.TFRecordDataset(str(record)).map(parse, num_parallel_calls=tf.data.AUTOTUNE).cache()


def _finish(
    image: tf.Tensor, boxes: tf.Tensor, labels: tf.Tensor, keep: tf.Tensor, image_size: tuple[int, int], max_boxes: int
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    resized = resize_and_scale(image[None], image_size)[0]
    order = tf.argsort(tf.cast(~keep, tf.int32), stable=True)  # kept boxes first
    boxes, labels, keep = tf.gather(boxes, order), tf.gather(labels, order), tf.gather(keep, order)
    count = tf.minimum(tf.shape(boxes)[0], max_boxes)
    pad = max_boxes - count
    boxes = tf.pad(boxes[:count], [[0, pad], [0, 0]])
    labels = tf.pad(labels[:count], [[0, pad]])
    valid = tf.pad(keep[:count], [[0, pad]])
    boxes.set_shape([max_boxes, 4])
    labels.set_shape([max_boxes])
    valid.set_shape([max_boxes])
    return resized, boxes, labels, valid


def train_dataset(
    record: Path, image_size: tuple[int, int], batch_size: int, augmentation: list[dict], seed: int, max_boxes: int
) -> tf.data.Dataset:
    """Endless shuffled, augmented batches of (images, boxes, labels, valid)."""
    seeds = tf.data.Dataset.random(seed=seed).batch(2, drop_remainder=True)

    def prepare(example: dict[str, tf.Tensor], example_seed: tf.Tensor):
        keep = tf.ones_like(example["labels"], tf.bool)
        image, boxes, keep = augment(example["image"], example["boxes"], keep, example_seed, augmentation)
        return _finish(image, boxes, example["labels"], keep, image_size, max_boxes)

    decoded = _decoded(record, image_size).shuffle(512, seed=seed, reshuffle_each_iteration=True).repeat()
    return without_autotuning(
        tf.data.Dataset.zip((decoded, seeds))
        .map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def eval_dataset(record: Path, image_size: tuple[int, int], batch_size: int, max_boxes: int) -> tf.data.Dataset:
    """One pass, no augmentation: (images, boxes, labels, valid, source_id, original height, width).
    Each image is the stored one through `resize_and_scale`, as the exported SavedModel prepares it."""

    def prepare(example: dict[str, tf.Tensor]):
        keep = tf.ones_like(example["labels"], tf.bool)
        images, boxes, labels, valid = _finish(
            example["image"], example["boxes"], example["labels"], keep, image_size, max_boxes
        )
        return images, boxes, labels, valid, example["source_id"], example["height"], example["width"]

    return without_autotuning(
        _decoded(record, image_size, shrink=False)
        .map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .prefetch(2)
    )
