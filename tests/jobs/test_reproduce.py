"""`burgerfries reproduce RUN_ID`: the run trained again from what it logged, into a new run
tagged with its source, compared against the noise of the runs beside it; refused when the data
changed."""

import json
import shutil

import mlflow
import pytest

from burgerfries.cli import main
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.reproduce import ReproduceError, reproduce_run
from burgerfries.jobs.train import TrainSettings, train


def test_a_run_is_trained_again_and_compared_with_the_noise(synthetic_data, tracking_uri, tmp_path, capsys):
    def settings(seed: int) -> TrainSettings:
        return TrainSettings(
            data=synthetic_data,
            profile="tiny",
            num_steps=4,
            batch_size=2,
            seed=seed,
            eval_every=0,
            checkpoint_root=tmp_path / "ck",
            system_metrics=False,
        )

    evaluation = Evaluation(synthetic_data)
    source = train(settings(0), evaluation, progress=False).run_id
    train(settings(1), evaluation, progress=False)  # the same configuration, another seed: the noise
    assert main(["reproduce", source]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    new_run = mlflow.MlflowClient().get_run(out[-1])
    original = mlflow.MlflowClient().get_run(source)
    assert new_run.data.tags["reproduces"] == source
    for key in ("model", "seed", "num_steps", "batch_size", "learning_rate", "train_config.batch_size"):
        assert new_run.data.params[key] == original.data.params[key], key
    assert new_run.info.experiment_id == original.info.experiment_id
    compared = [line for line in out if line.startswith(("mAP@0.5:", "eval loss (unweighted):"))]
    assert len(compared) == 2
    assert all("the noise (±" in line and "1 degrees of freedom, 1 configurations" in line for line in compared), out


def test_changed_data_is_refused(synthetic_data, tracking_uri, tmp_path):
    settings = TrainSettings(
        data=synthetic_data, profile="tiny", num_steps=2, batch_size=2, eval_every=0, checkpoint_root=tmp_path / "ck"
    )
    source = train(settings, progress=False).run_id
    moved = tmp_path / "moved"
    shutil.copytree(synthetic_data, moved)
    summary = json.loads((moved / "dataset.json").read_text())
    (moved / "dataset.json").write_text(json.dumps({**summary, "hash": "0" * 64}))
    with pytest.raises(ReproduceError, match="the data changed"):
        reproduce_run(source, data=moved)
