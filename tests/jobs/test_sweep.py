"""Phases chain winners; a failing trial does not stop the sweep;
a sweep killed with SIGKILL resumes with exactly one finished run per configuration."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
import yaml

from burgerfries.jobs.sweep.job import SweepSettings, run_sweep

BASE = {"batch_size": 2, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}


def write_study(path, phases, name, models=("ssd_mobilenet_v2_320x320",), num_steps=4, noise_seeds=1):
    study = {"name": name, "models": list(models), "base": BASE, "num_steps": num_steps, "phases": phases}
    path.write_text(yaml.safe_dump({**study, "noise_seeds": noise_seeds}))
    return path


WEIGHTS = "weights/<b>ratio</b> ../"  # a phase name with a path separator, HTML and '..'
LR = 'lr\'s "größe"'


def finished_runs(study_name):
    runs = mlflow.search_runs(experiment_names=[study_name], output_format="list")
    return [r for r in runs if r.data.tags.get("sweep_role") == "trial"]


def test_phases_chain_winners_and_a_failing_trial_does_not_stop_the_sweep(
    synthetic_data, tracking_uri, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    study = write_study(
        tmp_path / "chain.yaml",
        [
            {
                "name": WEIGHTS,
                "grid": [
                    {"classification_weight": 1.0, "localization_weight": 0.5},
                    {"classification_weight": 0.5, "localization_weight": 1.0},
                ],
            },
            {"name": LR, "grid": {"learning_rate": [0.04, 1.0e30]}},  # 1e30 diverges to NaN
        ],
        "chain",
    )
    result = run_sweep(SweepSettings(study=study, data=synthetic_data, profile="tiny", progress=False))
    trials = finished_runs("chain")
    by_phase = {}
    for run in trials:
        by_phase.setdefault(run.data.tags["phase"], []).append(run)
    # the weights phase races its incumbent (the base, 1:1) against both points; the lr phase's
    # incumbent (the weights decision at lr 0.04, seed 0) was trained in the weights phase: it is
    # reused, not trained again; only lr 1e30 is new
    assert len(by_phase[WEIGHTS]) == 3 and len(by_phase[LR]) == 1
    # all four trials have one shape: the first traces the step, the others reuse it
    steps = sorted(run.data.tags["traced_step"] for run in trials)
    assert steps == ["new", "reused", "reused", "reused"]
    parent = mlflow.MlflowClient().get_run(result.parent_run_id)
    phase_runs = mlflow.search_runs(
        experiment_names=["chain"],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        output_format="list",
    )
    weights_phase = [r for r in phase_runs if r.data.tags["phase"] == WEIGHTS][0]
    lr_phase = [r for r in phase_runs if r.data.tags["phase"] == LR][0]
    winner_run = weights_phase.data.tags["winner/ssd_mobilenet_v2_320x320"]
    assert yaml.safe_load(lr_phase.data.tags["reused/ssd_mobilenet_v2_320x320"]) == {
        winner_run: {"label": "lr 0.04", "point": 0}
    }
    winner = yaml.safe_load(weights_phase.data.tags["winner_config/ssd_mobilenet_v2_320x320"])
    # one seed each, so no noise estimate: nothing can be shown better, and the base stays
    assert weights_phase.data.tags["outcome/ssd_mobilenet_v2_320x320"] == "kept"
    assert (winner["classification_weight"], winner["localization_weight"]) == (1.0, 1.0)
    assert "no difference can be told from noise" in weights_phase.data.tags["mlflow.note.content"]
    for run in by_phase[LR]:  # the lr phase starts from the weights phase's winner
        assert float(run.data.params["classification_weight"]) == winner["classification_weight"]
        assert float(run.data.params["localization_weight"]) == winner["localization_weight"]
    statuses = {run.data.params["learning_rate"]: run.info.status for run in by_phase[LR]}
    assert statuses == {"1e+30": "FAILED"}
    assert result.phase_winners["ssd_mobilenet_v2_320x320"]["learning_rate"] == 0.04  # 1e30 failed
    assert set(result.winners) == {"ssd_mobilenet_v2_320x320"}
    assert result.report_path.is_file()
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlflow.note.content"].startswith("**Pick: ssd_mobilenet_v2_320x320")  # the answer
    assert "report" in {a.path for a in mlflow.MlflowClient().list_artifacts(parent.info.run_id)}
    # the final pick's run, run again on the held-out split: its diagnostics logged on it
    final_run = parent.data.tags["final/ssd_mobilenet_v2_320x320"]
    logged = {a.path for a in mlflow.MlflowClient().list_artifacts(final_run, "diagnostics")}
    assert {"diagnostics/confusion.csv", "diagnostics/precision_recall.csv", "diagnostics/summary.json"} <= logged
    assert "3. The finalists on the held-out split" in result.report_path.read_text()
    written = [path for path in (tmp_path / "reports").rglob("*") if path.is_file()]
    assert written and all(path.parent == result.report_path.resolve().parent for path in written)


@pytest.mark.slow
def test_a_real_switch_is_chained_into_the_next_phase(synthetic_data, tracking_uri, tmp_path, monkeypatch):
    """A base that barely learns (lr 1e-6) against lr 0.004 on the unweighted eval loss, three seeds
    each: the lr phase must switch, and the weights phase must then train at lr 0.004 — a sweep that
    always chained the base would train it at 1e-6. (At lr 0.04 this tiny model's eval loss rose.)"""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "switch.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "switch",
                "models": ["ssd_mobilenet_v2_320x320"],
                "base": {**BASE, "learning_rate": 1.0e-6},
                "num_steps": 30,
                "noise_seeds": 3,
                "objective": "eval_loss",
                "phases": [
                    {"name": "lr", "grid": {"learning_rate": [0.004]}},
                    {"name": "weights", "grid": [{"classification_weight": 1.0, "localization_weight": 0.5}]},
                ],
            }
        )
    )
    result = run_sweep(SweepSettings(study=path, data=synthetic_data, profile="tiny", progress=False))
    trials = finished_runs("switch")
    phases = mlflow.search_runs(
        experiment_names=["switch"],
        filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'",
        output_format="list",
    )
    lr_phase = next(r for r in phases if r.data.tags["phase"] == "lr")
    assert lr_phase.data.tags["outcome/ssd_mobilenet_v2_320x320"] == "switched", lr_phase.data.tags.get(
        "mlflow.note.content"
    )
    weights_trials = [r for r in trials if r.data.tags["phase"] == "weights"]
    assert weights_trials and all(float(r.data.params["learning_rate"]) == 0.004 for r in weights_trials)
    assert result.phase_winners["ssd_mobilenet_v2_320x320"]["learning_rate"] == 0.004


def test_resume_after_sigkill_gives_one_finished_run_per_configuration(synthetic_data, tracking_uri, tmp_path):
    models = ("ssd_mobilenet_v2_320x320", "ssd_mobilenet_v2_fpnlite_320x320")
    phases = [{"name": "batch", "grid": {"batch_size": [2]}}]  # the killed run and its re-run share the label "2"
    study = write_study(tmp_path / "resume.yaml", phases, "resume", models=models, num_steps=40)
    command = [
        sys.executable,
        "-m",
        "burgerfries",
        "sweep",
        "--study",
        str(study),
        "--data",
        str(synthetic_data),
        "--profile",
        "tiny",
        "--workers",
        "1",  # the process killed is the one training
    ]
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = mlflow.MlflowClient()
    deadline = time.time() + 1800  # a safety net only: the kill waits for the event below
    try:  # kill once the second trial has logged training steps
        while time.time() < deadline:
            runs = finished_runs("resume") if mlflow.get_experiment_by_name("resume") else []  # one snapshot
            running = [r for r in runs if r.info.status == "RUNNING"]
            done = [r for r in runs if r.info.status == "FINISHED"]
            if done and running and client.get_metric_history(running[0].info.run_id, "train/loss_total"):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the sweep never reached its second trial")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed_run = running[0].info.run_id
    completed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1].endswith("index.html")
    trials = finished_runs("resume")
    finished = [(r.data.params["model"], r.data.params["batch_size"]) for r in trials if r.info.status == "FINISHED"]
    assert sorted(finished) == sorted((m, "2") for m in models)  # each configuration exactly once
    assert client.get_run(killed_run).info.status == "KILLED"
    # the report ranks the re-run and lists the killed run, whose label it shares
    report_folder = Path(completed.stdout.strip().splitlines()[-1]).parent
    assert killed_run[:8] in (report_folder / "unranked_runs.csv").read_text()
    assert all(f"final {model}" in completed.stdout for model in models)
    parents = [
        r
        for r in mlflow.search_runs(experiment_names=["resume"], output_format="list")
        if r.data.tags.get("sweep_role") == "study"
    ]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"


def test_noise_floor_runs_are_trained_once_and_reused_by_the_next_phase(
    synthetic_data, tracking_uri, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    phases = [
        {"name": "weights", "grid": [{"classification_weight": 1.0}, {"classification_weight": 0.5}]},
        {"name": "lr", "grid": {"learning_rate": [0.04, 0.02]}},
    ]
    study = write_study(tmp_path / "noise.yaml", phases, "noise", noise_seeds=2)
    result = run_sweep(SweepSettings(study=study, data=synthetic_data, profile="tiny", progress=False))
    trials = finished_runs("noise")
    assert all(run.info.status == "FINISHED" for run in trials)
    trained = [
        (run.data.params["classification_weight"], run.data.params["learning_rate"], run.data.params["seed"])
        for run in trials
    ]
    assert len(trained) == len(set(trained))  # no configuration trained twice with the same seed
    weights_runs = sorted(
        (r.data.params["classification_weight"], r.data.params["seed"])
        for r in trials
        if r.data.tags["phase"] == "weights"
    )
    # the base (classification weight 1.0) with two seeds, the challenger once (twice if it looked
    # better than the base and earned a confirmation seed)
    assert weights_runs in (
        [("0.5", "0"), ("1.0", "0"), ("1.0", "1")],
        [("0.5", "0"), ("0.5", "1"), ("1.0", "0"), ("1.0", "1")],
    )
    phase_runs = mlflow.search_runs(
        experiment_names=["noise"],
        filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'",
        output_format="list",
    )
    lr_phase = next(r for r in phase_runs if r.data.tags["phase"] == "lr")
    reused = yaml.safe_load(lr_phase.data.tags["reused/ssd_mobilenet_v2_320x320"])
    # the weights decision's two runs, counted as lr 0.04 (the lr grid's first point)
    assert len(reused) == 2 and all(there == {"label": "lr 0.04", "point": 0} for there in reused.values())
    own_lr = [r for r in trials if r.data.tags["phase"] == "lr"]
    assert {r.data.params["learning_rate"] for r in own_lr} == {"0.02"}  # (a second seed if confirmed)
    table = (result.report_path.parent / "phase_lr_ssd_mobilenet_v2_320x320.csv").read_text()
    assert "mAP_50_ci" in table and "delta" in table
    page = result.report_path.read_text()
    assert "degrees of freedom" in page  # σ from the base's two seeds (and a confirmed challenger's)
    assert_optuna_studies_show_the_knobs(tmp_path / "optuna.db")
    # the final pick and the base, registered (one version when the sweep kept the base)
    client = mlflow.MlflowClient()
    parent = client.get_run(result.parent_run_id)
    final_run = client.get_run(parent.data.tags["final/ssd_mobilenet_v2_320x320"])
    champion = client.get_model_version_by_alias("noise-ssd", "champion")
    assert champion.source == f"models:/{final_run.data.tags['checkpoint_model_id']}"
    assert client.get_model_version_by_alias("noise-ssd", "base").version
    assert parent.data.tags["registered/ssd_mobilenet_v2_320x320"].startswith("noise-ssd version ")
    assert final_run.data.tags["checkpoint_model_id"] in {o.model_id for o in parent.outputs.model_outputs}


def assert_optuna_studies_show_the_knobs(storage_file):
    """What optuna-dashboard reads: only the phases' studies, their knobs as parameters, the
    decision metric by name, each trial's evaluations as intermediate values."""
    import optuna

    storage = f"sqlite:///{storage_file}"
    names = [summary.study_name for summary in optuna.get_all_study_summaries(storage)]
    assert sorted(name.rsplit(":", 2)[1] for name in names) == ["lr", "weights"] and not any(
        ":once:" in n for n in names
    )
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        assert study.metric_names == ["mAP_50"]
        finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        knob = "classification_weight" if name.endswith(":weights:ssd_mobilenet_v2_320x320") else "learning_rate"
        for trial in finished:
            assert knob in trial.params and trial.distributions[knob].choices == tuple(
                sorted(trial.distributions[knob].choices)
            )
            assert float(trial.params[knob]) == float(trial.user_attrs["config"][knob])
            history = mlflow.MlflowClient().get_metric_history(trial.user_attrs["mlflow_run_id"], "eval/mAP_50")
            assert trial.intermediate_values == {m.step: m.value for m in history}  # the run's evaluations


def test_a_run_that_finished_before_its_worker_died_is_not_trained_again(
    synthetic_data, tracking_uri, tmp_path, monkeypatch, capsys
):
    """The window between a trial's MLflow run finishing and Optuna recording its value: a worker
    dying there leaves a FINISHED run and a RUNNING trial, which is retried; the retry uses the run."""
    import optuna.study._optimize

    from burgerfries.sweep import storage

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(storage, "GRACE_SECONDS", 1)  # the dead trial's heartbeat goes stale at once
    study = write_study(tmp_path / "late.yaml", [{"name": "lr", "grid": {"learning_rate": [0.04, 0.02]}}], "late")
    settings = SweepSettings(study=study, data=synthetic_data, profile="tiny", progress=False)
    tell = optuna.study._optimize._tell_with_warning

    def die_before_telling(*args, **kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr(optuna.study._optimize, "_tell_with_warning", die_before_telling)
    with pytest.raises((RuntimeError, AssertionError)):  # Optuna asserts on the untold trial in a `finally`
        run_sweep(settings)
    (first,) = finished_runs("late")
    assert first.info.status == "FINISHED"
    (optuna_study,) = [
        optuna.load_study(study_name=s.study_name, storage=f"sqlite:///{tmp_path / 'optuna.db'}")
        for s in optuna.get_all_study_summaries(f"sqlite:///{tmp_path / 'optuna.db'}")
        if s.study_name.endswith(":lr:ssd_mobilenet_v2_320x320")
    ]
    states = [t.state for t in optuna_study.trials]
    assert states == [optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING]  # the first never told
    monkeypatch.setattr(optuna.study._optimize, "_tell_with_warning", tell)
    capsys.readouterr()
    result = run_sweep(settings)
    assert f"run {first.info.run_id} finished before its worker died; using it" in capsys.readouterr().out
    trials = finished_runs("late")
    assert sorted(r.data.params["learning_rate"] for r in trials) == ["0.02", "0.04"]  # each trained once
    assert all(r.info.status == "FINISHED" for r in trials)
    assert result.report_path.is_file()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (.ci/run installs it)")
def test_optuna_dashboard_lists_the_phases_with_their_knobs(synthetic_data, tracking_uri, tmp_path, monkeypatch):
    """The README's `optuna-dashboard sqlite:///optuna.db`, in a browser: the phase's study, its
    swept knob as a parameter and the decision metric by name."""
    from playwright.sync_api import sync_playwright

    monkeypatch.chdir(tmp_path)
    study = write_study(tmp_path / "dash.yaml", [{"name": "lr", "grid": {"learning_rate": [0.04, 0.02]}}], "dash")
    run_sweep(SweepSettings(study=study, data=synthetic_data, profile="tiny", progress=False))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dashboard_command = shutil.which("optuna-dashboard", path=str(Path(sys.executable).parent))
    server = subprocess.Popen(
        [dashboard_command, f"sqlite:///{tmp_path / 'optuna.db'}", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            deadline = time.time() + 60
            while True:  # the server takes a moment to listen
                try:
                    page.goto(f"http://127.0.0.1:{port}/dashboard")
                    break
                except Exception:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.5)
            page.wait_for_selector("text=:lr:ssd_mobilenet_v2_320x320", timeout=30000)
            page.click("text=:lr:ssd_mobilenet_v2_320x320")
            page.wait_for_selector("text=Hyperparameter Importance", timeout=30000)
            page.goto(page.url.rstrip("/") + "/trials")
            page.wait_for_selector("text=learning_rate", timeout=30000)
            body = page.inner_text("body")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = " ".join(body.split())
    assert "Intermediate Values" in text and "learning_rate 0.04" in text  # trial 0: the incumbent, lr 0.04


HOSTILE_NAME = "<img src=x onerror=alert(1)>/../../escape:a"  # HTML, path separators, '..' and ':'


def test_under_mlflow_run_the_entry_run_is_the_sweeps_parent_and_a_hostile_name_finishes(tracking_uri, tmp_path):
    """What `mlflow run . -e sweep` does: it creates a run and passes its id (MLFLOW_RUN_ID) and
    experiment to the command. The sweep without --data prepares the synthetic set first; that
    step must not take the entry run over (MLflow resumes MLFLOW_RUN_ID for the first run started).
    The study's name is one the registry, the file system and the page must all survive."""
    from burgerfries.names import slug

    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment("entry")
    entry = client.create_run(experiment_id).info.run_id
    study = write_study(
        tmp_path / "entry.yaml", [{"name": "batch", "grid": {"batch_size": [1]}}], HOSTILE_NAME, num_steps=2
    )
    env = {**os.environ, "MLFLOW_RUN_ID": entry, "MLFLOW_EXPERIMENT_ID": experiment_id}
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    command = [sys.executable, "-m", "burgerfries", "sweep", "--study", str(study), "--profile", "tiny"]
    # two local workers, as the main job runs: each joins the entry run, and neither may resume it for a trial
    completed = subprocess.run(
        [*command, "--workers", "2"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    runs = client.search_runs([experiment_id])
    parents = {run.info.run_id: run.data.tags.get("mlflow.parentRunId") for run in runs}
    roles = {run.info.run_id: run.data.tags.get("sweep_role") or run.data.tags.get("step") for run in runs}
    assert roles[entry] == "study" and parents[entry] is None  # the printed run id holds the study
    assert [run for run, parent in parents.items() if parent is None] == [entry]  # one run tree
    assert {roles[run] for run, parent in parents.items() if parent == entry} == {"data_prep", "phase"}
    assert sum(role == "trial" for role in roles.values()) == 2  # the base and batch 1, both beneath
    assert client.get_run(entry).data.tags["mlflow.runName"] == f"sweep {HOSTILE_NAME}"
    registered = f"{slug(HOSTILE_NAME)}-ssd"
    assert client.get_registered_model(registered).aliases["champion"]
    assert f"registered model names use {slug(HOSTILE_NAME)!r}" in completed.stdout  # the mapping, said once
    report = Path(completed.stdout.strip().splitlines()[-1])
    assert report.is_file() and tmp_path in report.parents  # inside the working folder, not escaped
    assert "<img src=x" not in report.read_text(encoding="utf-8")  # the name is escaped on the page


def test_a_registry_that_refuses_the_picks_costs_the_registration_not_the_sweep(tracking_uri, monkeypatch, capsys):
    from mlflow.exceptions import MlflowException

    from burgerfries.jobs.sweep import job as sweep_job

    def refuse(*_):
        raise MlflowException("the registry is read-only")

    monkeypatch.setattr(sweep_job, "register_finals", refuse)
    with mlflow.start_run(experiment_id=mlflow.MlflowClient().create_experiment("refused")) as parent:
        sweep_job._register(None, "team/detectors", parent.info.run_id)  # no exception: the sweep goes on
    said = capsys.readouterr().out
    assert "registered model names use 'team_detectors_" in said
    assert "the report is written, but registering the final picks failed" in said
    tags = mlflow.MlflowClient().get_run(parent.info.run_id).data.tags
    assert "read-only" in tags["registry_error"]


def test_a_clearly_worse_challenger_is_stopped_early_and_left_out(synthetic_data, tracking_uri, tmp_path, monkeypatch):
    """The pruner's rule made to find every screening challenger far below the incumbent (where the
    rule applies at all: late in its run, against two incumbent runs): its trial is PRUNED in
    Optuna, its run KILLED with the reason, and the sweep goes on to its report."""
    import optuna

    from burgerfries.sweep import pruning

    monkeypatch.chdir(tmp_path)
    rule = pruning.ClearlyWorse.gap
    monkeypatch.setattr(pruning.ClearlyWorse, "gap", lambda self, s, t: rule(self, s, t) and (1.0, 0.1))
    study = write_study(
        tmp_path / "stop.yaml", [{"name": "lr", "grid": {"learning_rate": [0.02]}}], "stop", num_steps=6, noise_seeds=2
    )
    result = run_sweep(SweepSettings(study=study, data=synthetic_data, profile="tiny", progress=False))
    runs = mlflow.search_runs(experiment_names=["stop"], output_format="list")
    stopped = [run for run in runs if run.data.tags.get("stopped_early")]
    assert len(stopped) == 1 and stopped[0].info.status == "KILLED"
    assert (
        stopped[0].data.params["learning_rate"] == "0.02"
        and "stopped early at step" in stopped[0].data.tags["stopped_early"]
    )
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'optuna.db'}")
    (name,) = [s.study_name for s in optuna.get_all_study_summaries(storage) if "lr" in s.study_name]
    states = [t.state.name for t in optuna.load_study(study_name=name, storage=storage).trials]
    assert states.count("PRUNED") == 1 and states.count("COMPLETE") == 2
    assert result.report_path.is_file() and "stopped early" in result.report_path.read_text(encoding="utf-8")


def test_a_reference_race_carries_only_the_learning_rate_to_the_incumbent(synthetic_data, tracking_uri, tmp_path):
    # The original study's lr phase in small: learning rates raced at batch 1 against the incumbent's
    # own rate there (the reference), the leader's rate then tested at the incumbent's batch 2. In 6
    # steps lr 0.02 raises the eval loss (its regularization term grows ~30×), lr 1e-7 leaves it
    # where it starts: lr 1e-7 leads the race on eval loss on every seed.
    path = tmp_path / "race.yaml"
    phases = [{"name": "lr", "fixed": {"batch_size": 1}, "carry": "varied", "grid": {"learning_rate": [1e-7, 0.02]}}]
    study = {"name": "race", "models": ["ssd_mobilenet_v2_320x320"], "base": {**BASE, "learning_rate": 0.02}}
    study.update(num_steps=6, phases=phases, noise_seeds=2, objective="eval_loss")
    study["decision_settings"] = {"stop_early": False}
    path.write_text(yaml.safe_dump(study))
    result = run_sweep(SweepSettings(study=path, data=synthetic_data, profile="tiny", progress=False))
    trials = finished_runs("race")
    trained = sorted(
        (r.data.tags["phase"], r.data.params["batch_size"], r.data.params["learning_rate"], r.data.params["seed"])
        for r in trials
    )
    # the race: the reference (0.02 at batch 1) with the incumbent's two seeds, lr 1e-7 confirmed to
    # two; the test: lr 1e-7 at batch 2 (not 1) against the incumbent, trained there with two seeds
    assert trained == [
        ("lr", "1", "0.02", "0"),
        ("lr", "1", "0.02", "1"),
        ("lr", "1", "1e-07", "0"),
        ("lr", "1", "1e-07", "1"),
        ("lr-carried", "2", "0.02", "0"),
        ("lr-carried", "2", "0.02", "1"),
        ("lr-carried", "2", "1e-07", "0"),
    ] + ([("lr-carried", "2", "1e-07", "1")] if len(trained) == 8 else [])  # (confirmed if it looked better)
    phase_runs = mlflow.search_runs(
        experiment_names=["race"],
        filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'",
        output_format="list",
    )
    race = next(r for r in phase_runs if r.data.tags["phase"] == "lr").data.tags
    assert race["outcome/ssd_mobilenet_v2_320x320"] == "carried"
    assert '"batch_size": 1.0' in race["reference/ssd_mobilenet_v2_320x320"]
    assert race["winner_reason/ssd_mobilenet_v2_320x320"].startswith("carried lr 1e-07 · batch 1 to the incumbent")
    test = next(r for r in phase_runs if r.data.tags["phase"] == "lr-carried").data.tags
    final = yaml.safe_load(
        mlflow.MlflowClient().get_run(result.parent_run_id).data.tags["final_config/ssd_mobilenet_v2_320x320"]
    )
    assert final["batch_size"] == 2  # whatever the test decided, batch 1 is never carried on
    assert final["learning_rate"] == (1e-7 if test["outcome/ssd_mobilenet_v2_320x320"] == "switched" else 0.02)
