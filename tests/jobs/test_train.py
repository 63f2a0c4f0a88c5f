"""Training end to end on the tiny profile: it learns, it is tracked, it resumes, it fails loudly."""

import shutil

import mlflow
import numpy as np
import pytest
import tensorflow as tf

from burgerfries.cli import main
from burgerfries.data.prepare import prepare_dataset
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.evaluation.ground_truth import read_ground_truth
from burgerfries.evaluation.wrong_detections import box_iou
from burgerfries.jobs.train import TrainSettings, train
from burgerfries.model.config import SCHEDULE
from burgerfries.training.checkpoints import WeightsError
from burgerfries.training.loop import NonFiniteLossError

SSD = "ssd_mobilenet_v2_320x320"  # tests of the training mechanics, not of the default model

NO_AUGMENTATION = {"train_config.data_augmentation_options": "[]"}


@pytest.fixture(scope="module")
def handful(tmp_path_factory):
    """8 synthetic scenes, evaluated on the same images: a memorisation check."""
    out = tmp_path_factory.mktemp("handful")
    prepare_dataset("synthetic", out, num_images=8, seed=1, eval_fraction=0.0, eval_images=0, progress=False)
    shutil.copy(out / "train.record", out / "eval.record")
    return out


def test_tiny_model_learns_a_handful_of_images(handful, tracking_uri, tmp_path):
    # Augmentation off: this checks that matching, losses and optimiser can fit data at all.
    result = train(
        TrainSettings(
            data=handful,
            model=SSD,
            profile="tiny",
            num_steps=150,
            batch_size=4,
            overrides=NO_AUGMENTATION,
            checkpoint_root=tmp_path,
        ),
        progress=False,
    )
    history = [m.value for m in mlflow.MlflowClient().get_metric_history(result.run_id, "train/loss_total")]
    assert len(history) == 150
    assert np.mean(history[-5:]) < 0.5 * np.mean(history[:5])
    hits = total = 0
    for truth in read_ground_truth(handful / "train.record", keep_images=100):
        output = result.detector.detect(tf.constant(truth.image[None]))
        boxes, classes = output["detection_boxes"][0, :5].numpy(), output["detection_classes"][0, :5].numpy()
        for box, label in zip(truth.boxes, truth.labels):
            total += 1
            hits += bool(((box_iou(boxes, box[None])[:, 0] >= 0.5) & (classes == label)).any())
    assert hits >= 0.8 * total, f"{hits}/{total} objects found among the top-5 detections"


def test_train_cli_tracks_every_step_and_evaluates(synthetic_data, tracking_uri, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "train",
            "--data",
            str(synthetic_data),
            "--model",
            "ssd_mobilenet_v2_fpnlite_320x320",
            "--profile",
            "tiny",
            "--num-steps",
            "6",
            "--batch-size",
            "2",
            "--eval-every",
            "3",
            "--keep",
            "last",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out.strip().splitlines()
    run_id = printed[-1]
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    last = run.data.metrics  # the last value of each metric: the last evaluation's
    said = next(line for line in printed if line.startswith("validation photos, last evaluation: "))
    assert f"mAP@0.5 {last['eval/mAP_50']:.3f}" in said and "by object size: small " in said
    # the kept weights (here the last: --keep last), once, on the test photos: logged as test/* at the last step
    tested = next(line for line in printed if line.startswith("test photos (read by no choice), kept weights: "))
    assert f"mAP@0.5 {last['test/mAP_50']:.3f}" in tested
    assert [m.step for m in client.get_metric_history(run_id, "test/mAP_50")] == [6]
    assert run.info.status == "FINISHED"
    assert run.data.tags["model"] == "ssd_mobilenet_v2_fpnlite_320x320" and run.data.tags["profile"] == "tiny"
    assert run.data.params["batch_size"] == "2"
    assert run.data.params["model.ssd.feature_extractor.depth_multiplier"] == "0.35"
    for key in (
        "train/loss_classification",
        "train/loss_localization",
        "train/loss_regularization",
        "train/loss_total",
        "train/learning_rate",
        "train/steps_per_sec",
    ):
        assert [m.step for m in client.get_metric_history(run_id, key)] == list(range(1, 7)), key
    assert sorted(m.step for m in client.get_metric_history(run_id, "eval/mAP_50")) == [3, 6]
    assert sorted(m.step for m in client.get_metric_history(run_id, "eval/loss_total")) == [3, 6]
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"pipeline.yaml", "label_map.pbtxt", "eval_images"} <= artifacts
    # Each evaluated checkpoint is a logged model with its eval metrics, linked to the eval split.
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'", output_format="list"
    )
    assert sorted(int(m.tags["step"]) for m in models) == [3, 6]
    for model in models:
        linked = {metric.key: metric for metric in model.metrics}
        assert "eval/mAP_50" in linked and linked["eval/mAP_50"].step == int(model.tags["step"])
        assert linked["eval/mAP_50"].dataset_name == f"{synthetic_data.name}/validation"
    last = next(m for m in models if m.tags["step"] == "6")
    assert last.tags["checkpoint"] == "stored with this model" and run.data.tags["checkpoint_model_id"] == last.model_id
    assert sum("best_by" in m.tags for m in models) == 1
    assert {(d.dataset.name, d.tags[0].value) for d in run.inputs.dataset_inputs} == {
        (f"{synthetic_data.name}/train", "training"),
        (f"{synthetic_data.name}/validation", "validation"),
        (f"{synthetic_data.name}/eval", "testing"),
    }
    # The last checkpoint answers as a pyfunc model, with the signature it was logged with.
    from burgerfries.jobs.pyfunc_model import DETECTION_COLUMNS, input_example

    loaded = mlflow.pyfunc.load_model(f"models:/{last.model_id}")
    assert list(loaded.predict(input_example((64, 64))).columns) == DETECTION_COLUMNS
    assert loaded.metadata.signature.inputs.input_names() == ["image"]


def test_rerunning_a_run_resumes_at_its_step(synthetic_data, tracking_uri, tmp_path):
    settings = TrainSettings(data=synthetic_data, profile="tiny", num_steps=4, batch_size=2, checkpoint_root=tmp_path)
    first = train(settings, progress=False)
    settings.num_steps = 7
    resumed = train(settings, run_id=first.run_id, progress=False)
    assert resumed.run_id == first.run_id
    steps = [m.step for m in mlflow.MlflowClient().get_metric_history(first.run_id, "train/loss_total")]
    assert steps == list(range(1, 8))  # 1–4, then 5–7: no step trained twice


def test_a_run_nobody_resumes_saves_only_its_last_step(synthetic_data, tracking_uri, tmp_path):
    """A sweep's trial (resumable=False) skips the checkpoints at its evaluation steps."""
    settings = TrainSettings(
        data=synthetic_data,
        profile="tiny",
        num_steps=3,
        batch_size=2,
        eval_every=1,
        resumable=False,
        checkpoint_root=tmp_path,
    )
    result = train(settings, progress=False)
    assert sorted(path.name for path in (tmp_path / result.run_id).glob("ckpt-*.index")) == ["ckpt-3.index"]
    assert result.checkpoint.endswith("ckpt-3")


def test_non_finite_loss_fails_the_run(synthetic_data, tracking_uri, tmp_path, capsys):
    settings = TrainSettings(
        data=synthetic_data,
        profile="tiny",
        num_steps=5,
        batch_size=2,
        learning_rate=1e30,
        overrides={f"{SCHEDULE}.warmup_learning_rate": "1e30"},
        eval_every=0,  # no checkpoint before the last step
        checkpoint_root=tmp_path,
    )
    with pytest.raises(NonFiniteLossError, match="lower learning rate"):
        train(settings, progress=False)
    run = mlflow.search_runs(experiment_names=["train"], output_format="list")[0]
    assert run.info.status == "FAILED"
    # such a run has a config but no checkpoint: evaluating it says so
    assert main(["evaluate", "--run-id", run.info.run_id, "--data", str(synthetic_data)]) == 1
    assert "has no checkpoint" in capsys.readouterr().err


def test_initial_weights_from_a_file_and_a_checkpoint(synthetic_data, tracking_uri, tmp_path):
    settings = TrainSettings(
        data=synthetic_data, model=SSD, profile="tiny", num_steps=2, batch_size=2, checkpoint_root=tmp_path
    )
    first = train(settings, progress=False)
    weights_file = tmp_path / "first.weights.h5"
    first.detector.model.save_weights(str(weights_file))
    reference = first.detector.model.get_layer("Conv1").get_weights()[0]
    for source in (weights_file, tmp_path / first.run_id):
        settings.weights = source
        settings.learning_rate = 1e-12  # nearly frozen: the first step must start from the loaded weights
        settings.num_steps = 1
        again = train(settings, progress=False)
        np.testing.assert_allclose(again.detector.model.get_layer("Conv1").get_weights()[0], reference, atol=1e-5)
    settings.model = "ssd_mobilenet_v2_fpnlite_320x320"
    with pytest.raises(WeightsError, match="does not fit"):
        train(settings, progress=False)


def test_evaluation_needs_an_eval_split(tmp_path):
    prepare_dataset("synthetic", tmp_path, num_images=4, eval_fraction=0.0, eval_images=0, progress=False)
    with pytest.raises(ValueError, match="0 examples"):
        Evaluation(tmp_path)


def test_a_set_without_a_value_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as refused:
        main(["train", "--data", str(tmp_path), "--set", "train_config.batch_size"])
    assert refused.value.code == 2  # argparse's usage error, before a run or a data folder is opened
    said = capsys.readouterr().err
    assert "argument --set: expected FIELD=VALUE" in said and "'train_config.batch_size'" in said
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlflow.db").exists()
