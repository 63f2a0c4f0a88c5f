"""Stores outlive versions: a sweep stored by an earlier version of this project still reports."""

import gzip
import shutil
import sqlite3
from pathlib import Path

import mlflow
import pytest

from burgerfries.jobs.report import report

STORES = Path(__file__).parents[1] / "fixtures" / "stored_sweeps"


def open_store(name: str, folder: Path) -> str:
    """The stored sweep, copied, its artefact paths pointed into `folder`; its parent run's id."""
    path = folder / f"{name}.db"
    with gzip.open(STORES / f"{name}.db.gz") as packed, open(path, "wb") as unpacked:
        shutil.copyfileobj(packed, unpacked)
    artifacts = (folder / "artifacts").as_uri()
    with sqlite3.connect(path) as store:
        store.execute("UPDATE experiments SET artifact_location = ? || '/' || experiment_id", (artifacts,))
        store.execute("UPDATE runs SET artifact_uri = ? || '/' || run_uuid", (artifacts,))
        store.execute("UPDATE params SET value = ? WHERE key = 'data'", (str(folder / "no-data"),))
        (parent,) = store.execute("SELECT run_uuid FROM tags WHERE key = 'sweep_role' AND value = 'study'").fetchall()
    return parent[0]


@pytest.mark.parametrize("name", ["stored_81a8584", "stored_1c5079f"])
def test_a_stored_sweep_reports_with_todays_code(name, tmp_path, monkeypatch):
    parent = open_store(name, tmp_path)
    uri = f"sqlite:///{tmp_path / f'{name}.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    built = report(run_id=parent, out=tmp_path / "report")
    page = built.path.read_text()
    for heading in ("The answer", "1. Phases", "2. Recall", "3. The finalists on the held-out split"):
        assert heading in page, heading
    assert "1:0.5" in page and "0.08" in page  # both phases' points (labelled as each version labelled them)
    assert "No diagnostics" in page  # its data folder is not on this machine: said, not a crash
    assert built.headline.startswith("**Pick: ssd_mobilenet_v2_320x320")
    assert {"report"} <= {a.path for a in mlflow.MlflowClient().list_artifacts(parent)}
