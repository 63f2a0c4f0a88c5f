import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def tracking_uri(tmp_path, monkeypatch):
    """Each test that tracks gets its own sqlite store, never the user's mlflow.db."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
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
    prepare_dataset("synthetic", out, num_images=12, seed=2, progress=False)
    return out


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found (the read-only fixtures live beside the checkout)")
    return SHARED
