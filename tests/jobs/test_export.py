"""Export: SavedModel signature, TFLite agreement, the MLflow model served over HTTP, predict."""

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from burgerfries.cli import main
from burgerfries.evaluation.ground_truth import read_ground_truth
from burgerfries.export.tflite import TFLITE_TOLERANCE, run_tflite, tflite_postprocess


@pytest.fixture
def store(exported_run, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", exported_run["uri"])
    mlflow.set_tracking_uri(exported_run["uri"])
    return exported_run


@pytest.fixture
def export_folder(store):
    return store["out"]


def test_export_writes_the_three_forms_and_registers(export_folder, store):
    assert (export_folder / "saved_model" / "saved_model.pb").is_file()
    assert (export_folder / "model.tflite").stat().st_size > 0
    assert "burger" in (export_folder / "label_map.pbtxt").read_text()
    versions = mlflow.MlflowClient().search_model_versions("name='burgers'")
    assert versions and versions[0].run_id == store["run_id"]


def test_saved_model_signature_is_the_od_apis(export_folder):
    serve = tf.saved_model.load(str(export_folder / "saved_model")).signatures["serving_default"]
    spec = serve.structured_input_signature[1]["input_tensor"]
    assert spec.dtype == tf.uint8 and spec.shape.as_list() == [1, None, None, 3]
    output = serve(input_tensor=tf.zeros([1, 123, 77, 3], tf.uint8))  # any size: resized inside
    assert output["detection_boxes"].shape == (1, 100, 4) and output["detection_boxes"].dtype == tf.float32
    assert output["detection_scores"].shape == (1, 100) and output["detection_classes"].dtype == tf.float32
    assert output["num_detections"].shape == (1,)
    classes = output["detection_classes"].numpy()[0][: int(output["num_detections"][0])]
    assert set(classes) <= {1.0, 2.0}  # 1-based label-map ids


def test_the_saved_model_answers_as_the_checkpoint_it_was_exported_from(export_folder, store):
    """Raw outputs, not a metric: a near-chance model's mAP cannot tell a broken export from a good one."""
    from burgerfries.jobs.trained_run import load_trained_run

    detector = load_trained_run(store["run_id"]).detector  # the run's last checkpoint, rebuilt
    serve = tf.saved_model.load(str(export_folder / "saved_model")).signatures["serving_default"]
    for truth in read_ground_truth(store["data"] / "eval.record", keep_images=2)[:2]:
        image = tf.constant(truth.image.numpy()[None] if hasattr(truth.image, "numpy") else truth.image[None])
        reference, exported = detector.detect(image), serve(input_tensor=image)
        for key in ("raw_detection_boxes", "raw_detection_scores", "detection_boxes", "detection_scores"):
            np.testing.assert_allclose(exported[key].numpy(), reference[key].numpy(), atol=1e-5, err_msg=key)
        assert reference["raw_detection_scores"].numpy().std() > 0  # the comparison is of real outputs


def test_tflite_agrees_with_the_saved_model(export_folder, store):
    serve = tf.saved_model.load(str(export_folder / "saved_model")).signatures["serving_default"]
    for truth in read_ground_truth(store["data"] / "eval.record", keep_images=2)[:2]:
        image = tf.cast(tf.image.resize(truth.image, (96, 96)), tf.uint8).numpy()  # tiny profile: 96 px
        reference = serve(input_tensor=tf.constant(image[None]))
        lite = run_tflite(export_folder / "model.tflite", image)
        for key in ("raw_detection_boxes", "raw_detection_scores"):
            assert np.abs(lite[key] - reference[key].numpy()).max() <= TFLITE_TOLERANCE, key
        post = tflite_postprocess(lite["raw_detection_boxes"], lite["raw_detection_scores"])
        np.testing.assert_allclose(
            post["detection_scores"], reference["detection_scores"].numpy(), atol=TFLITE_TOLERANCE
        )


def test_predict_draws_pngs_and_refuses_bad_inputs(export_folder, tmp_path, capsys):
    image = tmp_path / "photo.jpg"
    Image.fromarray(np.full((60, 80, 3), 120, np.uint8)).save(image)
    assert main(["predict", str(image), "--model", str(export_folder), "--out", str(tmp_path / "p")]) == 0
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed.endswith("photo.png") and Image.open(printed).size == (80, 60)
    (tmp_path / "fake.jpg").write_text("not an image")
    assert (
        main(["predict", str(tmp_path / "fake.jpg"), "--model", str(export_folder), "--out", str(tmp_path / "p")]) == 1
    )
    assert "fake.jpg: not a readable image" in capsys.readouterr().err
    assert main(["predict", str(image), "--model", str(tmp_path), "--out", str(tmp_path / "p")]) == 1
    assert "not a model" in capsys.readouterr().err


def test_export_refuses_unknown_runs(store, tmp_path, capsys):
    assert main(["export", "--run-id", "ffffffffffffffff", "--out", str(tmp_path / "x")]) == 1
    assert "not found" in capsys.readouterr().err


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_mlflow_models_serve_answers_with_detections(export_folder, store, tmp_path):
    model_uri = mlflow.MlflowClient().get_run(store["run_id"]).data.tags["exported_model_uri"]
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            model_uri,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=tmp_path,
        # mlflow starts `uvicorn` by name: found beside this Python even when its venv is not activated
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2).status == 200:
                    break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"server exited: {server.stderr.read().decode()[-2000:]}")
                time.sleep(1)
        else:
            pytest.fail("server did not answer /ping within 180 s")
        truth = read_ground_truth(store["data"] / "eval.record", keep_images=1)[0]
        from io import BytesIO

        buffer = BytesIO()
        Image.fromarray(truth.image).save(buffer, format="JPEG")
        body = json.dumps(
            {"dataframe_split": {"columns": ["image"], "data": [[base64.b64encode(buffer.getvalue()).decode()]]}}
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=body, headers={"Content-Type": "application/json"}
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
        rows = answer["predictions"]
        assert rows and {"class_name", "score", "ymin", "xmin", "ymax", "xmax"} <= set(rows[0])
        assert all(row["class_name"] in ("burger", "fries") for row in rows)
    finally:
        server.terminate()
        server.wait(timeout=30)
