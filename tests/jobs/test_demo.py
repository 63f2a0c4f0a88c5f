"""The demo page in headless Debian Chromium, the Space folder, and the export check."""

import ast
import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from io import BytesIO

import mlflow
import numpy as np
import pytest
import yaml
from PIL import Image

from burgerfries.export.check import MAX_MAP_DROP, export_problems
from burgerfries.export.demo_app import SavedModelRunner, detection_rows

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytest.importorskip("gradio", reason="the demo extra is not installed: pip install -e '.[demo]'")


@pytest.fixture
def exported(exported_run, synthetic_data, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", exported_run["uri"])
    mlflow.set_tracking_uri(exported_run["uri"])
    image = next((synthetic_data / "synthetic_source").glob("*.jpg"), None) or next(synthetic_data.rglob("*.jpg"))
    return {**exported_run, "image": image}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> float:
    started = time.time()
    while time.time() - started < seconds:
        if process.poll() is not None:
            pytest.fail(f"the server exited: {process.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.time() - started
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {seconds} s")


def test_export_logs_the_map_of_each_artifact_beside_the_checkpoints(exported):
    metrics = mlflow.MlflowClient(exported["uri"]).get_run(exported["run_id"]).data.metrics
    for artifact in ("checkpoint", "saved_model", "tflite"):
        assert f"export/mAP_50_{artifact}" in metrics
    assert abs(metrics["export/mAP_50_saved_model"] - metrics["export/mAP_50_checkpoint"]) <= MAX_MAP_DROP


def test_an_export_that_loses_accuracy_fails_with_the_artifact_named():
    assert export_problems({"checkpoint": 0.80, "saved_model": 0.795, "tflite": 0.79}) == []
    problems = export_problems({"checkpoint": 0.80, "saved_model": 0.80, "tflite": 0.0})
    assert len(problems) == 1 and problems[0].startswith("tflite: mAP@0.5 0.000")
    assert export_problems({"checkpoint": None, "saved_model": None, "tflite": None}) == []


def test_the_space_folder_runs_without_burgerfries(exported):
    space = exported["space"]
    front = yaml.safe_load((space / "README.md").read_text().split("---")[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py"
    assert (space / "saved_model" / "saved_model.pb").is_file() and list((space / "examples").glob("*.jpg"))
    assert "gradio==" in (space / "requirements.txt").read_text()
    for name in ("app.py", "demo_app.py"):
        modules = {
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(ast.parse((space / name).read_text()))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not any(str(module).startswith("burgerfries") for module in modules), name
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=space,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={
            "GRADIO_SERVER_PORT": str(port),
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "PATH": "/usr/bin:/bin",
            "HOME": str(exported["root"]),
        },
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=10) as response:
            assert "burgerfries detector" in response.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (.ci/run installs it)")
def test_the_demo_page_draws_and_lists_what_the_saved_model_finds(exported, tmp_path):
    from playwright.sync_api import sync_playwright

    pixels = np.asarray(Image.open(exported["image"]).convert("RGB"))
    direct = SavedModelRunner(exported["out"] / "saved_model")(pixels)
    scores = direct["detection_scores"]
    threshold = float(scores[2] + scores[3]) / 2  # exactly three detections pass
    expected = detection_rows(direct, {1: "burger", 2: "fries"}, threshold)
    assert len(expected) == 3
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("this is a shopping list, not a photo")

    temporary = tmp_path / "tmp"  # where the page keeps its example images while it runs
    temporary.mkdir()
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "burgerfries",
        "demo",
        "--model",
        str(exported["out"]),
        "--port",
        str(port),
        "--threshold",
        repr(threshold),
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "MLFLOW_TRACKING_URI": exported["uri"],
            "GRADIO_ANALYTICS_ENABLED": "False",
            "TMPDIR": str(temporary),
        },
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", process)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#upload input[type=file]", state="attached", timeout=60_000)
            assert exported["run_id"] in page.content()  # the page says which run it serves
            upload = page.locator("#upload input[type=file]")
            upload.set_input_files(str(exported["image"]), timeout=60_000)
            page.wait_for_function(
                "document.querySelector('#status').innerText.includes('detection(s)')", timeout=60_000
            )
            rows = [
                [cell.inner_text() for cell in row.locator("[role=gridcell]").all()]
                for row in page.locator("#detections [role=row]").all()[1:]
            ]  # row 1: the header
            shown_photo = page.locator("#photo img").get_attribute("src")  # the upload, shown as the photo
            source = page.locator("#result img").get_attribute("src")
            if source.startswith("data:"):
                result_bytes = base64.b64decode(source.split(",", 1)[1])
            else:
                result_bytes = page.request.get(
                    source if source.startswith("http") else f"http://127.0.0.1:{port}{source}"
                ).body()
            page.goto(f"http://127.0.0.1:{port}/")  # a fresh page: the upload box is replaced by the file shown
            upload.set_input_files(str(not_an_image), timeout=60_000)
            page.wait_for_function(
                "document.querySelector('#status').innerText.includes('not an image')", timeout=60_000
            )
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not list(temporary.glob("burgerfries-demo-*"))  # stopped with SIGTERM, it removed its example images
    assert shown_photo  # (an <img>, not a file name)
    found = [row for row in rows if row]
    assert len(found) == 3
    for row, want in zip(found, expected):
        assert row[0] == want[0]
        assert np.allclose([float(v) for v in row[2:6]], want[2:6], atol=1e-3)
    drawn = np.asarray(Image.open(BytesIO(result_bytes)).convert("RGB")).astype(int)
    assert drawn.shape == pixels.shape
    ymin, xmin = int(expected[0][2] * pixels.shape[0]), int(expected[0][3] * pixels.shape[1])
    corner = (slice(max(0, ymin - 1), ymin + 2), slice(max(0, xmin - 1), xmin + 2))
    assert np.abs(drawn[corner] - pixels[corner]).max() > 60  # the box is drawn where the model put it
