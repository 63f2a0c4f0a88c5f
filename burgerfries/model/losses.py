"""SSD losses as the OD API computes them: sigmoid focal over every class column (background
included), smooth-L1 over the four codes, both normalised by the number of matched anchors
(localization also by the code size), each multiplied by its configured weight."""

from __future__ import annotations

import tensorflow as tf


def sigmoid_focal_loss(logits: tf.Tensor, targets: tf.Tensor, alpha: float = 0.25, gamma: float = 2.0) -> tf.Tensor:
    """Per-entry focal loss [..., C] (`weighted_sigmoid_focal`)."""
    cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    probabilities = tf.sigmoid(logits)
    p_t = targets * probabilities + (1.0 - targets) * (1.0 - probabilities)
    modulating = tf.pow(1.0 - p_t, gamma)
    alpha_weight = targets * alpha + (1.0 - targets) * (1.0 - alpha)
    return modulating * alpha_weight * cross_entropy


def smooth_l1_loss(predictions: tf.Tensor, targets: tf.Tensor, delta: float = 1.0) -> tf.Tensor:
    """Per-anchor Huber loss summed over the code (`weighted_smooth_l1`) [..., A]."""
    error = tf.abs(predictions - targets)
    quadratic = tf.minimum(error, delta)
    linear = error - quadratic
    return tf.reduce_sum(0.5 * quadratic * quadratic + delta * linear, axis=-1)


def ssd_losses(
    box_encodings: tf.Tensor,
    class_logits: tf.Tensor,
    targets: dict[str, tf.Tensor],
    loss_config: dict,
    normalize_by_num_matches: bool = True,
    normalize_loc_by_codesize: bool = True,
    per_image: bool = False,
) -> dict[str, tf.Tensor]:
    """Weighted classification and localization losses: scalars for the batch (training, where
    the OD API normalises by the batch's matches), or [B] per image (evaluation, where the OD API
    runs one image per batch and averages). Also both at weight 1 (`…_unweighted`): runs trained
    with different loss weights can only be compared on those."""
    focal = loss_config["classification_loss"]["weighted_sigmoid_focal"]
    delta = loss_config["localization_loss"]["weighted_smooth_l1"].get("delta", 1.0)
    axes = [1, 2] if per_image else None
    class_losses = sigmoid_focal_loss(
        class_logits, targets["cls_targets"], focal.get("alpha", 0.25), focal.get("gamma", 2.0)
    )
    classification = tf.reduce_sum(class_losses * targets["cls_weights"][..., None], axis=axes)
    localization = tf.reduce_sum(
        smooth_l1_loss(box_encodings, targets["reg_targets"], delta) * targets["reg_weights"],
        axis=[1] if per_image else None,
    )
    matches = tf.reduce_sum(targets["reg_weights"], axis=[1] if per_image else None)
    normalizer = tf.maximum(matches, 1.0) if normalize_by_num_matches else tf.ones_like(matches)
    loc_normalizer = normalizer * (float(box_encodings.shape[-1]) if normalize_loc_by_codesize else 1.0)
    classification = classification / normalizer
    localization = localization / loc_normalizer
    return {
        "loss_classification": loss_config["classification_weight"] * classification,
        "loss_localization": loss_config["localization_weight"] * localization,
        "loss_classification_unweighted": classification,
        "loss_localization_unweighted": localization,
    }
