"""MobileNetV2 as the OD API builds it for its SSD feature extractors.

Not `keras.applications.MobileNetV2` as is: the OD API overrides it in three ways that change
weights' shapes or outputs, and we follow them so its checkpoints load by name:
- 'SAME' padding instead of the application's explicit ZeroPadding2D (identical results for the
  image sizes used, and no padding layers);
- `min_depth`: any non-expansion conv narrower than min_depth is widened to it (matters at
  depth multiplier 0.35);
- the last 1x1 conv (1280) is scaled by the depth multiplier when it is below 1.
Layer names and order are the application's, which the OD API's checkpoints index by.
"""

from __future__ import annotations

import keras

from burgerfries.model import layers as L

# (expansion, output channels, stride) of blocks 0..16
BLOCKS = [
    (1, 16, 1),
    (6, 24, 2),
    (6, 24, 1),
    (6, 32, 2),
    (6, 32, 1),
    (6, 32, 1),
    (6, 64, 2),
    (6, 64, 1),
    (6, 64, 1),
    (6, 64, 1),
    (6, 96, 1),
    (6, 96, 1),
    (6, 96, 1),
    (6, 160, 2),
    (6, 160, 1),
    (6, 160, 1),
    (6, 320, 1),
]


def make_divisible(value: float, divisor: int = 8) -> int:
    new_value = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def build_mobilenet_v2(
    inputs: keras.KerasTensor, hyperparams: dict, depth_multiplier: float = 1.0, min_depth: int = 16
) -> dict[str, keras.KerasTensor]:
    """Run MobileNetV2 on `inputs`; return every layer output the SSD and FPN necks may take,
    keyed by the application's layer names (e.g. 'block_13_expand_relu', 'out_relu')."""

    def width(filters: int, name: str) -> int:
        return min_depth if min_depth and filters < min_depth and not name.endswith("expand") else filters

    outputs: dict[str, keras.KerasTensor] = {}
    filters = width(make_divisible(32 * depth_multiplier), "Conv1")
    x = L.conv(hyperparams, filters, 3, strides=2, name="Conv1")(inputs)
    x = L.batch_norm(hyperparams, name="bn_Conv1")(x)
    x = L.activation(hyperparams, name="Conv1_relu")(x)
    for block_id, (expansion, channels, stride) in enumerate(BLOCKS):
        in_channels = x.shape[-1]
        prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
        block_input = x
        if block_id:
            x = L.conv(hyperparams, width(expansion * in_channels, prefix + "expand"), 1, name=prefix + "expand")(x)
            x = L.batch_norm(hyperparams, name=prefix + "expand_BN")(x)
            x = L.activation(hyperparams, name=prefix + "expand_relu")(x)
            outputs[prefix + "expand_relu"] = x
        x = L.depthwise_conv(hyperparams, stride, name=prefix + "depthwise")(x)
        x = L.batch_norm(hyperparams, name=prefix + "depthwise_BN")(x)
        x = L.activation(hyperparams, name=prefix + "depthwise_relu")(x)
        project_filters = width(make_divisible(int(channels * depth_multiplier)), prefix + "project")
        x = L.conv(hyperparams, project_filters, 1, name=prefix + "project")(x)
        x = L.batch_norm(hyperparams, name=prefix + "project_BN")(x)
        outputs[prefix + "project_BN"] = x
        if in_channels == project_filters and stride == 1:
            x = keras.layers.Add(name=prefix + "add")([block_input, x])
            outputs[prefix + "add"] = x
    last_filters = make_divisible(1280 * depth_multiplier) if depth_multiplier < 1.0 else 1280
    x = L.conv(hyperparams, width(last_filters, "Conv_1"), 1, name="Conv_1")(x)
    x = L.batch_norm(hyperparams, name="Conv_1_bn")(x)
    x = L.activation(hyperparams, name="out_relu")(x)
    outputs["out_relu"] = x
    return outputs
