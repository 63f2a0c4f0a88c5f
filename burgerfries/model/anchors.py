"""Anchor generation in the OD API's order: for each feature map, row by row, column by column,
then the per-location anchor specs — the order the box-predictor heads' outputs are reshaped in,
so a checkpoint's heads line up with these anchors.

All anchors are normalised (ymin, xmin, ymax, xmax) and not clipped, as in the OD API.
"""

from __future__ import annotations

import numpy as np


def tile_anchors(
    grid_height: int,
    grid_width: int,
    heights: np.ndarray,
    widths: np.ndarray,
    stride: tuple[float, float],
    offset: tuple[float, float],
) -> np.ndarray:
    y_centers = np.arange(grid_height, dtype=np.float64) * stride[0] + offset[0]
    x_centers = np.arange(grid_width, dtype=np.float64) * stride[1] + offset[1]
    yc = np.repeat(y_centers, grid_width * len(heights))
    xc = np.tile(np.repeat(x_centers, len(heights)), grid_height)
    h = np.tile(heights, grid_height * grid_width)
    w = np.tile(widths, grid_height * grid_width)
    return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], axis=1)


def ssd_box_specs(
    num_layers: int,
    min_scale: float,
    max_scale: float,
    aspect_ratios: list[float],
    reduce_boxes_in_lowest_layer: bool = True,
    interpolated_scale_aspect_ratio: float = 1.0,
) -> list[list[tuple[float, float]]]:
    """(scale, aspect ratio) per anchor per layer, as `ssd_anchor_generator` defines them."""
    scales = [min_scale + (max_scale - min_scale) * i / (num_layers - 1) for i in range(num_layers)] + [1.0]
    specs = []
    for layer in range(num_layers):
        scale, scale_next = scales[layer], scales[layer + 1]
        if layer == 0 and reduce_boxes_in_lowest_layer:
            layer_specs = [(0.1, 1.0), (scale, 2.0), (scale, 0.5)]
        else:
            layer_specs = [(scale, ratio) for ratio in aspect_ratios]
            if interpolated_scale_aspect_ratio > 0.0:
                layer_specs.append((float(np.sqrt(scale * scale_next)), interpolated_scale_aspect_ratio))
        specs.append(layer_specs)
    return specs


def ssd_anchors(
    feature_map_shapes: list[tuple[int, int]],
    num_layers: int,
    min_scale: float,
    max_scale: float,
    aspect_ratios: list[float],
    reduce_boxes_in_lowest_layer: bool = True,
    interpolated_scale_aspect_ratio: float = 1.0,
) -> np.ndarray:
    """Anchors of SSD-MobileNet-v2 (`ssd_anchor_generator` on a square image)."""
    return grid_anchors(
        feature_map_shapes,
        ssd_box_specs(
            num_layers,
            min_scale,
            max_scale,
            aspect_ratios,
            reduce_boxes_in_lowest_layer,
            interpolated_scale_aspect_ratio,
        ),
    )


def grid_anchors(feature_map_shapes: list[tuple[int, int]], box_specs: list[list[tuple[float, float]]]) -> np.ndarray:
    """One (scale, aspect ratio) list per feature map, tiled over its grid with centred offsets."""
    grids = []
    for (height, width), layer_specs in zip(feature_map_shapes, box_specs):
        scales = np.array([s for s, _ in layer_specs])
        ratio_sqrts = np.sqrt(np.array([r for _, r in layer_specs]))
        stride = (1.0 / height, 1.0 / width)
        grids.append(
            tile_anchors(
                height, width, scales / ratio_sqrts, scales * ratio_sqrts, stride, (0.5 * stride[0], 0.5 * stride[1])
            )
        )
    return np.concatenate(grids).astype(np.float32)


def multiscale_anchors(
    feature_map_shapes: list[tuple[int, int]],
    image_height: int,
    image_width: int,
    min_level: int,
    max_level: int,
    anchor_scale: float,
    aspect_ratios: list[float],
    scales_per_octave: int,
) -> np.ndarray:
    """Anchors of SSD-MobileNet-v2-FPNLite (`multiscale_anchor_generator`).

    The OD API offsets a level's centres by half a stride only when the image size is a multiple
    of that stride; at 320 px level 7 (stride 128) therefore starts at 0 — reproduced here.
    """
    octave_scales = np.array([2.0 ** (i / scales_per_octave) for i in range(scales_per_octave)])
    ratios = np.asarray(aspect_ratios, dtype=np.float64)
    # order per location: for each aspect ratio, for each scale
    scales = np.tile(octave_scales, len(ratios))
    ratio_sqrts = np.repeat(np.sqrt(ratios), len(octave_scales))
    grids = []
    for level, (height, width) in zip(range(min_level, max_level + 1), feature_map_shapes):
        stride = 2.0**level
        base = stride * anchor_scale
        offset = (
            stride / 2.0 if image_height % stride == 0 else 0.0,
            stride / 2.0 if image_width % stride == 0 else 0.0,
        )
        pixels = tile_anchors(
            height, width, scales / ratio_sqrts * base, scales * ratio_sqrts * base, (stride, stride), offset
        )
        grids.append(pixels / np.array([image_height, image_width, image_height, image_width]))
    return np.concatenate(grids).astype(np.float32)


# The strides of the grids each model's heads predict on: SSD reads the backbone at strides 16 and
# 32 and adds four stride-2 layers (model/feature_maps.py); FPN-lite has one level per power of two.
SSD_STRIDES = (16, 32, 64, 128, 256, 512)


def feature_map_shapes(config: dict) -> list[tuple[int, int]]:
    """The heads' grids at the config's input size, from the config alone: every stride-2 layer pads
    'same' and so rounds up (build_detector checks these against the built model's)."""
    ssd = config["model"]["ssd"]
    resizer = ssd["image_resizer"]["fixed_shape_resizer"]
    generator = ssd["anchor_generator"]
    if "ssd_anchor_generator" in generator:
        strides = SSD_STRIDES[: generator["ssd_anchor_generator"]["num_layers"]]
    else:
        spec = generator["multiscale_anchor_generator"]
        strides = tuple(2**level for level in range(spec["min_level"], spec["max_level"] + 1))
    return [(-(-resizer["height"] // stride), -(-resizer["width"] // stride)) for stride in strides]


def box_specs_per_location(config: dict) -> list[int]:
    """How many anchors each grid cell of each feature map holds (the heads' outputs per cell)."""
    generator = config["model"]["ssd"]["anchor_generator"]
    if "ssd_anchor_generator" in generator:
        spec = generator["ssd_anchor_generator"]
        return [len(layer) for layer in _ssd_specs(spec)]
    spec = generator["multiscale_anchor_generator"]
    return [len(spec["aspect_ratios"]) * spec["scales_per_octave"]] * (spec["max_level"] - spec["min_level"] + 1)


def _ssd_specs(spec: dict) -> list[list[tuple[float, float]]]:
    return ssd_box_specs(
        spec["num_layers"],
        spec["min_scale"],
        spec["max_scale"],
        spec["aspect_ratios"],
        spec.get("reduce_boxes_in_lowest_layer", True),
        spec.get("interpolated_scale_aspect_ratio", 1.0),
    )


def config_anchors(config: dict) -> np.ndarray:
    """The anchors of the model and input size `config` describes, without building the model."""
    ssd = config["model"]["ssd"]
    shapes = feature_map_shapes(config)
    generator = ssd["anchor_generator"]
    if "ssd_anchor_generator" in generator:
        return grid_anchors(shapes, _ssd_specs(generator["ssd_anchor_generator"]))
    spec = generator["multiscale_anchor_generator"]
    resizer = ssd["image_resizer"]["fixed_shape_resizer"]
    return multiscale_anchors(
        shapes,
        resizer["height"],
        resizer["width"],
        spec["min_level"],
        spec["max_level"],
        spec["anchor_scale"],
        spec["aspect_ratios"],
        spec["scales_per_octave"],
    )
