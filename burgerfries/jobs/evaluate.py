"""The `evaluate` job: evaluate a training run's checkpoint on a data folder and log `eval/*` at
the checkpoint's step, into that run or into a new run linked to it."""

from __future__ import annotations

import time
from pathlib import Path

import mlflow

from burgerfries.data.folder import DataFolder
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.trained_run import load_trained_run
from burgerfries.metrics import EVAL_SECONDS
from burgerfries.tracking import (
    SPLIT_CONTEXTS,
    MetricBuffer,
    configure_tracking,
    log_pictures,
    log_split_inputs,
    resolve_experiment,
    tracked_run,
)

EXPERIMENT = "evaluate"


def evaluate_run(
    run_id: str, data: Path, step: int | None = None, new_run: bool = False, experiment: str | None = None
) -> tuple[str, int, dict[str, float]]:
    """Returns (the run the metrics went to, the checkpoint step, the metrics)."""
    configure_tracking()
    trained = load_trained_run(run_id, step)
    folder = DataFolder.open(data)
    evaluation = Evaluation(folder)
    started = time.perf_counter()
    metrics = evaluation(trained.detector)
    metrics[EVAL_SECONDS] = time.perf_counter() - started
    digest = folder.hash

    def record(target: str) -> None:
        """The metrics at the checkpoint's step, linked to the eval split (logged as the run's input)."""
        dataset = log_split_inputs(data, digest, {"eval": SPLIT_CONTEXTS["eval"]}, target)["eval"] if digest else None
        with MetricBuffer(target) as buffer:
            buffer.log(metrics, trained.step, dataset=dataset)

    if new_run:
        with tracked_run(
            resolve_experiment(experiment, EXPERIMENT),
            run_name=f"evaluate {run_id[:8]} step {trained.step}",
            tags={"evaluated_run_id": run_id, "data": str(Path(data).resolve())},
        ) as run:
            target = run.info.run_id
            log_pictures(evaluation.pictures(), f"eval_images/step_{trained.step}")
            record(target)
    else:
        target = run_id
        record(target)
        mlflow.MlflowClient().set_tag(run_id, "last_evaluated_data", str(Path(data).resolve()))
    return target, trained.step, metrics
