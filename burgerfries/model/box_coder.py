"""`faster_rcnn_box_coder`: boxes ↔ (ty, tx, th, tw) relative to anchors, scaled (10, 10, 5, 5)."""

from __future__ import annotations

import tensorflow as tf

EPSILON = 1e-8  # the OD API adds it to every height/width before dividing or taking logs


def _centers_and_sizes(boxes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    ymin, xmin, ymax, xmax = tf.unstack(boxes, axis=-1)
    return (ymin + ymax) / 2.0, (xmin + xmax) / 2.0, ymax - ymin, xmax - xmin


def encode(
    boxes: tf.Tensor, anchors: tf.Tensor, scales: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
) -> tf.Tensor:
    """boxes and anchors [..., 4] (ymin, xmin, ymax, xmax) → codes [..., 4] (ty, tx, th, tw)."""
    ycenter_a, xcenter_a, ha, wa = _centers_and_sizes(anchors)
    ycenter, xcenter, h, w = _centers_and_sizes(boxes)
    ha, wa, h, w = ha + EPSILON, wa + EPSILON, h + EPSILON, w + EPSILON
    ty = (ycenter - ycenter_a) / ha * scales[0]
    tx = (xcenter - xcenter_a) / wa * scales[1]
    th = tf.math.log(h / ha) * scales[2]
    tw = tf.math.log(w / wa) * scales[3]
    return tf.stack([ty, tx, th, tw], axis=-1)


def decode(
    codes: tf.Tensor, anchors: tf.Tensor, scales: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
) -> tf.Tensor:
    ycenter_a, xcenter_a, ha, wa = _centers_and_sizes(anchors)
    ty, tx, th, tw = tf.unstack(codes, axis=-1)
    ty, tx, th, tw = ty / scales[0], tx / scales[1], th / scales[2], tw / scales[3]
    w = tf.exp(tw) * wa
    h = tf.exp(th) * ha
    ycenter = ty * ha + ycenter_a
    xcenter = tx * wa + xcenter_a
    return tf.stack([ycenter - h / 2.0, xcenter - w / 2.0, ycenter + h / 2.0, xcenter + w / 2.0], axis=-1)
