"""`from burgerfries import train` does what `burgerfries train` does: on the same LabelImg folder
and seed, the same prepared data, parameters, artefacts and metrics."""

import math

import mlflow

import burgerfries
from burgerfries.cli import main

MODEL = "ssd_mobilenet_v2_320x320"
# Per-step losses of two runs of one seed in one process agree far closer than this; a run with
# another seed, batch or learning rate differs in its first step already (checked below).
LOSS_TOLERANCE = 1e-3


def run_facts(run_id: str) -> dict:
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    losses = {m.step: m.value for m in client.get_metric_history(run_id, "train/loss_total")}
    evaluated = sorted(m.step for m in client.get_metric_history(run_id, "eval/mAP_50"))
    artifacts = sorted(a.path for a in client.list_artifacts(run_id))
    return {"params": run.data.params, "losses": losses, "evaluated": evaluated, "artifacts": artifacts}


def test_the_python_api_and_the_cli_train_the_same_run(synthetic_data, tracking_uri, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = synthetic_data / "synthetic_source"  # a LabelImg folder: prepared once, then reused
    flags = ["--model", MODEL, "--profile", "tiny", "--num-steps", "4", "--batch-size", "2", "--eval-every", "2"]
    assert main(["train", "--data", str(folder), *flags, "--seed", "3"]) == 0
    from_cli = capsys.readouterr().out.strip().splitlines()[-1]
    settings = {"model": MODEL, "profile": "tiny", "num_steps": 4, "batch_size": 2, "eval_every": 2}
    result = burgerfries.train(folder, seed=3, **settings)
    assert "using data/prepared-" in capsys.readouterr().out  # the folder the CLI prepared, reused
    cli, api = run_facts(from_cli), run_facts(result.run_id)
    assert api["params"] == cli["params"]
    assert api["artifacts"] == cli["artifacts"] and "pipeline.yaml" in api["artifacts"]
    assert api["evaluated"] == cli["evaluated"] == [2, 4]
    assert sorted(api["losses"]) == [1, 2, 3, 4]
    for step, value in cli["losses"].items():
        assert math.isclose(api["losses"][step], value, rel_tol=LOSS_TOLERANCE), step
    other = run_facts(burgerfries.train(folder, seed=4, **settings).run_id)
    assert not math.isclose(other["losses"][1], cli["losses"][1], rel_tol=LOSS_TOLERANCE)
