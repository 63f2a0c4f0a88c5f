"""The `export` job: SavedModel, TFLite and label map from a run's checkpoint, each checked on the
run's eval split against the checkpoint; the MLflow pyfunc model logged into that run (optionally
registered); optionally a Hugging Face Space folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import tensorflow as tf
from mlflow.entities import Metric

from burgerfries.data.folder import eval_record_in
from burgerfries.export.check import export_map_50, export_problems
from burgerfries.export.loading import ExportError
from burgerfries.export.saved_model import save_saved_model, save_tflite
from burgerfries.jobs.demo import MODEL_INFO, write_space
from burgerfries.jobs.pyfunc_model import SIGNATURE, DetectorModel, input_example
from burgerfries.jobs.trained_run import load_trained_run
from burgerfries.keys import EVAL_RECORD, LABEL_MAP


class ExportCheckError(ExportError):
    """An exported artifact scores clearly below the checkpoint it came from."""


def run_data_folder(run_id: str, data: Path | None) -> Path:
    """The data folder whose eval split checks the export: `data`, else the one the run trained on."""
    if data is None:
        recorded = mlflow.MlflowClient().get_run(run_id).data.params.get("data")
        if not recorded:
            raise ExportError(f"run {run_id} records no data folder; pass --data DIR to check the export")
        data = Path(recorded)
    if eval_record_in(data) is None:
        raise ExportError(
            f"{Path(data) / EVAL_RECORD}: not found — the export is checked on the run's eval split; "
            "pass --data DIR (a data_prep folder) if the run's data lives elsewhere"
        )
    return Path(data)


def export_run(
    run_id: str, out: Path, register: str | None = None, data: Path | None = None, space: Path | None = None
) -> dict[str, object]:
    """Write saved_model/, model.tflite, label_map.pbtxt and model_info.json to `out`, check both
    artifacts against the checkpoint on the eval split, log the MLflow model, and (with `space`)
    write a Hugging Face Space folder."""
    trained = load_trained_run(run_id)  # first: an unknown run or one without a checkpoint is named as such
    data = run_data_folder(run_id, data)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    saved_model = save_saved_model(trained.detector, out / "saved_model")
    tflite = save_tflite(trained.detector, out / "model.tflite")
    if trained.label_map_path:
        shutil.copy(trained.label_map_path, out / LABEL_MAP)
        shutil.copy(trained.label_map_path, saved_model / LABEL_MAP)
    scores = export_map_50(trained.detector, saved_model, tflite, data)
    client = mlflow.MlflowClient()
    client.log_batch(
        run_id,
        metrics=[
            Metric(f"export/mAP_50_{artifact}", value, 0, trained.step)
            for artifact, value in scores.items()
            if value is not None
        ],
    )
    problems = export_problems(scores)
    if problems:
        raise ExportCheckError("; ".join(problems) + f" (files kept in {out} for inspection)")
    info = model_info(run_id, trained.step, scores["checkpoint"])
    (out / MODEL_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
    model_uri = log_pyfunc_model(run_id, saved_model, tflite, trained.detector.image_size, register)
    written: dict[str, object] = {
        "saved_model": saved_model,
        "tflite": tflite,
        "label_map": out / LABEL_MAP,
        "model_uri": model_uri,
        "mAP_50": scores,
    }
    if space is not None:
        written["space"] = write_space(Path(space), saved_model, info, data)
    return written


def model_info(run_id: str, step: int, map_50: float | None) -> dict[str, object]:
    """What a demo page says about the model: its run, model name and eval mAP@0.5."""
    params = mlflow.MlflowClient().get_run(run_id).data.params
    return {"run_id": run_id, "model": params.get("model", ""), "step": step, "eval_mAP_50": map_50}


def log_pyfunc_model(
    run_id: str, saved_model: Path, tflite: Path, image_size: tuple[int, int], register: str | None
) -> str:
    example = input_example(image_size)
    with mlflow.start_run(run_id=run_id):
        logged = mlflow.pyfunc.log_model(
            name="model",
            python_model=DetectorModel(),
            artifacts={"saved_model": str(saved_model)},
            signature=SIGNATURE,
            input_example=example,  # (MLflow checks the model answers it)
            # Named, not inferred: MLflow infers requirements by loading the model in a subprocess.
            pip_requirements=[f"tensorflow=={tf.__version__}", f"mlflow=={mlflow.__version__}", "pandas", "pillow"],
            registered_model_name=register,
        )
        mlflow.log_artifact(str(tflite), "export")
        mlflow.set_tag("exported_model_uri", logged.model_uri)
    return logged.model_uri
