"""The input size chosen from the training boxes: anchors laid from the config alone, the share of
boxes they match, the choice and who overrides it."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from burgerfries.cli.train import add_arguments
from burgerfries.cli.train import input_size as parse_input_size
from burgerfries.data.folder import DataFolder
from burgerfries.data.tfrecord import read_boxes
from burgerfries.jobs.train_plan import TrainSettings, resolve_train
from burgerfries.keys import Tag
from burgerfries.model import MODEL_NAMES
from burgerfries.model.anchors import config_anchors
from burgerfries.model.config import PROFILES, build_config
from burgerfries.model.input_size import (
    AUTO,
    COVERAGE_TARGET,
    anchor_coverage,
    automatic_input_size,
    choose_input_size,
)
from burgerfries.model.ssd import build_detector

FPNLITE, SSD = "ssd_mobilenet_v2_fpnlite_320x320", "ssd_mobilenet_v2_320x320"
CANDIDATES = PROFILES["smoke"]["input_sizes"]


def smoke_config(model: str, size: int) -> dict:
    return build_config(model, "smoke", 2, {"input_size": size, "num_steps": 1})


def centred(side: float, count: int = 1) -> np.ndarray:
    """`count` square boxes of `side` (a share of the image) at the image's centre."""
    low, high = 0.5 - side / 2, 0.5 + side / 2
    return np.tile([[low, low, high, high]], (count, 1))


@pytest.mark.parametrize("model", MODEL_NAMES)
@pytest.mark.parametrize("size", [96, 160, 224])
def test_anchors_from_the_config_are_the_built_models(model, size):
    config = build_config(model, "tiny", 2, {"input_size": size})
    np.testing.assert_array_equal(config_anchors(config), build_detector(config).anchors.numpy())


def test_a_box_is_matched_by_an_anchor_at_the_threshold_or_above():
    anchors = np.array([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]])
    same = np.array([[0.0, 0.0, 0.5, 0.5]])
    half = np.array([[0.0, 0.0, 0.5, 0.25]])  # IoU 0.5 with the first anchor
    small = np.array([[0.0, 0.0, 0.1, 0.1]])  # IoU 0.04
    assert anchor_coverage(same, anchors, 0.5) == 1.0
    assert anchor_coverage(half, anchors, 0.5) == 1.0
    assert anchor_coverage(half, anchors, 0.51) == 0.0
    assert anchor_coverage(np.concatenate([same, small, small, half]), anchors, 0.5) == 0.5
    assert np.isnan(anchor_coverage(np.zeros((0, 4)), anchors, 0.5))


def test_the_smallest_size_whose_anchors_match_the_boxes_is_chosen():
    large = choose_input_size(lambda size: smoke_config(FPNLITE, size), centred(0.3, 3), CANDIDATES)
    assert large.size == min(CANDIDATES) and large.coverage[large.size] >= COVERAGE_TARGET
    assert "input 160 px: 100.0% of the 3 training boxes" in large.why

    # 16 px at 160 px: half of FPN-lite's smallest anchor there (32 px); at 320 px 32 px, an anchor's size
    small = choose_input_size(lambda size: smoke_config(FPNLITE, size), centred(0.1, 2), CANDIDATES)
    assert small.coverage[160] < COVERAGE_TARGET <= small.coverage[small.size]
    assert small.size > 160 and all(small.coverage[size] < COVERAGE_TARGET for size in CANDIDATES if size < small.size)
    assert f"at 160 px {small.coverage[160]:.1%}" in small.why


def test_where_no_size_reaches_the_target_the_best_one_is_chosen_the_smaller_on_a_tie():
    tiny_boxes = centred(0.01, 4)  # 3 px at 320 px: no anchor anywhere
    chosen = choose_input_size(lambda size: smoke_config(FPNLITE, size), tiny_boxes, CANDIDATES)
    assert set(chosen.coverage.values()) == {0.0}
    assert chosen.size == min(CANDIDATES)
    assert "below the target" in chosen.why

    mixed = np.concatenate([centred(0.3, 1), centred(0.01, 3)])  # 1 of 4 matched at every size
    chosen = choose_input_size(lambda size: smoke_config(FPNLITE, size), mixed, list(reversed(CANDIDATES)))
    assert set(chosen.coverage.values()) == {0.25} and chosen.size == min(CANDIDATES)


def test_no_boxes_keep_the_smallest_candidate():
    chosen = choose_input_size(lambda size: smoke_config(FPNLITE, size), np.zeros((0, 4)), CANDIDATES)
    assert chosen.size == min(CANDIDATES) and "no boxes" in chosen.why


def test_only_a_profile_with_candidates_and_no_resizer_override_chooses(synthetic_data):
    folder = DataFolder.open(synthetic_data)
    arguments = (2, folder.train_record, folder.num_train_images)
    assert automatic_input_size(FPNLITE, "smoke", *arguments) is not None
    assert automatic_input_size(FPNLITE, "tiny", *arguments) is None
    assert automatic_input_size(FPNLITE, "full", *arguments) is None
    ratios = {"model.ssd.anchor_generator.multiscale_anchor_generator.aspect_ratios": [1.0, 2.0, 0.5]}
    assert automatic_input_size(FPNLITE, "smoke", *arguments, overrides=ratios) is not None  # a list value
    height = "model.ssd.image_resizer.fixed_shape_resizer.height"
    assert automatic_input_size(FPNLITE, "smoke", *arguments, overrides={height: 192}) is None


def test_train_chooses_the_size_logs_why_and_yields_to_an_explicit_one(synthetic_data):
    boxes = read_boxes(DataFolder.open(synthetic_data).train_record)
    expected = choose_input_size(lambda size: smoke_config(SSD, size), boxes, CANDIDATES)
    assert expected.size != PROFILES["smoke"]["image_size"]  # (SSD's anchors at 160 px miss these boxes)
    chosen = resolve_train(TrainSettings(data=synthetic_data, model=SSD, input_size=AUTO))
    assert chosen.input_size_choice == expected
    assert chosen.config["model"]["ssd"]["image_resizer"]["fixed_shape_resizer"] == {
        "height": expected.size,
        "width": expected.size,
    }
    assert chosen.tags[Tag.INPUT_SIZE] == expected.why

    given = resolve_train(TrainSettings(data=synthetic_data, model=SSD, input_size=192))
    assert resolve_train(TrainSettings(data=synthetic_data, model=SSD)).input_size_choice is None  # (pretraining's)
    assert given.input_size_choice is None and Tag.INPUT_SIZE not in given.tags
    assert given.config["model"]["ssd"]["image_resizer"]["fixed_shape_resizer"]["height"] == 192
    profile = resolve_train(TrainSettings(data=synthetic_data, model=SSD, profile="tiny", input_size=AUTO))
    assert profile.config["model"]["ssd"]["image_resizer"]["fixed_shape_resizer"]["height"] == 96
    override = {"model.ssd.image_resizer.fixed_shape_resizer.height": 192}
    overridden = resolve_train(TrainSettings(data=synthetic_data, model=SSD, input_size=AUTO, overrides=override))
    assert overridden.input_size_choice is None


def test_the_flag_takes_auto_or_pixels_and_asks_for_auto_by_default():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).input_size == AUTO
    assert parser.parse_args(["--input-size", "256"]).input_size == 256
    assert parse_input_size("auto") == parse_input_size(" AUTO ") == AUTO
    assert parse_input_size("224") == 224
    with pytest.raises(Exception, match="not a number"):
        parse_input_size("large")
