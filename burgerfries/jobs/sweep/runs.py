"""A sweep's MLflow runs: one parent run for the study, one child run per phase, the trials as
grandchildren; winners and the final pick recorded as tags. With several workers, each run is
created by one of them (through the `once` it is given) and joined by the others."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import mlflow

from burgerfries.keys import SweepRole, Tag, per_model
from burgerfries.sweep.definition import Phase, SweepDefinition
from burgerfries.tracking import USER_EXPERIMENT_ENV, activate_experiment, log_params


class SweepRuns:
    def __init__(self, definition: SweepDefinition, key: str, experiment: str | None):
        self.definition = definition
        self.key = key  # the same study, data, profile and repeats → the same key → the same parent run
        self.experiment = experiment  # None: MLFLOW_EXPERIMENT_ID's (SweepPlan.experiment)
        self.client = mlflow.MlflowClient()
        self.experiment_id = ""  # set when the parent run starts
        self.seen_failed: set[str] = set()

    def resolve_experiment_id(self) -> str:
        """Under `mlflow run`, the experiment MLflow already created the entry run in; else the plan's."""
        entry_run = os.environ.get("MLFLOW_RUN_ID")
        if entry_run:
            return self.client.get_run(entry_run).info.experiment_id
        if self.experiment is None:
            return mlflow.set_experiment(experiment_id=USER_EXPERIMENT_ENV["MLFLOW_EXPERIMENT_ID"]).experiment_id
        return activate_experiment(self.experiment)

    def find_parent(self) -> str | None:
        """The parent run of this sweep key, if one exists (for a worker that arrives after the end)."""
        runs = self.client.search_runs(
            [self.resolve_experiment_id()],
            f"tags.{Tag.SWEEP_KEY} = '{self.key}' and tags.{Tag.SWEEP_ROLE} = '{SweepRole.STUDY}'",
            max_results=1,
            order_by=["attributes.start_time DESC"],
        )
        return runs[0].info.run_id if runs else None

    def start_parent(self, params: dict[str, Any], once: Callable[[Callable[[], str]], str]) -> str:
        """Start the study's parent run, or join the one with the same sweep key.

        `once` makes exactly one worker (across processes and machines) create it; the others, and a
        rerun after a crash, go on under it. Under `mlflow run`, MLflow has already created a run
        (MLFLOW_RUN_ID): the worker that creates the parent uses it as the parent; any other tags
        it with the parent it continues, so one study keeps one parent run.
        """
        self.experiment_id = self.resolve_experiment_id()
        # Taken out of the environment here, in every worker: MLflow resumes MLFLOW_RUN_ID for any
        # run started without an id, and would turn the parent into the next phase or trial run.
        entry_run = os.environ.pop("MLFLOW_RUN_ID", None)

        def create() -> str:
            run = mlflow.start_run(
                run_id=entry_run,
                run_name=f"sweep {self.definition.name}",
                tags={
                    Tag.SWEEP_KEY: self.key,
                    Tag.SWEEP_ROLE: SweepRole.STUDY,
                    Tag.STUDY: self.definition.name,
                    Tag.PROFILE: params["profile"],
                    Tag.ANALYSIS: json.dumps(self.definition.analysis.as_dict()),
                    Tag.DECISION_SETTINGS: json.dumps(self.definition.decision.as_dict()),
                },
            )
            log_params(params)
            mlflow.log_text(self.definition.text, "study.yaml")
            return run.info.run_id

        parent_id = once(create)
        if mlflow.active_run() is None:  # created by another worker or an earlier process
            print(f"joining sweep {self.definition.name} (parent run {parent_id})")
            # (Local workers under `mlflow run` share the entry run, which one of them made the parent.)
            if entry_run and entry_run != parent_id:
                self.client.set_tag(entry_run, "continues_sweep", parent_id)
            mlflow.start_run(run_id=parent_id)
        return parent_id

    def start_phase(self, parent_id: str, phase: Phase, once: Callable[[Callable[[], str]], str]) -> str:
        """The phase's child run, created by one worker, joined by the others."""

        def create() -> str:
            return mlflow.start_run(
                run_name=f"phase {phase.name}",
                nested=True,
                tags={Tag.PHASE: phase.name, Tag.SWEEP_ROLE: SweepRole.PHASE, Tag.STUDY: self.definition.name},
            ).info.run_id

        phase_id = once(create)
        if mlflow.active_run().info.run_id != phase_id:
            mlflow.start_run(run_id=phase_id, nested=True)
        return phase_id

    def mark_killed(self, run_ids: list[str]) -> None:
        """Runs of trials whose process died: KILLED, with the reason (each run looked at once)."""
        for run_id in run_ids:
            if run_id in self.seen_failed:
                continue
            self.seen_failed.add(run_id)
            if self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_terminated(run_id, "KILLED")
                self.client.set_tag(run_id, Tag.KILLED_REASON, "sweep worker died; its trial was queued again")

    def mark_stopped_early(self, run_id: str, reason: str) -> None:
        """A trial its pruner stopped: KILLED (not FAILED: nothing went wrong), with the reason."""
        self.client.set_terminated(run_id, "KILLED")
        self.client.set_tag(run_id, Tag.STOPPED_EARLY, reason[:5000])

    def finished(self, run_id: str) -> bool:
        """Whether a run FINISHED (a dead worker's run may have, before Optuna recorded its trial)."""
        return self.client.get_run(run_id).info.status == "FINISHED"

    def record_winner(self, phase_id: str, model: str, won: dict[str, Any]) -> None:
        """The phase's decision for `model`: the run that represents the configuration carried on,
        kept, switched or (a race) carried, the evidence in words (also appended to the phase run's note)."""
        self.client.set_tag(phase_id, per_model(Tag.WINNER, model), won["run_id"])
        self.client.set_tag(phase_id, per_model(Tag.OUTCOME, model), won["outcome"])
        self.client.set_tag(phase_id, per_model(Tag.WINNER_REASON, model), won["reason"][:5000])
        self.client.set_tag(phase_id, per_model(Tag.WINNER_CONFIG, model), json.dumps(won["config"]))
        note = self.client.get_run(phase_id).data.tags.get(Tag.NOTE, "")
        self.client.set_tag(phase_id, Tag.NOTE, f"{note}\n\n**{model}**: {won['reason']}".strip())

    def record_reference(self, phase_id: str, model: str, reference: str) -> None:
        """A reference race's reference configuration (its config key): what the phase's points
        were compared with, read back by the report (`read_sweep`). Every worker writes the same."""
        self.client.set_tag(phase_id, per_model(Tag.REFERENCE, model), reference)

    def record_reused(self, phase_id: str, model: str, reused: dict[str, dict[str, Any]]) -> None:
        """Runs of earlier phases that this phase counts as its own ({run id: {label, point} here}):
        the same configuration and seed, trained once (the report reads them into this phase too).
        Called again when confirmation reuses more, it adds to what is recorded."""
        tag = per_model(Tag.REUSED, model)
        recorded = json.loads(self.client.get_run(phase_id).data.tags.get(tag, "{}"))
        self.client.set_tag(phase_id, tag, json.dumps({**recorded, **reused}))

    def record_nothing_to_find(self, parent_id: str, model: str, reason: str) -> None:
        """Why the sweep stopped tuning `model` before its last phase (on the sweep run, and in its note)."""
        self.client.set_tag(parent_id, per_model(Tag.NOTHING_TO_FIND, model), reason[:5000])
        note = self.client.get_run(parent_id).data.tags.get(Tag.NOTE, "")
        self.client.set_tag(parent_id, Tag.NOTE, f"{note}\n\n**{model}**: {reason}".strip())

    def record_final(self, parent_id: str, model: str, run_id: str, config: dict[str, Any], reason: str) -> None:
        self.client.set_tag(parent_id, per_model(Tag.FINAL, model), run_id)
        self.client.set_tag(parent_id, per_model(Tag.FINAL_CONFIG, model), json.dumps(config))
        self.client.set_tag(parent_id, per_model(Tag.FINAL_REASON, model), reason[:5000])
