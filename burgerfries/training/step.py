"""The loss of a batch and the compiled training step."""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from burgerfries.model.losses import ssd_losses
from burgerfries.model.matcher import assign_targets
from burgerfries.model.ssd import Detector
from burgerfries.training.weight_average import WeightAverage

LOSS_KEYS = (
    "loss_classification",
    "loss_localization",
    "loss_regularization",
    "loss_total",
    "loss_classification_unweighted",
    "loss_localization_unweighted",
    "loss_total_unweighted",
)


def batch_losses(
    detector: Detector,
    images: tf.Tensor,
    boxes: tf.Tensor,
    labels: tf.Tensor,
    valid: tf.Tensor,
    training: bool,
    per_image: bool = False,
) -> tuple[dict[str, tf.Tensor], tf.Tensor, tf.Tensor]:
    """Weighted classification + localization + regularization = total, as the OD API sums them;
    the same sum at loss weights 1 (`loss_total_unweighted`, the loss that is fair across loss
    weights); also the predictions (box encodings, class logits) the losses were computed from."""
    ssd = detector.ssd
    box_encodings, class_logits = detector.model(images, training=training)
    targets = assign_targets(
        detector.anchors,
        boxes,
        labels,
        valid,
        detector.num_classes,
        ssd["matcher"]["argmax_matcher"],
        detector.box_coder_scales,
    )
    losses = ssd_losses(
        box_encodings,
        class_logits,
        targets,
        {**ssd["loss"], **detector.loss_weights},  # variables: a new trial's weights need no new trace
        ssd.get("normalize_loss_by_num_matches", True),
        ssd.get("normalize_loc_loss_by_codesize", True),
        per_image=per_image,
    )
    regularization = tf.add_n(detector.model.losses) if detector.model.losses else tf.constant(0.0)
    losses["loss_regularization"] = regularization
    losses["loss_total"] = losses["loss_classification"] + losses["loss_localization"] + regularization
    losses["loss_total_unweighted"] = (
        losses["loss_classification_unweighted"] + losses["loss_localization_unweighted"] + regularization
    )
    return losses, box_encodings, class_logits


def make_train_step(
    detector: Detector,
    optimizer: keras.optimizers.Optimizer,
    average: WeightAverage | None = None,
    jit_compile: bool = False,
) -> Callable[..., dict[str, tf.Tensor]]:
    """The traced step: losses, gradients, the optimizer's update, then `average`'s (if any)."""
    variables = detector.model.trainable_variables

    @tf.function(jit_compile=jit_compile, reduce_retracing=True, autograph=False)
    def train_step(images, boxes, labels, valid):
        with tf.GradientTape() as tape:
            losses, _, _ = batch_losses(detector, images, boxes, labels, valid, training=True)
        gradients = tape.gradient(losses["loss_total"], variables)
        optimizer.apply_gradients(zip(gradients, variables))
        if average is not None:
            average.update(optimizer.iterations)
        return losses

    return train_step


def make_eval_step(detector: Detector, jit_compile: bool = False) -> Callable[..., dict[str, tf.Tensor]]:
    @tf.function(jit_compile=jit_compile, reduce_retracing=True, autograph=False)
    def eval_step(images, boxes, labels, valid):
        losses, box_encodings, class_logits = batch_losses(
            detector, images, boxes, labels, valid, training=False, per_image=True
        )
        return losses, detector.postprocess(box_encodings, class_logits)

    return eval_step
