"""Our layers are the OD API's: its checkpoints load by name and reproduce its outputs."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from burgerfries.model.config import build_config
from burgerfries.model.odapi_weights import CheckpointMismatchError, load_odapi_checkpoint
from burgerfries.model.ssd import build_detector

MODELS = {
    "ssd_mobilenet_v2_320x320": "ssd_mobilenet_v2_keras",
    "ssd_mobilenet_v2_fpnlite_320x320": "ssd_mobilenet_v2_fpn_keras",
}
TOLERANCE = 1e-3  # the bound; the OD API's own two paths differ by up to 2e-4


@pytest.fixture(scope="module", params=list(MODELS))
def loaded(request, shared_dir):
    model = request.param
    fixture = shared_dir / "fixtures" / "odapi_checkpoints" / model
    detector = build_detector(build_config(model, "full", num_classes=2))
    report = load_odapi_checkpoint(detector.model, MODELS[model], fixture, restore="full")
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


def matched(ours: dict, theirs: dict, count: int) -> list[str]:
    """Pair each of the OD API's top `count` detections with one of ours: same class, score and
    box within TOLERANCE. Near-tied scores may come out in either order on another CPU, so the
    pairing ignores order; a partner from beyond our top `count` is allowed only when its score
    ties the last one kept. Returns what could not be paired."""
    problems, used = [], set()
    last_kept = float(ours["scores"][count - 1])
    for index in range(count):
        score, box, label = theirs["scores"][index], theirs["boxes"][index], theirs["classes"][index]
        partner = next(
            (
                j
                for j in range(len(ours["scores"]))
                if j not in used
                and ours["classes"][j] == label
                and abs(ours["scores"][j] - score) <= TOLERANCE
                and np.abs(ours["boxes"][j] - box).max() <= TOLERANCE
            ),
            None,
        )
        if partner is None:
            problems.append(f"OD API detection {index} (class {label}, score {score:.4f}, box {box}) has no match")
        elif partner >= count and abs(ours["scores"][partner] - last_kept) > TOLERANCE:
            problems.append(f"OD API detection {index} matches our detection {partner}, outside our top {count}")
        else:
            used.add(partner)
    return problems


def test_top_detections_match_the_odapi(loaded):
    _, fixture, detector, _ = loaded
    expected = np.load(fixture / "expected_outputs.npz")
    for index in range(5):
        found = outputs(detector, fixture, index)
        ours = {key: found[f"detection_{key}"][0].numpy() for key in ("scores", "boxes", "classes")}
        theirs = {key: expected[f"{index}/detection_{key}"][0] for key in ("scores", "boxes", "classes")}
        assert matched(ours, theirs, count=10) == [], f"image {index}"


def test_matching_allows_near_tied_swaps_and_nothing_else():
    theirs = {
        "scores": np.array([0.9, 0.5, 0.5]),
        "classes": np.array([1.0, 1.0, 2.0]),
        "boxes": np.array([[0, 0, 0.5, 0.5], [0.1, 0.1, 0.2, 0.2], [0.6, 0.6, 0.9, 0.9]]),
    }
    swapped = {key: value[[0, 2, 1]] for key, value in theirs.items()}
    assert matched(swapped, theirs, count=3) == []
    moved = {key: value.copy() for key, value in theirs.items()}
    moved["boxes"][2] += 0.1
    assert len(matched(moved, theirs, count=3)) == 1


def test_detection_restores_the_feature_extractor_only_and_refuses_the_other_model(shared_dir):
    fixture = shared_dir / "fixtures" / "odapi_checkpoints" / "ssd_mobilenet_v2_320x320"
    detector = build_detector(build_config("ssd_mobilenet_v2_320x320", "full", num_classes=5))  # heads differ
    before = {weight.path: weight.numpy().copy() for weight in detector.model.weights}
    report = load_odapi_checkpoint(detector.model, "ssd_mobilenet_v2_keras", fixture)  # restore=detection
    skipped = {name.split("/")[0] for name, _ in report.skipped}
    # the whole box predictor keeps its initialisers: box and class heads of all six feature maps
    assert skipped == {f"{head}_{i}" for head in ("class_predictions", "box_encodings") for i in range(6)}
    for weight in detector.model.weights:
        unchanged = np.array_equal(weight.numpy(), before[weight.path])
        assert unchanged == (weight.path.split("/")[0] in skipped), weight.path
    # the earlier behaviour, by its name: the box heads too, not the class heads
    with_predictor = build_detector(build_config("ssd_mobilenet_v2_320x320", "full", num_classes=5))
    report = load_odapi_checkpoint(
        with_predictor.model, "ssd_mobilenet_v2_keras", fixture, "detection_and_box_predictor"
    )
    assert {name.split("/")[0] for name, _ in report.skipped} == {f"class_predictions_{i}" for i in range(6)}
    fpn = build_detector(build_config("ssd_mobilenet_v2_fpnlite_320x320", "tiny", num_classes=2))
    with pytest.raises(
        CheckpointMismatchError, match="ssd_mobilenet_v2_320x320 checkpoint.*ssd_mobilenet_v2_fpnlite_320x320"
    ):
        load_odapi_checkpoint(fpn.model, "ssd_mobilenet_v2_fpn_keras", fixture)


def test_detection_leaves_fpnlites_shared_prediction_tower_to_its_initialisers(shared_dir):
    fixture = shared_dir / "fixtures" / "odapi_checkpoints" / "ssd_mobilenet_v2_fpnlite_320x320"
    detector = build_detector(build_config("ssd_mobilenet_v2_fpnlite_320x320", "full", num_classes=2))
    report = load_odapi_checkpoint(detector.model, "ssd_mobilenet_v2_fpn_keras", fixture)
    reasons = {name.split("/")[0]: why for name, why in report.skipped}
    assert reasons and all("box predictor" in why for why in reasons.values())
    full = load_odapi_checkpoint(detector.model, "ssd_mobilenet_v2_fpn_keras", fixture, "full")
    restored_by_full_only = {name.split("/")[0] for name in full.restored} - {n.split("/")[0] for n in report.restored}
    assert restored_by_full_only == set(reasons)  # exactly the predictor: tower, its batch norms, heads
    assert any("batchnorm" in name.lower() for name in reasons), sorted(reasons)


def test_train_fine_tunes_from_an_odapi_checkpoint(shared_dir, tracking_uri, tmp_path):
    import mlflow

    from burgerfries.data.prepare import prepare_dataset
    from burgerfries.jobs.train import TrainSettings, train

    data = tmp_path / "data"
    prepare_dataset("synthetic", data, num_images=6, eval_images=0, progress=False)
    fixture = shared_dir / "fixtures" / "odapi_checkpoints" / "ssd_mobilenet_v2_320x320"
    result = train(
        TrainSettings(
            data=data,
            model="ssd_mobilenet_v2_320x320",
            profile="full",
            num_steps=1,
            batch_size=2,
            weights=fixture,
            checkpoint_root=tmp_path / "ck",
        ),
        progress=False,
    )
    run = mlflow.MlflowClient().get_run(result.run_id)
    # restore detection: all but the box predictor (6 box and 6 class heads, kernel + bias each)
    assert run.data.metrics["init/restored_variables"] == 324 - 24
    assert run.data.metrics["init/skipped_variables"] == 24
    assert run.data.params["restore"] == "detection"
    assert run.data.tags["initial_weights"].startswith("OD API checkpoint")


@pytest.mark.parametrize("model", MODELS)
def test_weights_saved_in_the_odapi_layout_load_back_by_every_restore_mode(model, tmp_path):
    from burgerfries.model.odapi_weights import save_odapi_checkpoint

    source = build_detector(build_config(model, "tiny", num_classes=12))
    for weight in source.model.weights:  # unlike any initialiser (batch-norm variances stay positive)
        weight.assign(weight * 1.5 + 0.01)
    kind = source.ssd["feature_extractor"]["type"]
    folder = save_odapi_checkpoint(source.model, kind, tmp_path / "weights")
    copy = build_detector(build_config(model, "tiny", num_classes=12))
    report = load_odapi_checkpoint(copy.model, kind, folder, "full")
    assert len(report.restored) == len(source.model.weights) and not report.skipped
    images = tf.random.stateless_uniform((1, 96, 96, 3), seed=(1, 2), maxval=255.0)
    for ours, theirs in zip(tf.nest.flatten(source.model(images)), tf.nest.flatten(copy.model(images))):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    task = build_detector(build_config(model, "tiny", num_classes=2))  # the class heads' shape differs
    before = {weight.path: weight.numpy().copy() for weight in task.model.weights}
    report = load_odapi_checkpoint(task.model, kind, folder)  # detection
    predictor = ("class_predictions", "box_encodings", "BoxPredictor", "ClassPredictor", "PredictionTower")
    assert report.restored and all(name.startswith(predictor) for name, _ in report.skipped)
    for weight in task.model.weights:
        assert np.array_equal(weight.numpy(), before[weight.path]) == (weight.path in dict(report.skipped))
