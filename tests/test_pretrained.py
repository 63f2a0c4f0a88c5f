"""The shipped pretrained weights: every file matches the sha256 its provenance records, they load
into a task model as `detection` says (feature extractor restored, box predictor at its
initialisers), and a profile without shipped weights refuses `pretrained` with the way to make them."""

import json
from pathlib import Path

import numpy as np
import pytest

from burgerfries.model import MODEL_NAMES
from burgerfries.model.config import build_config
from burgerfries.model.odapi_weights import load_odapi_checkpoint
from burgerfries.model.ssd import build_detector
from burgerfries.pretrained import (
    PROVENANCE,
    SHIPPED,
    SHIPPED_RESTORE,
    PretrainedWeightsError,
    Start,
    choose_start,
    file_sha256,
    resolve_weights,
    shipped_weights,
)


def test_both_models_ship_smoke_weights_matching_their_recorded_sha256():
    for model in MODEL_NAMES:
        folder = shipped_weights("smoke", model)
        provenance = json.loads((folder / PROVENANCE).read_text())
        assert provenance["model"] == model and provenance["profile"] == "smoke"
        assert not set(provenance["classes"]) & {"burger", "fries"}
        files = {path.name for path in folder.iterdir()} - {PROVENANCE}
        assert files == set(provenance["sha256"])
        assert all(file_sha256(folder / name) == digest for name, digest in provenance["sha256"].items())
    assert sum(path.stat().st_size for path in SHIPPED.rglob("*") if path.is_file()) <= 10 * 2**20


def test_a_changed_file_is_refused(tmp_path):
    import shutil

    shutil.copytree(SHIPPED / "smoke", tmp_path / "smoke")
    data = next((tmp_path / "smoke" / MODEL_NAMES[0]).glob("*.data-*"))
    data.write_bytes(data.read_bytes()[:-1] + b"\0")
    with pytest.raises(PretrainedWeightsError, match="sha256"):
        shipped_weights("smoke", MODEL_NAMES[0], root=tmp_path)


def test_a_profile_without_shipped_weights_says_how_to_make_them():
    how = "burgerfries pretrain --model ssd_mobilenet_v2_320x320 --profile full"
    with pytest.raises(PretrainedWeightsError, match=how):
        resolve_weights("pretrained", "full", "ssd_mobilenet_v2_320x320")
    assert resolve_weights("none", "full", MODEL_NAMES[0]) is None
    assert resolve_weights(None, "smoke", MODEL_NAMES[0]) is None


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_pretrained_restores_the_feature_extractor_and_leaves_the_box_predictor(model):
    detector = build_detector(build_config(model, "smoke", num_classes=2, num_train_images=63))
    before = {weight.path: weight.numpy().copy() for weight in detector.model.weights}
    kind = detector.ssd["feature_extractor"]["type"]
    report = load_odapi_checkpoint(detector.model, kind, resolve_weights("pretrained", "smoke", model))
    skipped = dict(report.skipped)
    predictor = ("class_predictions", "box_encodings", "BoxPredictor", "ClassPredictor", "PredictionTower")
    assert skipped and all(name.startswith(predictor) for name in skipped)
    assert len(report.restored) + len(skipped) == len(detector.model.weights)
    for weight in detector.model.weights:
        assert np.array_equal(weight.numpy(), before[weight.path]) == (weight.path in skipped), weight.path


def test_a_run_starts_from_the_shipped_weights_unless_asked_otherwise_and_says_why():
    fpnlite = "ssd_mobilenet_v2_fpnlite_320x320"
    shipped = choose_start(None, None, "smoke", fpnlite, "detection")
    assert shipped.weights == shipped_weights("smoke", fpnlite) and shipped.given == "pretrained"
    assert shipped.restore == SHIPPED_RESTORE[fpnlite] == "detection_and_box_predictor"
    assert shipped.why == (
        "weights pretrained (the profile's shipped weights), restore detection_and_box_predictor "
        "(as measured for this model)"
    )
    asked = choose_start("pretrained", "full", "smoke", fpnlite, "detection")
    assert (asked.restore, asked.why) == ("full", "weights pretrained (as asked), restore full (as asked)")
    folder = choose_start("some/checkpoint", None, "smoke", fpnlite, "detection")  # not the shipped ones:
    assert (folder.weights, folder.restore) == (Path("some/checkpoint"), "detection")  # the OD API's default
    assert choose_start("none", "full", "smoke", fpnlite, "detection") == Start(None, "", "", "from scratch (as asked)")
    unshipped = choose_start(None, None, "full", fpnlite, "detection")
    assert unshipped == Start(None, "", "", "from scratch (no weights ship for profile full)")
