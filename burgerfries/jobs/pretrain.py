"""The `pretrain` job: train a model on the everyday-object pretraining set (not burger or fries;
`scenes/pretraining_scenes.py`), tracked like any run, and write a starting point for fine-tuning:
the weights in the OD API's variable layout plus `provenance.json` (command, code version, data
seed and size, steps, wall time, its own held-out mAP, sha256 of each file).

The shipped `smoke` weights (`burgerfries/pretrained/`) were made by this job; `--out
burgerfries/pretrained/<profile>/<model>` replaces them.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow

from burgerfries.data.folder import read_dataset_summary
from burgerfries.data.prepare import PRETRAINING, prepare_dataset
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.data_prep import is_labelimg_folder, resolve_data
from burgerfries.jobs.train import TrainSettings, train
from burgerfries.keys import Tag
from burgerfries.metrics import EVAL_AR_100, EVAL_MAP, EVAL_MAP_50
from burgerfries.model import DEFAULT_MODEL
from burgerfries.model.config import DEFAULT_PROFILE
from burgerfries.model.odapi_weights import save_odapi_checkpoint
from burgerfries.pretrained import NONE, PROVENANCE, file_sha256
from burgerfries.scenes.pretraining_scenes import PRETRAINING_EVAL_IMAGES, PRETRAINING_IMAGES, SCENES_VERSION
from burgerfries.tracking import code_version, configure_tracking, resolve_experiment

EXPERIMENT = "pretrain"
CHECKPOINT_EVERY = 500  # steps between checkpoints: a stopped pretraining loses at most this many
ROLE = "pretrain"


@dataclass
class PretrainSettings:
    model: str = DEFAULT_MODEL
    profile: str = DEFAULT_PROFILE
    out: Path | None = None  # None: pretrained/<profile>/<model>
    data: Path = Path("data") / "pretraining"  # the drawn set, reused while its seed and sizes match
    num_images: int = PRETRAINING_IMAGES
    eval_images: int = PRETRAINING_EVAL_IMAGES
    data_seed: int = 0
    num_steps: int | None = None  # None: the profile's
    batch_size: int | None = None  # None: the model YAML's
    learning_rate: float | None = None
    seed: int = 0
    experiment: str | None = None  # None: MLFLOW_EXPERIMENT_NAME/ID when set, else EXPERIMENT
    progress: bool = True
    # True: go on with the newest unfinished pretraining run of this model, profile and data
    # (killed, failed or still marked running) from its last checkpoint, instead of a new run
    resume: bool = False
    checkpoint_every: int = CHECKPOINT_EVERY


def _training_set(settings: PretrainSettings) -> tuple[Path, dict]:
    """The folder to pretrain on and its summary (dataset.json): a LabelImg folder (prepared once,
    `jobs/data_prep.py`) or another data_prep folder as it is; otherwise the drawn pretraining
    set in `settings.data`, drawn unless the folder already holds this seed and size."""
    if is_labelimg_folder(settings.data):
        data = resolve_data(settings.data)
        return data, read_dataset_summary(data)
    summary = read_dataset_summary(settings.data)
    if summary and summary.get("source") != PRETRAINING:
        print(f"pretraining on {settings.data}, a data_prep folder of {summary.get('source', 'unknown source')}")
        return settings.data, summary
    return settings.data, _drawn_set(settings, summary)


def _drawn_set(settings: PretrainSettings, summary: dict) -> dict:
    """The summary of the drawn pretraining set in `settings.data` (`summary`: what the folder
    holds now), drawn unless the folder already holds this seed and size."""
    if summary:
        wanted = {"train": settings.num_images, "eval": settings.eval_images}
        same = summary.get("source") == PRETRAINING and summary.get("seed") == settings.data_seed
        same = same and summary.get("scenes_version", 1) == SCENES_VERSION
        counts = summary.get("num_images", {})
        if same and {split: counts.get(split) for split in wanted} == wanted:
            print(f"pretraining set: reusing {settings.data} ({wanted['train']} + {wanted['eval']} scenes)")
            return summary
    if settings.data.exists():
        shutil.rmtree(settings.data)
    prepared = prepare_dataset(
        PRETRAINING,
        settings.data,
        seed=settings.data_seed,
        num_images=settings.num_images,
        eval_images=settings.eval_images,
        progress=settings.progress,
        # pretraining chooses nothing on held-out scenes (it evaluates on its eval split)
        validation_images=0,
        validation_fraction=0.0,
    )
    return prepared.summary


def run_to_resume(settings: PretrainSettings, dataset_hash: str) -> str | None:
    """The newest pretraining run of this model and profile on this data (by content hash) that
    did not finish, or None."""
    experiment = mlflow.get_experiment_by_name(resolve_experiment(settings.experiment, EXPERIMENT) or EXPERIMENT)
    if experiment is None:
        return None
    wanted = {"role": ROLE, Tag.MODEL: settings.model, Tag.PROFILE: settings.profile, Tag.DATASET_HASH: dataset_hash}
    runs = mlflow.search_runs(
        [experiment.experiment_id],
        filter_string=" and ".join(f"tags.{key} = '{value}'" for key, value in wanted.items())
        + " and attributes.status != 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    return runs[0].info.run_id if runs else None


def pretrain(settings: PretrainSettings) -> Path:
    """Train on the pretraining set and write the weights and their provenance; returns the folder."""
    started = time.monotonic()
    version = code_version()  # of the code that trains, not of the checkout when it ends
    data, dataset = _training_set(settings)
    out = Path(settings.out or Path("pretrained") / settings.profile / settings.model)
    resumed = None
    if settings.resume:
        configure_tracking()
        resumed = run_to_resume(settings, dataset["hash"])
        print(f"resuming pretraining run {resumed}" if resumed else "--resume: no unfinished run to resume; a new one")
    result = train(
        TrainSettings(
            data=data,
            model=settings.model,
            profile=settings.profile,
            num_steps=settings.num_steps,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            seed=settings.seed,
            experiment=settings.experiment or EXPERIMENT,
            run_name=f"pretrain {settings.model} {settings.profile}",
            weights=NONE,  # pretraining starts from scratch: it makes the starting points
            tags={"role": ROLE},
            checkpoint_every=settings.checkpoint_every,
        ),
        Evaluation(data),
        run_id=resumed,
        progress=settings.progress,
    )
    if out.exists():
        shutil.rmtree(out)
    save_odapi_checkpoint(result.detector.model, result.detector.ssd["feature_extractor"]["type"], out)
    held_out = result.eval_metrics.get(result.step, {})
    provenance = {
        "command": " ".join(sys.argv),
        "code_version": version,
        "model": settings.model,
        "profile": settings.profile,
        "classes": dataset["classes"],
        "data": {
            "source": dataset.get("source", PRETRAINING),
            "seed": dataset.get("seed", settings.data_seed),
            "num_images": dataset["num_images"],
            "hash": dataset["hash"],
        },
        "steps": result.step,
        "seed": settings.seed,
        "wall_seconds": round(time.monotonic() - started, 1),
        "held_out": {key: held_out[key] for key in (EVAL_MAP, EVAL_MAP_50, EVAL_AR_100) if key in held_out},
        "mlflow_run_id": result.run_id,
        "sha256": {path.name: file_sha256(path) for path in sorted(out.iterdir())},
    }
    (out / PROVENANCE).write_text(json.dumps(provenance, indent=1) + "\n", encoding="utf-8")
    client = mlflow.MlflowClient()
    for path in sorted(out.iterdir()):
        client.log_artifact(result.run_id, str(path), "pretrained")
    print(f"pretrained weights: {out} (held-out mAP@0.5 {held_out.get('eval/mAP_50', float('nan')):.3f})")
    return out
