"""The whole CLI path a user takes on synthetic data: data-prep → train → evaluate → export → predict."""

import mlflow

from burgerfries.cli import main


def last_line(capsys):
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_cli_end_to_end(tracking_uri, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["data-prep", "--out", "data", "--num-images", "8", "--eval-images", "3"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "train",
                "--data",
                "data",
                "--profile",
                "tiny",
                "--num-steps",
                "4",
                "--batch-size",
                "2",
                "--eval-every",
                "2",
            ]
        )
        == 0
    )
    run_id = last_line(capsys)
    assert main(["evaluate", "--run-id", run_id, "--data", "data", "--step", "2"]) == 0
    assert last_line(capsys) == run_id
    assert main(["export", "--run-id", run_id, "--out", "export"]) == 0
    assert last_line(capsys).endswith("export")
    image = next((tmp_path / "data" / "synthetic_source").rglob("*.jpg"))
    assert main(["predict", str(image), "--model", f"runs:/{run_id}/model", "--out", "pictures"]) == 0
    assert (tmp_path / "pictures" / f"{image.stem}.png").is_file()
    # a run that is not a training run cannot be evaluated, and says why
    data_prep_run = mlflow.search_runs(experiment_names=["data_prep"], output_format="list")[0].info.run_id
    assert main(["evaluate", "--run-id", data_prep_run, "--data", "data"]) == 1
    assert "no pipeline.yaml" in capsys.readouterr().err
