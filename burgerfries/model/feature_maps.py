"""The two necks: SSD's extra stride-2 layers and FPN-lite's top-down pyramid, as in the OD API's
`KerasMultiResolutionFeatureMaps` and `KerasFpnTopDownFeatureMaps`."""

from __future__ import annotations

import keras

from burgerfries.model import layers as L


def depth_fn(depth: int, depth_multiplier: float, min_depth: int) -> int:
    return max(int(depth * depth_multiplier), min_depth)


def ssd_feature_maps(
    backbone: dict[str, keras.KerasTensor],
    hyperparams: dict,
    depth_multiplier: float,
    min_depth: int,
    extra_depths: tuple[int, ...] = (512, 256, 256, 128),
) -> list[keras.KerasTensor]:
    """layer_15/expansion_output (stride 16), layer_19 (stride 32), then four 1x1 → 3x3/2 layers."""
    features = [backbone["block_13_expand_relu"], backbone["out_relu"]]
    x = features[-1]
    for index, depth in enumerate(extra_depths, start=2):
        name = f"feature_map_{index}"
        x = L.conv(hyperparams, depth_fn(depth // 2, depth_multiplier, min_depth), 1, name=f"{name}_1x1")(x)
        x = L.batch_norm(hyperparams, name=f"{name}_1x1_batchnorm")(x)
        x = L.activation(hyperparams, name=f"{name}_1x1_relu")(x)
        x = L.conv(hyperparams, depth_fn(depth, depth_multiplier, min_depth), 3, strides=2, name=f"{name}_3x3")(x)
        x = L.batch_norm(hyperparams, name=f"{name}_3x3_batchnorm")(x)
        x = L.activation(hyperparams, name=f"{name}_3x3_relu")(x)
        features.append(x)
    return features


def fpn_feature_maps(
    backbone: dict[str, keras.KerasTensor],
    hyperparams: dict,
    depth_multiplier: float,
    min_depth: int,
    min_level: int = 3,
    max_level: int = 7,
    additional_layer_depth: int = 128,
    use_depthwise: bool = True,
) -> list[keras.KerasTensor]:
    """FPN-lite over MobileNetV2 levels 3–5 (block_5_add, block_12_add, out_relu), plus coarse
    stride-2 layers up to max_level. The coarsest base level is only projected; finer levels are
    projection + 2x nearest upsample of the level above, then a smoothing conv."""
    depth = depth_fn(additional_layer_depth, depth_multiplier, min_depth)
    blocks = {3: _block_output(backbone, 5), 4: _block_output(backbone, 12), 5: backbone["out_relu"]}
    base_max = min(max_level, 5)
    levels = list(range(min_level, base_max + 1))
    smoothing = L.separable_conv if use_depthwise else L.conv
    top_down = L.conv(hyperparams, depth, 1, name=f"projection_{len(levels)}", use_bias=True)(blocks[base_max])
    outputs = {base_max: top_down}
    for index in reversed(range(len(levels) - 1)):
        level = levels[index]
        residual = L.conv(hyperparams, depth, 1, name=f"projection_{index + 1}", use_bias=True)(blocks[level])
        upsampled = keras.layers.UpSampling2D(
            2, interpolation="nearest", name=f"nearest_neighbor_upsampling_{index + 1}"
        )(top_down)
        top_down = keras.layers.Add(name=f"top_down_add_{index + 1}")([residual, upsampled])
        top_down = smoothing(hyperparams, depth, 3, name=f"smoothing_{index + 1}")(top_down)
        top_down = L.batch_norm(hyperparams, name=f"smoothing_{index + 1}_batchnorm")(top_down)
        top_down = L.activation(hyperparams, name=f"smoothing_{index + 1}_relu")(top_down)
        outputs[level] = top_down
    features = [outputs[level] for level in levels]
    x = features[-1]
    for level in range(base_max + 1, max_level + 1):
        name = f"bottom_up_Conv2d_{level - base_max + 13}"
        x = smoothing(hyperparams, depth, 3, strides=2, name=f"{name}_conv")(x)
        x = L.batch_norm(hyperparams, name=f"{name}_batchnorm")(x)
        x = L.activation(hyperparams, name=f"{name}_relu")(x)
        features.append(x)
    return features


def _block_output(backbone: dict[str, keras.KerasTensor], block_id: int) -> keras.KerasTensor:
    return backbone.get(f"block_{block_id}_add", backbone[f"block_{block_id}_project_BN"])
