"""A training run's evaluated checkpoints as MLflow logged models (MLflow 3's Models tab,
`mlflow.search_logged_models`): one per evaluation, its eval metrics linked to it and to the eval
dataset; the weights the run keeps (`training/peak_weights.py`: its last ones, or the validation
curve's peak before them) are stored in the pyfunc flavour (`CheckpointModel`); the best by the
decision metric is tagged.

Only the kept weights' files are stored: the last evaluation's logged model holds them when the
run keeps its last weights; a peak before the end is stored in a logged model of its own
(`<model>-step-N-kept`), since the peak's evaluation model was made "external" when it was
evaluated. Other checkpoints stay where training keeps them for resuming (the newest two of a
resumable run), and their logged models are MLflow's "external" kind, tagged with the
checkpoint's path while it exists.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import mlflow
import tensorflow as tf
import yaml
from mlflow.entities import LoggedModelOutput, LoggedModelStatus

from burgerfries import __version__
from burgerfries.decision.settings import OBJECTIVES
from burgerfries.jobs.pyfunc_model import SIGNATURE, CheckpointModel, input_example
from burgerfries.keys import Tag
from burgerfries.tracking import quiet_mlflow
from burgerfries.training.checkpoints import checkpoint_step
from burgerfries.training.peak_weights import KeptWeights, at_least_as_good

MODEL_TYPE = "ssd-checkpoint"
# Named, not inferred (MLflow infers by loading the model in a subprocess); the model code is this package's.
REQUIREMENTS = [f"burgerfries=={__version__}", f"tensorflow=={tf.__version__}", "pandas", "pillow"]
# What marks the best checkpoint when the decision metric cannot be read at one (Objective.eval_key)
FALLBACK_OBJECTIVE = "mAP_50"


def objective_key(objective: str) -> tuple[str, bool]:
    """The evaluation metric that ranks a run's checkpoints by `objective`, and whether higher is better."""
    chosen = OBJECTIVES[objective] if OBJECTIVES[objective].eval_key else OBJECTIVES[FALLBACK_OBJECTIVE]
    return chosen.eval_key, chosen.higher_is_better


def best_step(eval_metrics: Mapping[int, Mapping[str, float]], objective: str) -> tuple[int, str] | None:
    """The evaluated step with the best value of `objective` (the latest among equal ones, as the
    run's peak weights are chosen) and the metric it was read from; None when no evaluation logged it."""
    key, higher = objective_key(objective)
    scored = [(step, metrics[key]) for step, metrics in sorted(eval_metrics.items()) if key in metrics]
    if not scored:
        return None
    best = scored[0]
    for step, value in scored[1:]:
        if at_least_as_good(value, best[1], higher):
            best = (step, value)
    return best[0], key


class CheckpointModels:
    """The logged models of one training run, created as its evaluations come in."""

    def __init__(self, run_id: str, model: str, params: Mapping[str, object]):
        self.run_id = run_id
        self.model = model
        self.params = {key: str(value) for key, value in params.items()}
        self.ids: dict[int, str] = {}  # step → logged model id

    def model_for(self, step: int, last: bool) -> str:
        """The logged model of the checkpoint evaluated at `step` (created on the first call): the
        last one waits for its files (`finish`), the others are external from the start."""
        if step not in self.ids:
            create = mlflow.initialize_logged_model if last else mlflow.create_external_model
            logged = create(
                name=f"{self.model}-step-{step}",
                source_run_id=self.run_id,
                params=self.params,
                model_type=MODEL_TYPE,
                tags={"step": str(step)},
            )
            self.ids[step] = logged.model_id
            mlflow.MlflowClient().log_outputs(self.run_id, [LoggedModelOutput(logged.model_id, step)])
        return self.ids[step]

    def finish(
        self,
        step: int,
        checkpoint: str,
        kept: list[str],
        config: dict,
        label_map: Path,
        image_size: tuple[int, int],
        eval_metrics: Mapping[int, Mapping[str, float]],
        objective: str,
        peak: KeptWeights | None = None,
    ) -> str:
        """Store the kept weights (prefix `checkpoint`, with its effective `config`) as a pyfunc
        model: the last evaluation's model (at `step`), or a model of its own where `peak` says the
        run keeps a peak before its end; tag every evaluated checkpoint with its path while `kept`
        lists it, and the best one by `objective`; the stored model's id."""
        client = mlflow.MlflowClient()
        peak_before_end = peak is not None and peak.is_peak_before_end
        stored_id = self._peak_model(peak) if peak_before_end else self.model_for(step, last=True)
        with tempfile.TemporaryDirectory(prefix="burgerfries-model-") as scratch:
            files = Path(scratch) / "checkpoint"
            files.mkdir()
            for path in Path(checkpoint).parent.glob(f"{Path(checkpoint).name}.*"):
                _link_or_copy(path, files / path.name)
            name = Path(checkpoint).name  # the folder's index file, as tf.train.CheckpointManager writes it
            (files / "checkpoint").write_text(
                f'model_checkpoint_path: "{name}"\nall_model_checkpoint_paths: "{name}"\n', encoding="utf-8"
            )
            pipeline = Path(scratch) / "pipeline.yaml"
            pipeline.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            folder = Path(scratch) / "model"
            with quiet_mlflow("mlflow.pyfunc"):  # its notes on pickling and validating, per trial
                mlflow.pyfunc.save_model(
                    str(folder),
                    python_model=CheckpointModel(),
                    artifacts={"checkpoint": str(files), "pipeline": str(pipeline), "label_map": str(label_map)},
                    signature=SIGNATURE,
                    input_example=input_example(image_size),
                    pip_requirements=REQUIREMENTS,
                )
            client.log_model_artifacts(stored_id, str(folder))
        client.finalize_logged_model(stored_id, LoggedModelStatus.READY)
        by_step = {checkpoint_step(prefix): prefix for prefix in kept}
        stored_step = peak.step if peak_before_end else step
        for evaluated, model_id in self.ids.items():
            if evaluated == stored_step:
                where = "stored with this model" if model_id == stored_id else f"stored with logged model {stored_id}"
            else:
                where = by_step.get(evaluated, "not kept")
            client.set_logged_model_tags(model_id, {"checkpoint": where})
        best = best_step(eval_metrics, objective)
        if best is not None and best[0] in self.ids:
            client.set_logged_model_tags(self.ids[best[0]], {"best_by": best[1]})
            client.set_tag(self.run_id, Tag.BEST_CHECKPOINT, f"step {best[0]} by {best[1]}")
        client.set_tag(self.run_id, Tag.CHECKPOINT_MODEL, stored_id)
        return stored_id

    def _peak_model(self, peak: KeptWeights) -> str:
        """A logged model for the peak's weights, kept before the run's end (see the module)."""
        logged = mlflow.initialize_logged_model(
            name=f"{self.model}-step-{peak.step}-kept",
            source_run_id=self.run_id,
            params=self.params,
            model_type=MODEL_TYPE,
            tags={"step": str(peak.step), "kept": peak.describe()},
        )
        mlflow.MlflowClient().log_outputs(self.run_id, [LoggedModelOutput(logged.model_id, peak.step)])
        return logged.model_id


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)
