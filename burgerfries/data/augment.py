"""The zoo configs' augmentations, stateless (seeded per example) so a run is reproducible:
`random_horizontal_flip`, `ssd_random_crop` (SSD) and `random_crop_image` (FPNLite).

Boxes are normalised (ymin, xmin, ymax, xmax); `keep` masks which boxes survive a crop, with the
OD API's rules: drop boxes completely outside the crop window, drop boxes whose visible share
(intersection / box area) is below `overlap_thresh`, clip the rest to the window.
"""

from __future__ import annotations

import tensorflow as tf

# ssd_random_crop's seven operating points (OD API preprocessor defaults)
SSD_MIN_OBJECT_COVERED = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)
SSD_OVERLAP_THRESH = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)
SSD_ASPECT_RATIO_RANGE = (0.5, 2.0)
SSD_AREA_RANGE = (0.1, 1.0)
SSD_RANDOM_COEF = 0.15


def random_horizontal_flip(image: tf.Tensor, boxes: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    flip = tf.random.stateless_uniform([], seed) < 0.5
    flipped_boxes = tf.stack([boxes[:, 0], 1.0 - boxes[:, 3], boxes[:, 2], 1.0 - boxes[:, 1]], axis=1)
    return (
        tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image),
        tf.cond(flip, lambda: flipped_boxes, lambda: boxes),
    )


def crop_to_window(
    image: tf.Tensor,
    boxes: tf.Tensor,
    keep: tf.Tensor,
    seed: tf.Tensor,
    min_object_covered: tf.Tensor,
    aspect_ratio_range: tuple[float, float],
    area_range: tuple[float, float],
    overlap_thresh: tf.Tensor,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One `random_crop_image` draw (clip_boxes on)."""
    valid_boxes = tf.boolean_mask(tf.clip_by_value(boxes, 0.0, 1.0), keep)
    begin, size, window = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=valid_boxes[None],
        seed=seed,
        min_object_covered=min_object_covered,
        aspect_ratio_range=aspect_ratio_range,
        area_range=area_range,
        max_attempts=100,
        use_image_if_no_bounding_boxes=True,
    )
    window = tf.reshape(window, [4])
    cropped = tf.slice(image, begin, size)
    ymin, xmin, ymax, xmax = tf.unstack(window)
    inter_h = tf.maximum(0.0, tf.minimum(boxes[:, 2], ymax) - tf.maximum(boxes[:, 0], ymin))
    inter_w = tf.maximum(0.0, tf.minimum(boxes[:, 3], xmax) - tf.maximum(boxes[:, 1], xmin))
    area = tf.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-12)
    outside = tf.logical_or(
        tf.logical_or(boxes[:, 0] >= ymax, boxes[:, 2] <= ymin), tf.logical_or(boxes[:, 1] >= xmax, boxes[:, 3] <= xmin)
    )
    visible = inter_h * inter_w / area
    new_keep = keep & ~outside & (visible >= overlap_thresh)
    height, width = tf.maximum(ymax - ymin, 1e-12), tf.maximum(xmax - xmin, 1e-12)
    moved = tf.stack(
        [
            (boxes[:, 0] - ymin) / height,
            (boxes[:, 1] - xmin) / width,
            (boxes[:, 2] - ymin) / height,
            (boxes[:, 3] - xmin) / width,
        ],
        axis=1,
    )
    return cropped, tf.clip_by_value(moved, 0.0, 1.0), new_keep


def ssd_random_crop(
    image: tf.Tensor, boxes: tf.Tensor, keep: tf.Tensor, seed: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Pick one of seven operating points; with probability 0.15 keep the image uncropped."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    choice = tf.random.stateless_uniform([], seeds[0], 0, len(SSD_MIN_OBJECT_COVERED), dtype=tf.int32)
    covered = tf.gather(tf.constant(SSD_MIN_OBJECT_COVERED), choice)
    overlap = tf.gather(tf.constant(SSD_OVERLAP_THRESH), choice)
    skip = tf.random.stateless_uniform([], seeds[1]) < SSD_RANDOM_COEF
    cropped, new_boxes, new_keep = crop_to_window(
        image, boxes, keep, seeds[2], covered, SSD_ASPECT_RATIO_RANGE, SSD_AREA_RANGE, overlap
    )
    return tf.cond(skip, lambda: (image, boxes, keep), lambda: (cropped, new_boxes, new_keep))


def random_crop_image(
    image: tf.Tensor, boxes: tf.Tensor, keep: tf.Tensor, seed: tf.Tensor, options: dict
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    seeds = tf.random.experimental.stateless_split(seed, 2)
    random_coef = float(options.get("random_coef", 0.0))
    cropped, new_boxes, new_keep = crop_to_window(
        image,
        boxes,
        keep,
        seeds[1],
        tf.constant(float(options.get("min_object_covered", 1.0))),
        (float(options.get("min_aspect_ratio", 0.75)), float(options.get("max_aspect_ratio", 1.33))),
        (float(options.get("min_area", 0.1)), float(options.get("max_area", 1.0))),
        tf.constant(float(options.get("overlap_thresh", 0.3))),
    )
    if random_coef <= 0.0:
        return cropped, new_boxes, new_keep
    skip = tf.random.stateless_uniform([], seeds[0]) < random_coef
    return tf.cond(skip, lambda: (image, boxes, keep), lambda: (cropped, new_boxes, new_keep))


def augment(
    image: tf.Tensor, boxes: tf.Tensor, keep: tf.Tensor, seed: tf.Tensor, options: list[dict]
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Apply `data_augmentation_options` in config order."""
    seeds = tf.random.experimental.stateless_split(seed, max(1, len(options)))
    for index, option in enumerate(options):
        ((name, params),) = option.items()
        if name == "random_horizontal_flip":
            image, boxes = random_horizontal_flip(image, boxes, seeds[index])
        elif name == "ssd_random_crop":
            image, boxes, keep = ssd_random_crop(image, boxes, keep, seeds[index])
        elif name == "random_crop_image":
            image, boxes, keep = random_crop_image(image, boxes, keep, seeds[index], params or {})
        else:
            raise ValueError(f"unsupported data_augmentation_options entry {name!r}")
    return image, boxes, keep
