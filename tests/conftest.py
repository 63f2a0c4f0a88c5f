import os
from pathlib import Path

import pytest

import burgerfries  # noqa: F401  (before any test imports TensorFlow: it sets TF_ENABLE_ONEDNN_OPTS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def tracking_uri(tmp_path, monkeypatch):
    """Each test that tracks gets its own sqlite store, never the user's mlflow.db."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    # mlflow.set_experiment writes MLFLOW_EXPERIMENT_ID into this process's environment: an id of
    # an earlier test's store, which the commands a test starts would inherit and honour
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    import mlflow

    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory):
    """12 synthetic scenes through data_prep, shared read-only by the tests that train on them."""
    from burgerfries.data.prepare import prepare_dataset

    out = tmp_path_factory.mktemp("synthetic_data")
    prepare_dataset("synthetic", out, num_images=12, seed=2, eval_images=0, progress=False)
    return out


@pytest.fixture(scope="session")
def exported_run(tmp_path_factory, synthetic_data):
    """One tiny trained run, exported once through the CLI (registered as `burgers`, and with a
    Space folder when the demo extra is installed), shared by the export and demo tests."""
    import importlib.util

    import mlflow

    from burgerfries.cli import main
    from burgerfries.jobs.train import TrainSettings, train

    root = tmp_path_factory.mktemp("exported_run")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.delenv("MLFLOW_RUN_ID", raising=False)
        mlflow.set_tracking_uri(uri)
        # SSD: a tiny FPNLite run (mAP@0.5 ≈ 0.04) is too near chance for the export's 0.01 check
        # (its TFLite file scored 0.003); a real FPNLite run's export agrees (cards: 0.528, 0.528, 0.527)
        settings = TrainSettings(
            data=synthetic_data,
            model="ssd_mobilenet_v2_320x320",
            profile="tiny",
            num_steps=8,
            batch_size=2,
            eval_every=0,
            checkpoint_root=root / "ck",
        )
        run_id = train(settings, progress=False).run_id
        command = ["export", "--run-id", run_id, "--out", str(root / "out"), "--register", "burgers"]
        if importlib.util.find_spec("gradio") is not None:
            command += ["--space", str(root / "space")]
        assert main(command) == 0
    return {
        "root": root,
        "uri": uri,
        "data": synthetic_data,
        "run_id": run_id,
        "out": root / "out",
        "space": root / "space",
    }


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found (the read-only fixtures live beside the checkout)")
    return SHARED
