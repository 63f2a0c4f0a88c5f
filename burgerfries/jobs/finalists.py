"""The finalists' diagnostics for the report: each finalist run's detector, rebuilt from its
checkpoint, run again on its data folder's held-out split; the diagnostics logged on the run
under diagnostics/ (so the MLflow UI shows them too) and returned for the report page.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow

from burgerfries.data.folder import eval_record_in
from burgerfries.evaluation.diagnostics import FinalistDiagnostics, diagnose
from burgerfries.evaluation.drawing import side_by_side
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.trained_run import RunError, load_trained_run

WORST_IMAGES = 3
ALL_IMAGES = 10**6  # keep every eval image decoded: the worst ones can be anywhere in the split


def finalist_diagnostics(run_id: str, score_threshold: float, scratch: Path) -> FinalistDiagnostics | None:
    """None when this machine has not the run's data folder or checkpoint (the report says so)."""
    client = mlflow.MlflowClient()
    data = client.get_run(run_id).data.params.get("data", "")
    if eval_record_in(data) is None:
        return None
    try:
        trained = load_trained_run(run_id, scratch=scratch / run_id)
    except RunError:
        return None
    evaluation = Evaluation(Path(data), score_threshold=score_threshold, num_images=ALL_IMAGES)
    _, detections = evaluation.predict(trained.detector)
    result = diagnose(evaluation.truths, detections, evaluation.class_names, score_threshold)
    worst = sorted(range(len(result.wrong)), key=lambda index: -result.wrong[index])[:WORST_IMAGES]
    worst = [index for index in worst if result.wrong[index] > 0]
    pictures = [
        side_by_side(evaluation.truths[index], detections[index], evaluation.class_names, score_threshold)
        for index in worst
    ]
    client.log_text(run_id, result.pr.to_csv(index=False), "diagnostics/precision_recall.csv")
    client.log_text(run_id, result.f1.to_csv(index=False), "diagnostics/f1_by_threshold.csv")
    client.log_text(run_id, result.confusion.to_csv(), "diagnostics/confusion.csv")
    summary = {"ap50": result.ap50, "best_threshold": result.best_threshold, "score_threshold": score_threshold}
    client.log_text(run_id, json.dumps(summary, indent=1), "diagnostics/summary.json")
    for rank, picture in enumerate(pictures, start=1):
        client.log_image(run_id, picture, f"diagnostics/worst_{rank}.png")
    return FinalistDiagnostics(result, pictures)
