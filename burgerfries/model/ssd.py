"""The SSD detector: a functional Keras model (preprocessed image → box encodings and class
logits per anchor) plus the anchors, preprocessing and post-processing around it."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from burgerfries.keys import LOSS_WEIGHT_KNOBS
from burgerfries.model import box_coder
from burgerfries.model.anchors import box_specs_per_location, config_anchors, feature_map_shapes
from burgerfries.model.box_predictor import convolutional_heads, weight_shared_heads
from burgerfries.model.feature_maps import fpn_feature_maps, ssd_feature_maps
from burgerfries.model.mobilenet_v2 import build_mobilenet_v2
from burgerfries.model.preprocessing import resize_and_scale

# The loss weights (`model.ssd.loss.*`) a traced step reads from variables: trials that differ
# only in them share one trace (training/setups.py).
LOSS_WEIGHTS = LOSS_WEIGHT_KNOBS


@dataclass(eq=False)
class Detector:
    model: keras.Model
    anchors: tf.Tensor  # [A, 4] normalised
    config: dict
    loss_weights: dict[str, tf.Variable] = field(init=False)  # LOSS_WEIGHTS, from config

    def __post_init__(self) -> None:
        self.loss_weights = {name: tf.Variable(0.0, trainable=False, name=name) for name in LOSS_WEIGHTS}
        self.use_config(self.config)

    def use_config(self, config: dict) -> None:
        """Take another run's config: its loss weights go into the variables a traced step reads.
        Only the caller knows that nothing else differs (training/setups.py checks it)."""
        self.config = config
        for name, variable in self.loss_weights.items():
            variable.assign(float(self.ssd["loss"][name]))

    @property
    def ssd(self) -> dict:
        return self.config["model"]["ssd"]

    @property
    def image_size(self) -> tuple[int, int]:
        resizer = self.ssd["image_resizer"]["fixed_shape_resizer"]
        return resizer["height"], resizer["width"]

    @property
    def num_classes(self) -> int:
        return self.ssd["num_classes"]

    @property
    def box_coder_scales(self) -> tuple[float, float, float, float]:
        coder = self.ssd["box_coder"]["faster_rcnn_box_coder"]
        return coder["y_scale"], coder["x_scale"], coder["height_scale"], coder["width_scale"]

    def preprocess(self, images: tf.Tensor) -> tf.Tensor:
        """uint8/float images [B, H, W, 3] → bilinear resize to the fixed shape, pixels to [−1, 1]."""
        return resize_and_scale(images, self.image_size)

    def decode_boxes(self, box_encodings: tf.Tensor) -> tf.Tensor:
        return box_coder.decode(box_encodings, self.anchors[None], self.box_coder_scales)

    def postprocess(self, box_encodings: tf.Tensor, class_logits: tf.Tensor) -> dict[str, tf.Tensor]:
        """Decode, sigmoid, drop the background column, per-class NMS (`tf.image`), clip to the image.

        Returns the OD API's output keys; classes are 1-based label-map ids as floats.
        """
        nms = self.ssd["post_processing"]["batch_non_max_suppression"]
        boxes = self.decode_boxes(box_encodings)
        scores = tf.sigmoid(class_logits)
        result = tf.image.combined_non_max_suppression(
            boxes[:, :, None, :],
            scores[:, :, 1:],
            max_output_size_per_class=nms["max_detections_per_class"],
            max_total_size=nms["max_total_detections"],
            iou_threshold=nms["iou_threshold"],
            score_threshold=nms["score_threshold"],
            clip_boxes=True,
        )
        return {
            "detection_boxes": result.nmsed_boxes,
            "detection_scores": result.nmsed_scores,
            "detection_classes": result.nmsed_classes + 1.0,
            "num_detections": tf.cast(result.valid_detections, tf.float32),
            "raw_detection_boxes": boxes,
            "raw_detection_scores": scores,
        }

    def detect(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        box_encodings, class_logits = self.model(self.preprocess(images), training=False)
        return self.postprocess(box_encodings, class_logits)


def build_detector(config: dict) -> Detector:
    ssd = config["model"]["ssd"]
    height, width = (
        ssd["image_resizer"]["fixed_shape_resizer"]["height"],
        ssd["image_resizer"]["fixed_shape_resizer"]["width"],
    )
    extractor = ssd["feature_extractor"]
    hyperparams = extractor["conv_hyperparams"]
    multiplier, min_depth = extractor["depth_multiplier"], extractor["min_depth"]
    num_classes = ssd["num_classes"]
    inputs = keras.Input((height, width, 3), name="preprocessed_inputs")
    backbone = build_mobilenet_v2(inputs, hyperparams, multiplier, min_depth)

    if extractor["type"] == "ssd_mobilenet_v2_keras":
        features = ssd_feature_maps(backbone, hyperparams, multiplier, min_depth)
        boxes, logits = convolutional_heads(
            features,
            box_specs_per_location(config),
            num_classes,
            ssd["box_predictor"]["convolutional_box_predictor"],
        )
    elif extractor["type"] == "ssd_mobilenet_v2_fpn_keras":
        fpn = extractor["fpn"]
        features = fpn_feature_maps(
            backbone,
            hyperparams,
            multiplier,
            min_depth,
            fpn["min_level"],
            fpn["max_level"],
            fpn["additional_layer_depth"],
            extractor.get("use_depthwise", True),
        )
        boxes, logits = weight_shared_heads(
            features,
            box_specs_per_location(config)[0],
            num_classes,
            ssd["box_predictor"]["weight_shared_convolutional_box_predictor"],
        )
    else:
        raise ValueError(f"unknown feature_extractor.type {extractor['type']!r}")
    built = [(feature.shape[1], feature.shape[2]) for feature in features]
    if built != feature_map_shapes(config):
        raise AssertionError(
            f"the heads predict on grids {built}, the anchors are laid on {feature_map_shapes(config)}"
        )
    anchors = config_anchors(config)
    model = keras.Model(inputs, [boxes, logits], name=extractor["type"])
    if model.output_shape[0][1] != len(anchors):
        raise AssertionError(f"heads predict {model.output_shape[0][1]} anchors, generator made {len(anchors)}")
    return Detector(model, tf.constant(np.asarray(anchors, np.float32)), config)
