"""Our layers are the OD API's: its checkpoints load by name and reproduce its outputs."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from burgerfries.model.config import build_config
from burgerfries.model.odapi_weights import CheckpointMismatchError, load_odapi_checkpoint
from burgerfries.model.ssd import build_detector

MODELS = {"ssd_mobilenet_v2_320x320": "ssd_mobilenet_v2_keras",
          "ssd_mobilenet_v2_fpnlite_320x320": "ssd_mobilenet_v2_fpn_keras"}
TOLERANCE = 1e-3  # the bound; the OD API's own two paths differ by up to 2e-4


@pytest.fixture(scope="module", params=list(MODELS))
def loaded(request, shared_dir):
    model = request.param
    fixture = shared_dir / "fixtures" / "odapi_checkpoints" / model
    detector = build_detector(build_config(model, "full", num_classes=2))
    report = load_odapi_checkpoint(detector.model, MODELS[model], fixture, restore_heads=True)
    return model, fixture, detector, report


def outputs(detector, fixture, index):
    image = np.asarray(Image.open(fixture / "images" / f"{index}.jpg").convert("RGB"))
    box_encodings, logits = detector.model(detector.preprocess(tf.constant(image[None])), training=False)
    return detector.postprocess(box_encodings, logits)


def test_every_variable_restores(loaded):
    _, _, detector, report = loaded
    assert report.skipped == [] and len(report.restored) == len(detector.model.weights)


def test_raw_outputs_match_the_odapi(loaded):
    model, fixture, detector, _ = loaded
    expected = np.load(fixture / "expected_outputs.npz")
    worst = {"raw_detection_boxes": 0.0, "raw_detection_scores": 0.0}
    for index in range(5):
        ours = outputs(detector, fixture, index)
        for key in worst:
            worst[key] = max(worst[key], float(np.abs(ours[key].numpy() - expected[f"{index}/{key}"]).max()))
    print(f"{model}: max |ours − OD API| {worst}")
    assert worst["raw_detection_boxes"] <= TOLERANCE and worst["raw_detection_scores"] <= TOLERANCE


def test_top_detections_match_the_odapi(loaded):
    _, fixture, detector, _ = loaded
    expected = np.load(fixture / "expected_outputs.npz")
    for index in range(5):
        ours = outputs(detector, fixture, index)
        count = 10
        np.testing.assert_allclose(ours["detection_scores"][0, :count], expected[f"{index}/detection_scores"][0, :count], atol=TOLERANCE)
        np.testing.assert_allclose(ours["detection_boxes"][0, :count], expected[f"{index}/detection_boxes"][0, :count], atol=TOLERANCE)
        np.testing.assert_array_equal(ours["detection_classes"][0, :count], expected[f"{index}/detection_classes"][0, :count])


def test_detection_fine_tuning_skips_class_heads_and_refuses_the_other_model(shared_dir):
    fixture = shared_dir / "fixtures" / "odapi_checkpoints" / "ssd_mobilenet_v2_320x320"
    detector = build_detector(build_config("ssd_mobilenet_v2_320x320", "full", num_classes=5))  # 5 classes: heads differ
    report = load_odapi_checkpoint(detector.model, "ssd_mobilenet_v2_keras", fixture)
    skipped = {name.split("/")[0] for name, _ in report.skipped}
    assert skipped == {f"class_predictions_{i}" for i in range(6)}
    assert report.restored
    fpn = build_detector(build_config("ssd_mobilenet_v2_fpnlite_320x320", "tiny", num_classes=2))
    with pytest.raises(CheckpointMismatchError, match="ssd_mobilenet_v2_320x320 checkpoint.*ssd_mobilenet_v2_fpnlite_320x320"):
        load_odapi_checkpoint(fpn.model, "ssd_mobilenet_v2_fpn_keras", fixture)


def test_train_fine_tunes_from_an_odapi_checkpoint(shared_dir, tracking_uri, tmp_path):
    import mlflow

    from burgerfries.data.prepare import prepare_dataset
    from burgerfries.training.train import TrainSettings, train

    data = tmp_path / "data"
    prepare_dataset("synthetic", data, num_images=6, progress=False)
    fixture = shared_dir / "fixtures" / "odapi_checkpoints" / "ssd_mobilenet_v2_320x320"
    result = train(TrainSettings(data=data, profile="full", num_steps=1, batch_size=2, weights=fixture,
                                 checkpoint_root=tmp_path / "ck"), progress=False)
    run = mlflow.MlflowClient().get_run(result.run_id)
    assert run.data.metrics["init/restored_variables"] == 324 - 12  # everything but the 6 class heads' kernel+bias
    assert run.data.metrics["init/skipped_variables"] == 12
    assert run.data.tags["initial_weights"].startswith("OD API checkpoint")
