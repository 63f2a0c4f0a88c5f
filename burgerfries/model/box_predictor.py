"""Box-predictor heads. Each head's conv output [B, H, W, anchors·k] is reshaped to
[B, H·W·anchors, k], which is exactly the (row, column, anchor) order of `anchors.py`.
Class heads predict num_classes + 1 logits (column 0 = background), as the OD API does."""

from __future__ import annotations

from functools import partial

import keras

from burgerfries.model import layers as L


def _flatten(x: keras.KerasTensor, size: int, name: str) -> keras.KerasTensor:
    return keras.layers.Reshape((-1, size), name=name)(x)


def convolutional_heads(
    features: list[keras.KerasTensor], anchors_per_location: list[int], num_classes: int, config: dict
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """`convolutional_box_predictor`: one box and one class conv per feature map."""
    hyperparams = config["conv_hyperparams"]
    kernel = config.get("kernel_size", 1)
    bias = keras.initializers.Constant(config.get("class_prediction_bias_init", 0.0))
    boxes, classes = [], []
    for index, (feature, anchors) in enumerate(zip(features, anchors_per_location)):
        box = L.conv(hyperparams, anchors * 4, kernel, name=f"box_encodings_{index}", use_bias=True)(feature)
        boxes.append(_flatten(box, 4, f"box_encodings_{index}_flat"))
        logits = L.conv(
            hyperparams,
            anchors * (num_classes + 1),
            kernel,
            name=f"class_predictions_{index}",
            use_bias=True,
            bias_initializer=bias,
        )(feature)
        classes.append(_flatten(logits, num_classes + 1, f"class_predictions_{index}_flat"))
    return (
        keras.layers.Concatenate(axis=1, name="box_encodings")(boxes),
        keras.layers.Concatenate(axis=1, name="class_predictions_with_background")(classes),
    )


def weight_shared_heads(
    features: list[keras.KerasTensor], anchors_per_location: int, num_classes: int, config: dict
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """`weight_shared_convolutional_box_predictor` with a shared prediction tower: the tower's
    convolutions and both heads are shared by all levels; each level has its own batch norms."""
    hyperparams = config["conv_hyperparams"]
    depth, kernel = config.get("depth", 128), config.get("kernel_size", 3)
    if config.get("use_depthwise", True):
        to_heads = config.get("apply_conv_hyperparams_to_heads", False)
        tower_conv = partial(
            L.separable_conv, pointwise_hyperparams=config.get("apply_conv_hyperparams_pointwise", False)
        )
        head_conv = partial(L.separable_conv, depthwise_hyperparams=to_heads, pointwise_hyperparams=to_heads)
    else:
        tower_conv = head_conv = L.conv
    tower = [
        tower_conv(hyperparams, depth, kernel, name=f"PredictionTower_{i}")
        for i in range(config.get("num_layers_before_predictor", 4))
    ]
    box_head = head_conv(hyperparams, anchors_per_location * 4, kernel, name="BoxPredictor", use_bias=True)
    class_head = head_conv(
        hyperparams,
        anchors_per_location * (num_classes + 1),
        kernel,
        name="ClassPredictor",
        use_bias=True,
        bias_initializer=keras.initializers.Constant(config.get("class_prediction_bias_init", 0.0)),
    )
    boxes, classes = [], []
    for level, feature in enumerate(features):
        x = feature
        for i, layer in enumerate(tower):
            x = layer(x)
            x = L.batch_norm(hyperparams, name=f"PredictionTower_{i}_batchnorm_level_{level}")(x)
            x = L.activation(hyperparams, name=f"PredictionTower_{i}_relu_level_{level}")(x)
        boxes.append(_flatten(box_head(x), 4, f"box_encodings_{level}_flat"))
        classes.append(_flatten(class_head(x), num_classes + 1, f"class_predictions_{level}_flat"))
    return (
        keras.layers.Concatenate(axis=1, name="box_encodings")(boxes),
        keras.layers.Concatenate(axis=1, name="class_predictions_with_background")(classes),
    )
