"""Anchors, box coder, matcher, losses, schedule and config — against values computed by hand."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from burgerfries.model import box_coder
from burgerfries.model.anchors import multiscale_anchors, ssd_anchors
from burgerfries.model.config import ConfigConflictError, build_config, flatten, get, knob_values, load_config
from burgerfries.model.losses import sigmoid_focal_loss, smooth_l1_loss, ssd_losses
from burgerfries.model.matcher import assign_targets, match
from burgerfries.model.ssd import build_detector
from burgerfries.training.schedule import CosineDecayWithWarmup

SSD_SHAPES = [(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
FPN_SHAPES = [(40, 40), (20, 20), (10, 10), (5, 5), (3, 3)]


def test_ssd_anchor_count_and_coordinates():
    anchors = ssd_anchors(SSD_SHAPES, 6, 0.2, 0.95, [1.0, 2.0, 0.5, 3.0, 0.3333])
    assert anchors.shape == (1917, 4)
    c = 0.5 / 19  # first cell centre
    np.testing.assert_allclose(anchors[0], [c - 0.05, c - 0.05, c + 0.05, c + 0.05], atol=1e-6)  # (0.1, 1:1)
    h, w = 0.2 / math.sqrt(2), 0.2 * math.sqrt(2)  # (0.2, 2:1)
    np.testing.assert_allclose(anchors[1], [c - h / 2, c - w / 2, c + h / 2, c + w / 2], atol=1e-6)
    # the last anchor: 1x1 map, scale 0.95 → interpolated sqrt(0.95 * 1.0), centred at 0.5
    s = math.sqrt(0.95)
    np.testing.assert_allclose(anchors[-1], [0.5 - s / 2, 0.5 - s / 2, 0.5 + s / 2, 0.5 + s / 2], atol=1e-6)


def test_fpn_anchor_count_and_coordinates():
    anchors = multiscale_anchors(FPN_SHAPES, 320, 320, 3, 7, 4.0, [1.0, 2.0, 0.5], 2)
    assert anchors.shape == (12804, 4)
    # level 3: stride 8, base 32 px, first centre (4, 4) px
    np.testing.assert_allclose(anchors[0], np.array([4 - 16, 4 - 16, 4 + 16, 4 + 16]) / 320, atol=1e-6)
    # level 7 at 320 px: 320 is no multiple of 128, so the OD API puts centres at 0, 128, 256
    level7 = anchors[-9 * 6 :]
    np.testing.assert_allclose(level7[0], np.array([-256, -256, 256, 256]) / 320, atol=1e-6)


def test_built_models_have_the_zoo_anchors(shared_dir):
    for model, count in (("ssd_mobilenet_v2_320x320", 1917), ("ssd_mobilenet_v2_fpnlite_320x320", 12804)):
        detector = build_detector(build_config(model, "full"))
        assert detector.anchors.shape == (count, 4)
        odapi = np.load(shared_dir / "fixtures" / "odapi_checkpoints" / model / "intermediates.npz")["anchors"]
        np.testing.assert_allclose(detector.anchors.numpy(), odapi, atol=1e-6)  # same values, same order
        boxes, logits = detector.model(tf.zeros([1, *detector.image_size, 3]))
        assert boxes.shape == (1, count, 4) and logits.shape == (1, count, 3)


def test_box_coder_round_trip_and_known_code():
    anchors = tf.constant([[0.1, 0.1, 0.3, 0.5], [0.0, 0.0, 1.0, 1.0]])
    boxes = tf.constant([[0.15, 0.2, 0.35, 0.4], [0.25, 0.25, 0.75, 0.75]])
    codes = box_coder.encode(boxes, anchors)
    np.testing.assert_allclose(box_coder.decode(codes, anchors).numpy(), boxes.numpy(), atol=1e-6)
    # anchor 0: centre (0.2, 0.3), size (0.2, 0.4); box: centre (0.25, 0.3), size (0.2, 0.2)
    np.testing.assert_allclose(codes[0].numpy(), [10 * 0.05 / 0.2, 0.0, 0.0, 5 * math.log(0.5)], atol=1e-5)


def test_matcher_forced_match_ignore_and_negatives():
    similarity = tf.constant([[[0.7, 0.3, 0.1, 0.45], [0.6, 0.2, 0.2, 0.0]]])  # 2 boxes × 4 anchors
    valid = tf.constant([[True, True]])
    matches = match(similarity, valid).numpy()[0]
    # Both boxes' best anchor is anchor 0; when two rows force the same anchor the OD API gives it
    # to the first of them, so box 1 ends up without an anchor of its own.
    assert matches.tolist() == [0, -1, -1, -1]
    # ignore zone when matched > unmatched threshold
    matches = match(
        similarity, valid, matched_threshold=0.5, unmatched_threshold=0.4, force_match_for_each_row=False
    ).numpy()[0]
    assert matches.tolist() == [0, -1, -1, -2]
    # a box below threshold everywhere is still matched to its best anchor
    forced = match(tf.constant([[[0.1, 0.3, 0.2]]]), tf.constant([[True]])).numpy()[0]
    assert forced.tolist() == [-1, 0, -1]
    # padded boxes never match
    padded = match(tf.constant([[[0.9, 0.1]]]), tf.constant([[False]])).numpy()[0]
    assert padded.tolist() == [-1, -1]


def test_targets_encode_background_as_zeros():
    anchors = tf.constant([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]])
    targets = assign_targets(
        anchors,
        tf.constant([[[0.0, 0.0, 0.5, 0.5]]]),
        tf.constant([[2]]),
        tf.constant([[True]]),
        num_classes=2,
        matcher_config={},
        box_coder_scales=(10.0, 10.0, 5.0, 5.0),
    )
    assert targets["cls_targets"].numpy()[0].tolist() == [[0, 0, 1], [0, 0, 0]]
    assert targets["reg_weights"].numpy()[0].tolist() == [1, 0]
    np.testing.assert_allclose(targets["reg_targets"].numpy()[0, 0], 0.0, atol=1e-5)


def test_focal_and_smooth_l1_by_hand():
    logit, alpha, gamma = 0.5, 0.25, 2.0
    p = 1 / (1 + math.exp(-logit))
    positive = -math.log(p) * (1 - p) ** gamma * alpha
    negative = -math.log(1 - p) * p**gamma * (1 - alpha)
    values = sigmoid_focal_loss(tf.constant([logit, logit]), tf.constant([1.0, 0.0]), alpha, gamma).numpy()
    np.testing.assert_allclose(values, [positive, negative], rtol=1e-5)
    # |0.5| → 0.5·0.25; |2| → 2 − 0.5; summed over the code
    np.testing.assert_allclose(
        smooth_l1_loss(tf.constant([[0.5, 2.0, 0.0, 0.0]]), tf.zeros([1, 4])).numpy(), [0.125 + 1.5]
    )


def test_loss_weights_scale_their_terms():
    targets = {
        "cls_targets": tf.constant([[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]),
        "cls_weights": tf.ones([1, 2]),
        "reg_targets": tf.constant([[[0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]),
        "reg_weights": tf.constant([[1.0, 0.0]]),
    }
    predictions = (tf.zeros([1, 2, 4]), tf.zeros([1, 2, 3]))
    config = {
        "classification_loss": {"weighted_sigmoid_focal": {"alpha": 0.25, "gamma": 2.0}},
        "localization_loss": {"weighted_smooth_l1": {"delta": 1.0}},
        "classification_weight": 1.0,
        "localization_weight": 1.0,
    }
    base = ssd_losses(*predictions, targets, config)
    scaled = ssd_losses(*predictions, targets, {**config, "classification_weight": 0.5, "localization_weight": 2.0})
    assert float(scaled["loss_classification"]) == pytest.approx(0.5 * float(base["loss_classification"]))
    assert float(scaled["loss_localization"]) == pytest.approx(2.0 * float(base["loss_localization"]))
    # one match, code size 4: localization = 0.5·0.5² / 4
    assert float(base["loss_localization"]) == pytest.approx(0.125 / 4)
    for term in ("classification", "localization"):  # the weight-1 terms do not move with the weights
        assert float(scaled[f"loss_{term}_unweighted"]) == pytest.approx(float(base[f"loss_{term}"]))


def test_cosine_schedule_with_warmup():
    schedule = CosineDecayWithWarmup(0.04, total_steps=1000, warmup_learning_rate=0.013333, warmup_steps=100)
    assert float(schedule(0)) == pytest.approx(0.013333)
    assert float(schedule(50)) == pytest.approx(0.013333 + 0.5 * (0.04 - 0.013333), rel=1e-5)
    assert float(schedule(100)) == pytest.approx(0.04)
    assert float(schedule(550)) == pytest.approx(0.02, rel=1e-5)
    assert float(schedule(1000)) == pytest.approx(0.0, abs=1e-9)
    assert float(schedule(1001)) == 0.0


def test_config_profiles_and_overrides():
    config = build_config(
        "ssd_mobilenet_v2_320x320",
        "smoke",
        knobs={"batch_size": 5, "learning_rate": 0.026, "classification_weight": 0.5},
        overrides={"model.ssd.loss.classification_loss.weighted_sigmoid_focal.gamma": "1.5"},
        num_train_images=63,
    )
    flat = flatten(config)
    assert flat["model.ssd.image_resizer.fixed_shape_resizer.height"] == 160
    assert flat["model.ssd.feature_extractor.depth_multiplier"] == 0.35
    assert flat["train_config.batch_size"] == 5
    assert flat["model.ssd.loss.classification_weight"] == 0.5
    assert flat["model.ssd.loss.classification_loss.weighted_sigmoid_focal.gamma"] == 1.5
    cosine = "train_config.optimizer.momentum_optimizer.learning_rate.cosine_decay_learning_rate."
    assert flat[cosine + "learning_rate_base"] == 0.026
    # smoke's 142.8 passes for SSD over 63 images at batch 5: 1800 steps; the warm-up 2000/10000 of the run
    assert flat["train_config.num_steps"] == 1800 and flat["train_config.num_epochs"] == 142.8
    assert flat[cosine + "total_steps"] == 1800 and flat[cosine + "warmup_steps"] == 360
    with pytest.raises(KeyError, match="gama"):
        build_config(
            "ssd_mobilenet_v2_320x320", overrides={"model.ssd.loss.classification_loss.weighted_sigmoid_focal.gama": 1}
        )
    with pytest.raises(ValueError, match="unknown model"):
        build_config("yolo")


def test_a_length_in_epochs_follows_the_training_split_and_steps_win():
    def length(**kwargs):
        train = build_config("ssd_mobilenet_v2_fpnlite_320x320", **kwargs)["train_config"]
        return train["num_steps"], train.get("num_epochs")

    assert length(profile="smoke", num_train_images=63) == (600, 95.2)  # ⌈95.2 × 63 / 10⌉ at the YAML's batch 10
    assert length(profile="smoke", num_train_images=240) == (2285, 95.2)  # ⌈95.2 × 240 / 10⌉
    ssd = build_config("ssd_mobilenet_v2_320x320", "smoke", num_train_images=63)["train_config"]
    assert (ssd["num_steps"], ssd["num_epochs"]) == (900, 142.8)  # SSD's own default: ⌈142.8 × 63 / 10⌉
    assert length(profile="smoke", epochs=47.6, num_train_images=63) == (300, 47.6)  # the original study's 300
    assert length(profile="full", epochs=10, num_train_images=100, knobs={"batch_size": 8}) == (125, 10.0)
    assert length(profile="smoke", num_train_images=63, knobs={"num_steps": 40}) == (40, None)
    assert length(profile="tiny") == (60, None)  # a profile with a length in steps
    with pytest.raises(ValueError, match="training split's size"):
        build_config("ssd_mobilenet_v2_320x320", "smoke")


def test_unset_knobs_keep_the_yaml_and_a_knob_set_twice_is_refused():
    yaml_config = load_config("ssd_mobilenet_v2_320x320")
    config = build_config("ssd_mobilenet_v2_320x320", "full", knobs={"batch_size": None, "learning_rate": None})
    assert knob_values(config) == knob_values(yaml_config)
    field = "model.ssd.loss.classification_weight"
    assert get(build_config("ssd_mobilenet_v2_320x320", overrides={field: "0.5"}), field) == 0.5
    with pytest.raises(ConfigConflictError, match=f"--classification-weight 2.0 and as --set {field}=0.5"):
        build_config("ssd_mobilenet_v2_320x320", knobs={"classification_weight": 2.0}, overrides={field: "0.5"})


def test_fused_batch_norm_matches_keras():
    from burgerfries.model.layers import FusedBatchNorm

    x = tf.random.stateless_normal([4, 5, 5, 3], seed=[1, 2]) * 3.0 + 1.0
    fused, plain = FusedBatchNorm(momentum=0.9), keras_bn(momentum=0.9)
    for layer in (fused, plain):
        layer.build(x.shape)
        layer.gamma.assign([1.5, 0.5, 2.0])
        layer.beta.assign([0.1, -0.2, 0.3])
    np.testing.assert_allclose(fused(x, training=True).numpy(), plain(x, training=True).numpy(), atol=1e-4)
    n = 4 * 5 * 5  # Keras 2 / OD API update the moving variance with the unbiased batch variance
    expected_variance = 0.9 + 0.1 * tf.math.reduce_variance(x, axis=[0, 1, 2]).numpy() * n / (n - 1)
    np.testing.assert_allclose(fused.moving_variance.numpy(), expected_variance, rtol=1e-4)
    np.testing.assert_allclose(fused.moving_mean.numpy(), plain.moving_mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(fused(x, training=False).numpy(), keras_inference(fused, x), atol=1e-4)


def keras_bn(momentum):
    import keras

    return keras.layers.BatchNormalization(momentum=momentum)


def keras_inference(layer, x):
    return ((x - layer.moving_mean) / tf.sqrt(layer.moving_variance + layer.epsilon) * layer.gamma + layer.beta).numpy()


PREDICTOR = "model.ssd.box_predictor.weight_shared_convolutional_box_predictor"


def test_fpnlite_separable_convs_get_hyperparams_where_the_odapi_gives_them():
    detector = build_detector(build_config("ssd_mobilenet_v2_fpnlite_320x320", "tiny"))
    separable = {
        layer.name: layer for layer in detector.model.layers if isinstance(layer, keras.layers.SeparableConv2D)
    }
    assert {"BoxPredictor", "ClassPredictor", "PredictionTower_0", "smoothing_1"} <= set(separable)
    for name, layer in separable.items():
        in_heads = name in ("BoxPredictor", "ClassPredictor")
        assert (layer.depthwise_regularizer is None) == in_heads, name
        assert layer.pointwise_regularizer is None, name
        assert isinstance(layer.pointwise_initializer, keras.initializers.GlorotUniform), name
    assert isinstance(separable["ClassPredictor"].depthwise_initializer, keras.initializers.GlorotUniform)
    assert isinstance(separable["PredictionTower_0"].depthwise_initializer, keras.initializers.RandomNormal)
    both = build_config(
        "ssd_mobilenet_v2_fpnlite_320x320",
        "tiny",
        overrides={
            f"{PREDICTOR}.apply_conv_hyperparams_to_heads": "true",
            f"{PREDICTOR}.apply_conv_hyperparams_pointwise": "true",
        },
    )
    layers = {layer.name: layer for layer in build_detector(both).model.layers}
    assert layers["ClassPredictor"].pointwise_regularizer is not None
    assert layers["PredictionTower_0"].pointwise_regularizer is not None


def test_the_input_size_knob_sets_a_square_input_and_refuses_a_second_setting():
    from burgerfries.model.config import ConfigConflictError, build_config, knob_values

    config = build_config("ssd_mobilenet_v2_fpnlite_320x320", "smoke", knobs={"input_size": 224, "num_steps": 10})
    resizer = config["model"]["ssd"]["image_resizer"]["fixed_shape_resizer"]
    assert (resizer["height"], resizer["width"]) == (224, 224) and knob_values(config)["input_size"] == 224
    assert build_config("ssd_mobilenet_v2_320x320", "smoke", knobs={"num_steps": 10})["model"]["ssd"]["image_resizer"][
        "fixed_shape_resizer"
    ] == {"height": 160, "width": 160}  # the profile's, when the knob is not set
    width = "model.ssd.image_resizer.fixed_shape_resizer.width"
    with pytest.raises(ConfigConflictError, match="input_size is given twice"):
        build_config("ssd_mobilenet_v2_320x320", "smoke", knobs={"input_size": 224}, overrides={width: 256})
