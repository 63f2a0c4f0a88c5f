"""Tracking helpers that guard against MLflow's own races."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import mlflow
import pytest
from mlflow.tracking import fluent

from burgerfries.tracking import activate_experiment


def test_an_experiment_another_process_created_meanwhile_still_becomes_active(tracking_uri):
    # The first lookup misses, and another process creates the experiment before ours does:
    # MLflow's set_experiment then returns it without making it active.
    real_lookup = fluent.TrackingServiceClient.get_experiment_by_name
    lookups = {"count": 0}

    def racing_lookup(self, name):
        lookups["count"] += 1
        if lookups["count"] == 1:
            mlflow.MlflowClient().create_experiment(name)
            return None
        return real_lookup(self, name)

    with mock.patch.object(fluent.TrackingServiceClient, "get_experiment_by_name", racing_lookup):
        experiment_id = activate_experiment("raced")
    assert experiment_id == mlflow.get_experiment_by_name("raced").experiment_id
    with mlflow.start_run() as run:
        assert run.info.experiment_id == experiment_id  # not the Default experiment


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_experiments_are_marked_as_model_training_unless_the_user_chose_a_kind(tracking_uri):
    from burgerfries.tracking import EXPERIMENT_KIND_TAG, TRAINING_KIND, tracked_run

    client = mlflow.MlflowClient()
    theirs = client.create_experiment("theirs", tags={EXPERIMENT_KIND_TAG: "genai_development"})
    with tracked_run("ours", "a run"):
        pass
    with tracked_run("theirs", "another run"):
        pass
    assert client.get_experiment_by_name("ours").tags[EXPERIMENT_KIND_TAG] == TRAINING_KIND
    assert client.get_experiment(theirs).tags[EXPERIMENT_KIND_TAG] == "genai_development"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (.ci/run installs it)")
def test_the_printed_ui_link_opens_the_runs_in_the_model_training_view(tracking_uri, tmp_path):
    """MLflow 3.17's UI: the link `ui_hint` prints lists the experiment's runs, not GenAI traces."""
    from playwright.sync_api import sync_playwright

    from burgerfries.tracking import tracked_run, ui_link

    with tracked_run("detectors", "train ssd seed 0") as run:
        mlflow.log_metric("eval/mAP_50", 0.5)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mlflow_command = shutil.which("mlflow", path=str(Path(sys.executable).parent))
    server = subprocess.Popen(
        [mlflow_command, "server", "--backend-store-uri", tracking_uri, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    link = ui_link(run.info.experiment_id).replace("http://127.0.0.1:5000", f"http://127.0.0.1:{port}")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            deadline = time.time() + 90
            while True:  # the server takes a moment to listen
                try:
                    page.goto(link)
                    break
                except Exception:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.5)
            page.wait_for_selector("text=train ssd seed 0", timeout=60000)
            url = page.url
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert f"/experiments/{run.info.experiment_id}/runs" in url and "workflowType=machine_learning" in url
