"""The Python API: what the `burgerfries` commands do, callable from a script or a notebook.

`from burgerfries import train` gives `train` below; `burgerfries train` parses its flags and calls
the same function, so a run started either way has the same plan, parameters, artefacts and
metrics (tests/jobs/test_api.py trains both on one folder and compares them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from burgerfries.tf_startup import start_tensorflow


def train(data: str | Path, *, run_id: str | None = None, **settings: Any):
    """Train one detector on `data` — a data_prep folder, or a LabelImg folder (prepared once into
    `data/prepared-<content hash>`, a data_prep run) — evaluating it on the folder's validation
    photos at the plan's evaluation steps and the weights it keeps (where that curve peaked) once
    on the test photos, tracked in one MLflow run; `run_id` resumes that run from its last
    checkpoint. Returns the `TrainResult` (run id, steps, losses, validation metrics, test metrics,
    detector, the kept weights' checkpoint).
    It prints what `burgerfries train` prints — the run's length and start, the MLflow UI link,
    progress, the last losses and both evaluations — which adds only the run id as its last line.

    `settings` are `TrainSettings`' fields (`model`, `batch_size`, `learning_rate`,
    `classification_weight`, `localization_weight`, `num_steps`, `epochs`, `profile`, `seed`,
    `weights`, `restore`, `checkpoint_every`, `eval_every`, `overrides`, `experiment`,
    `system_metrics`, `input_size`, …); each left out keeps its default (`jobs/train_plan.py`): the
    model YAML's value, the smoke profile, the shipped weights — but `input_size`, which is `auto`
    here as in `burgerfries train` (chosen from the training boxes, `model/input_size.py`).
    """
    start_tensorflow()
    from burgerfries.data.folder import TEST, VALIDATION
    from burgerfries.evaluation.evaluator import Evaluation
    from burgerfries.jobs import train as train_job
    from burgerfries.jobs.data_prep import resolve_data
    from burgerfries.jobs.train_plan import TrainSettings, resolve_train
    from burgerfries.model.input_size import AUTO

    settings.setdefault("input_size", AUTO)
    plan = resolve_train(TrainSettings(data=resolve_data(Path(data)), **settings))
    evaluator = Evaluation(plan.folder, split=VALIDATION)  # refuses a folder without validation photos
    return train_job.train(plan, evaluator=evaluator, run_id=run_id, test_evaluator=Evaluation(plan.folder, split=TEST))
