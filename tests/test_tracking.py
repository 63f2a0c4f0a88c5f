"""Tracking helpers that guard against MLflow's own races."""

from unittest import mock

import mlflow
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
