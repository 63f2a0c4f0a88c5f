"""Rebuild a trained detector from an MLflow run: its effective config (pipeline.yaml) and a
checkpoint — the local checkpoint folder when this machine has it, else the run's artifacts."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import tensorflow as tf
import yaml
from mlflow.exceptions import MlflowException

from burgerfries.keys import LABEL_MAP, Tag
from burgerfries.model.ssd import Detector, build_detector
from burgerfries.training.checkpoints import checkpoint_step, make_checkpoint


class RunError(ValueError):
    """A run that cannot give a detector; the message names the run and what is missing."""


@dataclass
class TrainedRun:
    run_id: str
    detector: Detector
    checkpoint: str
    step: int
    label_map_path: Path | None


def _checkpoint_folder(client: mlflow.MlflowClient, run: mlflow.entities.Run, scratch: Path) -> Path:
    """The local checkpoint folder when this machine has it; else the kept weights' checkpoint,
    from the run's logged model (or, for runs logged before there were any, its `checkpoint` artifact)."""
    local = run.data.tags.get(Tag.CHECKPOINT_DIR)
    if local and tf.train.latest_checkpoint(local):
        return Path(local)
    model_id = run.data.tags.get(Tag.CHECKPOINT_MODEL)
    try:
        if model_id:
            uri = f"models:/{model_id}/artifacts/checkpoint"
            return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(scratch)))
        return Path(client.download_artifacts(run.info.run_id, "checkpoint", str(scratch)))
    except (MlflowException, OSError) as error:
        raise RunError(
            f"run {run.info.run_id} has no checkpoint (neither {local or 'a local checkpoint_dir'} "
            "nor a logged model or 'checkpoint' artifact) — did its training finish a step?"
        ) from error


def _kept_checkpoint(run: mlflow.entities.Run) -> str | None:
    """The local prefix of the weights the run kept (training/peak_weights.py), where this machine has it."""
    kept = run.data.tags.get(Tag.KEPT_CHECKPOINT)
    return kept if kept and Path(f"{kept}.index").is_file() else None


def logged_run(run_id: str) -> mlflow.entities.Run:
    """The run, or RunError naming the tracking store that lacks it."""
    try:
        return mlflow.MlflowClient().get_run(run_id)
    except MlflowException as error:
        raise RunError(f"run {run_id!r} not found in {mlflow.get_tracking_uri()}") from error


def logged_config(run_id: str, scratch: Path) -> dict:
    """The effective config the run trained with (its pipeline.yaml artifact)."""
    try:
        config_path = mlflow.MlflowClient().download_artifacts(run_id, "pipeline.yaml", str(scratch))
    except (MlflowException, OSError) as error:
        raise RunError(f"run {run_id} has no pipeline.yaml artifact — is it a burgerfries training run?") from error
    return yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))


def load_trained_run(run_id: str, step: int | None = None, scratch: Path | None = None) -> TrainedRun:
    client = mlflow.MlflowClient()
    run = logged_run(run_id)
    scratch = Path(scratch or tempfile.mkdtemp(prefix="burgerfries-run-"))
    config = logged_config(run_id, scratch)
    folder = _checkpoint_folder(client, run, scratch)
    state = tf.train.get_checkpoint_state(str(folder))
    if state is None or not state.all_model_checkpoint_paths:
        raise RunError(f"run {run_id}: {folder} holds no checkpoint")
    candidates = {checkpoint_step(p): str(folder / Path(p).name) for p in state.all_model_checkpoint_paths}
    kept = _kept_checkpoint(run)
    if kept is not None:
        # A peak kept before the run's end lives beside its checkpoints. Asked for by its step, the
        # folder's own checkpoint of that step wins where it is still there: the same weights, and
        # also the optimizer and average a reader such as bench/weight_average.py restores.
        candidates.setdefault(checkpoint_step(kept), kept)
    if step is None and kept is not None:  # the weights the run kept
        step, prefix = checkpoint_step(kept), kept
    else:  # a step asked for; or a run from before kept weights: its last
        step = max(candidates) if step is None else step
        if step not in candidates:
            raise RunError(f"run {run_id} has no checkpoint at step {step}; it has steps {sorted(candidates)}")
        prefix = candidates[step]
    detector = build_detector(config)
    step_var = tf.Variable(0, dtype=tf.int64)
    make_checkpoint(detector.model, None, step_var).restore(prefix).expect_partial()
    label_map = None
    try:
        label_map = Path(client.download_artifacts(run_id, LABEL_MAP, str(scratch)))
    except (MlflowException, OSError):
        pass
    return TrainedRun(run_id, detector, prefix, step, label_map)
