"""The report end to end: runs in a temporary sqlite store → HTML → headless Chromium."""

import shutil

import mlflow
import numpy as np
import pytest
from mlflow.entities import Metric, Param, RunTag

from burgerfries.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STEPS = [100, 200, 300, 400, 500, 600]


def log_run(client, experiment_id, name, model, weights, eval_loss, wrong, base=False):
    run = client.create_run(experiment_id, run_name=name, tags={"phase": "weights", "model": model})
    cw, lw = weights
    params = {
        "model": model,
        "batch_size": "10",
        "learning_rate": "0.04",
        "classification_weight": str(cw),
        "localization_weight": str(lw),
        "num_steps": "600",
        "profile": "smoke",
        "seed": "0",
    }
    metrics = []
    for i, step in enumerate(STEPS):
        loss = eval_loss + 2.0 * np.exp(-i)
        metrics += [
            Metric("eval/loss_total", loss, 0, step),
            Metric("eval/mAP_50", 0.9 - 0.8 * np.exp(-i), 0, step),
            Metric("eval/AR_1", 0.4, 0, step),
            Metric("eval/AR_10", 0.6, 0, step),
            Metric("eval/AR_100", 0.7, 0, step),
            Metric("eval/wrong_detections", wrong, 0, step),
            Metric("eval/wrong_detection_rate", wrong / 10, 0, step),  # 10 eval images
        ]
    metrics += [Metric("train/loss_total", eval_loss - 0.1, 0, s) for s in range(1, 601, 10)]
    metrics += [Metric("train/steps_per_sec", 12.0, 0, s) for s in range(1, 601, 10)]
    tags = [RunTag("is_base", "true")] if base else []
    client.log_batch(run.info.run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()], tags=tags)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


@pytest.fixture
def study(tracking_uri):
    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment("study")
    ids = {
        "base": log_run(client, experiment_id, "base 1:1", "ssd_mobilenet_v2_320x320", (1.0, 1.0), 0.50, 0, base=True),
        "winner": log_run(
            client, experiment_id, "<script>alert(1)</script>", "ssd_mobilenet_v2_320x320", (1.0, 0.5), 0.40, 0
        ),
        "wrong": log_run(client, experiment_id, "low loss but wrong", "ssd_mobilenet_v2_320x320", (0.5, 1.0), 0.30, 2),
    }
    return ids


def test_report_names_the_winner_and_escapes_names(study, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", "--experiment", "study", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str((out / "index.html").resolve())
    page = (out / "index.html").read_text()
    # the run's name is in the curves' legends, escaped (plotly writes "/" as \\u002f inside its JSON)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;" in page
    table = (out / "base_vs_final.csv").read_text()
    # one run per configuration: nothing can be told from noise, so the base stays the final pick
    assert "(base)" in table and "(final)" in table
    final_line = [line for line in table.splitlines() if "(final)" in line][0]
    assert "weights 1.0:1.0" in final_line
    for heading in ("The answer", "1. Phases", "2. Recall", "3. The finalists on the held-out split", "4. Provenance"):
        assert heading in page


def test_report_refuses_unknown_sources(tracking_uri, capsys):
    assert main(["report", "--experiment", "nope"]) == 1
    assert "not found" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (.ci/run installs it)")
def test_report_opens_offline_in_headless_chromium(study, tmp_path):
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report"
    assert main(["report", "--experiment", "study", "--out", str(out)]) == 0
    url = (out / "index.html").resolve().as_uri()
    errors, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        page.wait_for_selector(".plotly-graph-div .main-svg")
        shot = page.screenshot(full_page=False)
        layout = page.evaluate(
            """() => ({
                scroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
                tallest: Math.max(...[...document.querySelectorAll("tr")].map(r => r.getBoundingClientRect().height)),
                plots: document.querySelectorAll(".plotly-graph-div").length,
                drawn: document.querySelectorAll(".plotly-graph-div .main-svg").length,
                broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length,
                answer: document.querySelector(".headline").getBoundingClientRect().bottom,
            })"""
        )
        browser.close()
    assert layout["scroll"] <= 0, layout  # no horizontal scroll at 1280 px
    assert layout["tallest"] <= 200, layout  # no table row taller than 200 px
    assert layout["plots"] > 0 and layout["drawn"] >= layout["plots"], layout  # every plot rendered
    assert layout["broken"] == 0, layout  # every image loaded
    assert layout["answer"] <= 800, layout  # the decision is on the first screen
    assert errors == []
    assert [r for r in requests if not r.startswith(("file://", "data:"))] == []
    from io import BytesIO

    from PIL import Image

    pixels = np.asarray(Image.open(BytesIO(shot)).convert("L"))
    assert pixels.std() > 5  # not blank


def test_the_prior_is_earlier_sweeps_finished_trials_of_the_same_model_profile_and_data(tracking_uri):
    from burgerfries.tracking.reader import read_prior, read_runs

    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment("prior")

    def trial(start: int, model: str = "ssd", data: str = "abc", status: str = "FINISHED") -> str:
        tags = {"sweep_role": "trial", "model": model, "dataset_hash": data, "profile": "smoke"}
        run = client.create_run(experiment_id, start_time=start, tags=tags)
        client.log_batch(run.info.run_id, params=[Param("model", model), Param("profile", "smoke")])
        client.log_batch(run.info.run_id, metrics=[Metric("eval/mAP_50", 0.8, 0, 10)])
        client.set_terminated(run.info.run_id, status)
        return run.info.run_id

    earlier = trial(1000)
    unwanted = [trial(1001, model="fpnlite"), trial(1002, data="other"), trial(1003, status="FAILED")]
    parent = client.create_run(experiment_id, start_time=2000)
    own = trial(3000)
    later = trial(4000)  # started after this sweep: not part of what it decided with
    runs, _ = read_runs([own])
    prior, metrics = read_prior(client, client.get_run(parent.info.run_id), runs)
    assert list(prior.index) == [earlier]
    assert not {*unwanted, own, later} & set(prior.index)
    assert set(metrics["run_id"]) == {earlier}
