"""The `data_prep` job: prepare the dataset, then log what a later reader needs to trust it."""

from __future__ import annotations

from pathlib import Path

import mlflow

from burgerfries.data.prepare import (
    DRAWN_SOURCES,
    SYNTHETIC_EVAL_SCENES,
    PreparedDataset,
    StrictModeError,
    prepare_dataset,
)
from burgerfries.data.split import VALIDATION_FRACTION
from burgerfries.keys import CONTACT_SHEET, DATASET_SUMMARY, LABEL_MAP, SKIP_REPORT
from burgerfries.tracking import (
    SPLIT_CONTEXTS,
    log_artifact_files,
    log_params,
    log_split_inputs,
    resolve_experiment,
    tracked_run,
)

EXPERIMENT = "data_prep"


def run_data_prep(
    source: str,
    out: Path,
    classes: list[str] | None = None,
    seed: int = 0,
    num_images: int = 63,
    eval_fraction: float = 0.2,
    strict: bool = False,
    keep_folder_split: bool = True,
    experiment: str | None = None,
    eval_images: int = SYNTHETIC_EVAL_SCENES,
    nested: bool = False,
    validation_fraction: float = VALIDATION_FRACTION,
) -> PreparedDataset:
    """data_prep in a tracked run: a new one, or the entry point's under `mlflow run -e data_prep`,
    or (`nested`) a child of the active run: another job's first step."""
    out = Path(out).resolve()
    with tracked_run(
        resolve_experiment(experiment, EXPERIMENT),
        run_name=f"data_prep {Path(str(source)).name}",
        tags={"step": "data_prep"},
        nested=nested,
    ):
        log_params(
            {
                "source": source,
                "out": str(out),
                "classes": ",".join(classes or []) or "(from XML)",
                "seed": seed,
                "num_images": num_images if str(source) in DRAWN_SOURCES else "(all)",
                "eval_images": eval_images if str(source) in DRAWN_SOURCES else "(split)",
                "eval_fraction": eval_fraction,
                "validation_fraction": validation_fraction,
                "strict": strict,
                "keep_folder_split": keep_folder_split,
            }
        )
        try:
            prepared = prepare_dataset(
                source,
                out,
                classes,
                seed,
                num_images,
                eval_fraction,
                strict,
                keep_folder_split,
                eval_images=eval_images,
                validation_fraction=validation_fraction,
            )
        except StrictModeError:
            log_artifact_files([out / SKIP_REPORT])
            raise
        summary = prepared.summary
        metrics = {f"num_images_{split}": n for split, n in summary["num_images"].items()}
        metrics.update(
            {
                f"num_objects_{split}_{name}": n
                for split, counts in summary["num_objects"].items()
                for name, n in counts.items()
            }
        )
        metrics.update({"num_skipped": summary["num_skipped"], "num_problems": summary["num_problems"]})
        sizes = summary["box_sizes"]
        if sizes["objects"].get("all"):  # the smallest tenth of the training objects, in pixels per input size
            metrics.update({f"box_p10_pixels_at_{size}": pixels for size, pixels in sizes["p10_pixels"].items()})
            metrics["box_p10_side_share"] = sizes["side_share"]["all"]["p10"]
        mlflow.log_metrics(metrics)
        mlflow.set_tag("dataset_hash", summary["hash"])
        log_split_inputs(out, summary["hash"], SPLIT_CONTEXTS)
        log_artifact_files([out / SKIP_REPORT, out / DATASET_SUMMARY, out / CONTACT_SHEET, out / LABEL_MAP])
        return prepared
