"""The `data_prep` job: prepare the dataset, then log what a later reader needs to trust it.

It also prepares `--data` of train, sweep and pretrain when that is a LabelImg folder (images and
Pascal-VOC XML, any layout `data-prep` accepts): once, into `data/prepared-<content hash>`, tracked
as a `data_prep` run like `burgerfries data-prep`. The hash covers every image's and XML file's
path and bytes, so the same folder is reused as long as no file changed, and prepared again into a
new folder when one did.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import mlflow

from burgerfries.data.folder import DataFolder, is_prepared
from burgerfries.data.ingest import scan_folder
from burgerfries.data.prepare import (
    DRAWN_SOURCES,
    SYNTHETIC_EVAL_SCENES,
    PreparedDataset,
    StrictModeError,
    prepare_dataset,
)
from burgerfries.data.skip_report import SkipReport
from burgerfries.data.split import VALIDATION_FRACTION
from burgerfries.keys import CONTACT_SHEET, DATASET_SUMMARY, LABEL_MAP, SKIP_REPORT
from burgerfries.tracking import (
    SPLIT_CONTEXTS,
    entry_run_as_parent,
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


PREPARED_ROOT = Path("data")
HASH_CHARACTERS = 12


def is_labelimg_folder(folder: Path) -> bool:
    """A folder that is not a data_prep output and holds at least one Pascal-VOC XML file."""
    folder = Path(folder)
    if not folder.is_dir() or is_prepared(folder):
        return False
    _, xmls = scan_folder(folder.resolve(), SkipReport())
    return bool(xmls)


def content_hash(folder: Path) -> str:
    """sha256 over every image and XML file's relative path and bytes, in path order."""
    root = Path(folder).resolve()
    images, xmls = scan_folder(root, SkipReport())  # the files `data-prep` reads
    digest = hashlib.sha256()
    for path in sorted(images + xmls):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def resolve_data(data: Path, root: Path = PREPARED_ROOT) -> Path:
    """`data` itself when it is a data_prep folder (or anything else: the job's own check names
    what is missing); a LabelImg folder's prepared folder, preparing it when needed."""
    data = Path(data)
    if not is_labelimg_folder(data):
        return data
    out = Path(root) / f"prepared-{content_hash(data)[:HASH_CHARACTERS]}"
    if is_prepared(out) and DataFolder.open(out).has_validation:
        print(f"{data} is a LabelImg folder; using {out}, prepared from it before (no file changed since)")
        return out
    if is_prepared(out):
        print(f"{out} was prepared with two splits by an older burgerfries; preparing it again with three")
    print(f"{data} is a LabelImg folder; preparing it into {out} (a data_prep run)")
    with entry_run_as_parent() as nested:
        prepared = run_data_prep(str(data), out, nested=nested)
    summary = prepared.summary
    print(
        f"prepared {summary['num_images']['train']} training, {summary['num_images']['validation']} validation "
        f"and {summary['num_images']['eval']} test images into {out}; "
        f"{summary['num_skipped']} skipped (listed in {out / SKIP_REPORT})"
    )
    return out
