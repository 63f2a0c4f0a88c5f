"""Target assignment: IoU similarity + `argmax_matcher`, batched over padded ground truth.

Semantics of the OD API's ArgMaxMatcher with matched = unmatched threshold and
`force_match_for_each_row`: each anchor takes its best box when IoU ≥ threshold, else it is a
negative; then every (valid) box claims its own best anchor even below the threshold, so no
ground-truth box goes unmatched. Padded boxes (valid = False) never match.
"""

from __future__ import annotations

import tensorflow as tf

from burgerfries.model import box_coder

MATCHED_NEGATIVE = -1
MATCHED_IGNORED = -2


def iou(boxes: tf.Tensor, anchors: tf.Tensor) -> tf.Tensor:
    """boxes [B, N, 4], anchors [A, 4] → IoU [B, N, A]."""
    b = boxes[:, :, None, :]
    a = anchors[None, None, :, :]
    inter_h = tf.maximum(0.0, tf.minimum(b[..., 2], a[..., 2]) - tf.maximum(b[..., 0], a[..., 0]))
    inter_w = tf.maximum(0.0, tf.minimum(b[..., 3], a[..., 3]) - tf.maximum(b[..., 1], a[..., 1]))
    intersection = inter_h * inter_w
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    union = area_b + area_a - intersection
    return tf.where(intersection > 0.0, intersection / tf.maximum(union, 1e-12), tf.zeros_like(intersection))


def match(
    similarity: tf.Tensor,
    valid: tf.Tensor,
    matched_threshold: float = 0.5,
    unmatched_threshold: float = 0.5,
    negatives_lower_than_unmatched: bool = True,
    force_match_for_each_row: bool = True,
) -> tf.Tensor:
    """similarity [B, N, A], valid [B, N] → per anchor the matched box index, -1 negative, -2 ignored."""
    similarity = tf.where(valid[:, :, None], similarity, tf.fill(tf.shape(similarity), -1.0))
    num_boxes = tf.shape(similarity)[1]
    best_box = tf.argmax(similarity, axis=1, output_type=tf.int32)  # [B, A]
    best_value = tf.reduce_max(similarity, axis=1)
    matches = best_box
    below_unmatched = best_value < unmatched_threshold
    between = tf.logical_and(best_value >= unmatched_threshold, best_value < matched_threshold)
    if negatives_lower_than_unmatched:
        matches = tf.where(below_unmatched, MATCHED_NEGATIVE, matches)
        matches = tf.where(between, MATCHED_IGNORED, matches)
    else:
        matches = tf.where(below_unmatched, MATCHED_IGNORED, matches)
        matches = tf.where(between, MATCHED_NEGATIVE, matches)
    if force_match_for_each_row:
        best_anchor = tf.argmax(similarity, axis=2, output_type=tf.int32)  # [B, N]
        num_anchors = tf.shape(similarity)[2]
        forced = tf.one_hot(best_anchor, num_anchors, dtype=tf.float32) * tf.cast(valid, tf.float32)[:, :, None]
        forced_row = tf.argmax(forced, axis=1, output_type=tf.int32)  # the first box forcing each anchor
        is_forced = tf.reduce_max(forced, axis=1) > 0
        matches = tf.where(is_forced, forced_row, matches)
    return tf.where(num_boxes > 0, matches, tf.fill(tf.shape(matches), MATCHED_NEGATIVE))


def assign_targets(
    anchors: tf.Tensor,
    boxes: tf.Tensor,
    labels: tf.Tensor,
    valid: tf.Tensor,
    num_classes: int,
    matcher_config: dict,
    box_coder_scales: tuple[float, float, float, float],
) -> dict[str, tf.Tensor]:
    """Regression and classification targets and weights for a padded batch.

    boxes [B, N, 4] normalised, labels [B, N] 1-based, valid [B, N]. Class targets have
    num_classes + 1 columns; with `encode_background_as_zeros` the background column is 0
    everywhere, including for negatives (sigmoid per class).
    """
    matches = match(
        iou(boxes, anchors),
        valid,
        matcher_config.get("matched_threshold", 0.5),
        matcher_config.get("unmatched_threshold", 0.5),
        matcher_config.get("negatives_lower_than_unmatched", True),
        matcher_config.get("force_match_for_each_row", True),
    )
    positive = matches >= 0
    gather_index = tf.maximum(matches, 0)
    matched_boxes = tf.gather(boxes, gather_index, batch_dims=1)  # [B, A, 4]
    matched_labels = tf.gather(labels, gather_index, batch_dims=1)
    reg_targets = box_coder.encode(matched_boxes, anchors[None], box_coder_scales)
    reg_targets = tf.where(positive[..., None], reg_targets, tf.zeros_like(reg_targets))
    cls_targets = tf.one_hot(tf.where(positive, matched_labels, 0), num_classes + 1, dtype=tf.float32)
    cls_targets = tf.concat([tf.zeros_like(cls_targets[..., :1]), cls_targets[..., 1:]], axis=-1)
    not_ignored = tf.cast(matches != MATCHED_IGNORED, tf.float32)
    return {
        "matches": matches,
        "reg_targets": reg_targets,
        "reg_weights": tf.cast(positive, tf.float32),
        "cls_targets": cls_targets,
        "cls_weights": not_ignored,
    }
