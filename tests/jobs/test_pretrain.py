"""`burgerfries pretrain` end to end on a tiny set: a tracked run, weights in the OD API's layout
with their provenance, and a task run that fine-tunes from them."""

import json

import mlflow

from burgerfries.cli import main
from burgerfries.pretrained import PROVENANCE, file_sha256


def test_pretrain_writes_weights_and_provenance_that_train_fine_tunes_from(tracking_uri, tmp_path, synthetic_data):
    out = tmp_path / "weights"
    argv = ["pretrain", "--profile", "tiny", "--num-images", "6", "--eval-images", "3", "--num-steps", "2"]
    assert main([*argv, "--data", str(tmp_path / "set"), "--out", str(out), "--batch-size", "2"]) == 0
    provenance = json.loads((out / PROVENANCE).read_text())
    assert provenance["data"]["num_images"] == {"train": 6, "validation": 0, "eval": 3} and provenance["steps"] == 2
    assert {"eval/mAP_50", "eval/AR_100"} <= set(provenance["held_out"])
    assert provenance["sha256"] == {p.name: file_sha256(p) for p in out.iterdir() if p.name != PROVENANCE}
    run = mlflow.MlflowClient().get_run(provenance["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert mlflow.get_experiment(run.info.experiment_id).name == "pretrain"
    logged = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "pretrained")}
    assert {f"pretrained/{name}" for name in provenance["sha256"]} | {f"pretrained/{PROVENANCE}"} == logged
    # the drawn set is reused while its seed and sizes match: its records are not written again
    records = sorted((tmp_path / "set").glob("*.record"))
    written = [record.stat().st_mtime_ns for record in records]
    assert main([*argv, "--data", str(tmp_path / "set"), "--out", str(out), "--batch-size", "2"]) == 0
    assert records and [record.stat().st_mtime_ns for record in records] == written
    runs = mlflow.search_runs(experiment_names=["pretrain"], output_format="list")
    assert len({r.data.tags["dataset_hash"] for r in runs}) == 1 and len(runs) == 2
    # fine-tune the two-class task from it: feature extractor restored, box predictor left
    train = ["train", "--data", str(synthetic_data), "--profile", "tiny", "--num-steps", "1", "--batch-size", "2"]
    assert main([*train, "--weights", str(out)]) == 0
    (task,) = mlflow.search_runs(experiment_names=["train"], output_format="list")
    assert task.data.tags["initial_weights"].startswith("OD API checkpoint")
    assert task.data.metrics["init/skipped_variables"] > 0 and task.data.params["restore"] == "detection"


def test_resume_finds_the_newest_unfinished_pretraining_of_this_model_profile_and_data(tracking_uri):
    from burgerfries.jobs.pretrain import EXPERIMENT, PretrainSettings, run_to_resume

    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment(EXPERIMENT)
    settings = PretrainSettings(profile="tiny")
    tags = {"role": "pretrain", "model": settings.model, "profile": "tiny", "dataset_hash": "abc"}
    assert run_to_resume(settings, "abc") is None
    finished = client.create_run(experiment_id, tags=tags, start_time=1).info.run_id
    client.set_terminated(finished, "FINISHED")
    assert run_to_resume(settings, "abc") is None  # a finished pretraining is not resumed
    killed = client.create_run(experiment_id, tags=tags, start_time=2).info.run_id
    client.set_terminated(killed, "KILLED")
    other_data = client.create_run(experiment_id, tags={**tags, "dataset_hash": "xyz"}, start_time=3).info.run_id
    assert run_to_resume(settings, "abc") == killed  # the newer unfinished run is of other data
    assert run_to_resume(settings, "xyz") == other_data
    running = client.create_run(experiment_id, tags=tags, start_time=4).info.run_id  # its process was killed -9
    assert run_to_resume(settings, "abc") == running
