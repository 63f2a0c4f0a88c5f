"""`burgerfries export`: its flags, and the files it prints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from burgerfries.cli.arguments import optional_path, optional_text

SUMMARY = "SavedModel, TFLite and an MLflow model from a run's checkpoint"
DESCRIPTION = """\
Export a trained run as a TensorFlow SavedModel and a TFLite file, each checked against the
run's checkpoint on the eval split, and log it as an MLflow model into the run; optionally
register that model and write a Hugging Face Space folder.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--out", type=Path, default=Path("export"), help="output folder (default export)")
    parser.add_argument(
        "--register", type=optional_text, default=None, help="also register the MLflow model under this name"
    )
    parser.add_argument(
        "--data",
        type=optional_path,
        default=None,
        help="data_prep folder whose eval split checks the export (default: the run's)",
    )
    parser.add_argument(
        "--space",
        type=optional_path,
        default=None,
        help="also write a Hugging Face Space folder here (needs the demo extra)",
    )


def run(args: argparse.Namespace) -> int:
    from burgerfries.export.loading import ExportError
    from burgerfries.jobs.demo import DemoError
    from burgerfries.jobs.export import export_run
    from burgerfries.jobs.trained_run import RunError
    from burgerfries.tracking import configure_tracking

    configure_tracking()
    try:
        written = export_run(args.run_id, args.out, args.register, args.data, args.space)
    except (RunError, ExportError, DemoError, FileNotFoundError) as error:
        print(f"export: {error}", file=sys.stderr)
        return 1
    for key in ("saved_model", "tflite", "label_map"):
        print(f"{key}: {written[key]}")
    scores = ", ".join(f"{k} {'undefined' if v is None else f'{v:.3f}'}" for k, v in written["mAP_50"].items())
    print(f"mAP@0.5 on the eval split: {scores}")
    if "space" in written:
        print(f"Hugging Face Space folder: {written['space']}")
    print(f"MLflow model: {written['model_uri']}" + (f" (registered as {args.register})" if args.register else ""))
    print(Path(args.out).resolve())
    return 0
