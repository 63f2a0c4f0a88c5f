"""A sweep's MLflow runs: one parent run for the study, one child run per phase, the trials as
grandchildren; winners and the final pick recorded as tags."""

from __future__ import annotations

import json
import os
from typing import Any

import mlflow

from burgerfries.sweep.definition import Phase, StudyDefinition
from burgerfries.tracking import log_params


class SweepRuns:
    def __init__(self, definition: StudyDefinition, key: str):
        self.definition = definition
        self.key = key  # the same study, data, profile and repeats → the same key → the same parent run
        self.client = mlflow.MlflowClient()
        self.experiment_id = ""  # set when the parent run starts

    def _find_run(self, filter_string: str) -> str | None:
        runs = self.client.search_runs(
            [self.experiment_id], filter_string, max_results=1, order_by=["attributes.start_time DESC"]
        )
        return runs[0].info.run_id if runs else None

    def start_parent(self, params: dict[str, Any]) -> str:
        """Start the study's parent run, or resume the unfinished one with the same sweep key.

        Under `mlflow run`, MLflow has already created a run (MLFLOW_RUN_ID) in the experiment it
        was given: a fresh sweep uses it as the parent; a resumed sweep tags it with the parent it
        continues and goes on under that parent, so one study keeps one parent run.
        """
        entry_run = os.environ.get("MLFLOW_RUN_ID")
        if entry_run:
            self.experiment_id = self.client.get_run(entry_run).info.experiment_id
        else:
            self.experiment_id = mlflow.set_experiment(self.definition.name).experiment_id
        existing = self._find_run(f"tags.sweep_key = '{self.key}' and tags.sweep_role = 'study'")
        if existing and existing != entry_run:
            print(f"resuming sweep {self.definition.name} (parent run {existing})")
            if entry_run:
                self.client.set_tag(entry_run, "continues_sweep", existing)
                # MLflow would otherwise resume the entry run whenever a run starts without an id
                del os.environ["MLFLOW_RUN_ID"]
            return mlflow.start_run(run_id=existing).info.run_id
        run = mlflow.start_run(
            run_name=None if entry_run else f"sweep {self.definition.name}",
            tags={
                "sweep_key": self.key,
                "sweep_role": "study",
                "study": self.definition.name,
                "profile": params["profile"],
                "analysis": json.dumps(self.definition.analysis.as_dict()),
                "selection": json.dumps(self.definition.selection),
            },
        )
        if not existing:
            log_params(params)
            mlflow.log_text(self.definition.text, "study.yaml")
        return run.info.run_id

    def start_phase(self, parent_id: str, phase: Phase) -> str:
        # The phase name is the user's: compared here, never written into a filter string.
        children = self.client.search_runs(
            [self.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'", order_by=["attributes.start_time DESC"]
        )
        existing = next((run for run in children if run.data.tags.get("phase") == phase.name), None)
        if existing:
            return mlflow.start_run(run_id=existing.info.run_id, nested=True).info.run_id
        return mlflow.start_run(
            run_name=f"phase {phase.name}",
            nested=True,
            tags={"phase": phase.name, "sweep_role": "phase", "study": self.definition.name},
        ).info.run_id

    def mark_killed(self, run_ids: list[str]) -> None:
        """Runs of trials whose process died: KILLED, with the reason."""
        for run_id in run_ids:
            if self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_terminated(run_id, "KILLED")
                self.client.set_tag(run_id, "killed_reason", "sweep process died; trial re-queued on resume")

    def record_winner(self, phase_id: str, model: str, won: dict[str, Any]) -> None:
        self.client.set_tag(phase_id, f"winner/{model}", won["run_id"])
        self.client.set_tag(phase_id, f"winner_reason/{model}", won["reason"][:5000])
        self.client.set_tag(phase_id, f"winner_config/{model}", json.dumps(won["config"]))

    def record_final(self, parent_id: str, model: str, run_id: str, config: dict[str, Any], reason: str) -> None:
        self.client.set_tag(parent_id, f"final/{model}", run_id)
        self.client.set_tag(parent_id, f"final_config/{model}", json.dumps(config))
        self.client.set_tag(parent_id, f"final_reason/{model}", reason[:5000])
