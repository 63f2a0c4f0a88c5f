"""`burgerfries predict`: its flags."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from burgerfries.cli.arguments import FRACTION

SUMMARY = "draw detections on images into PNG files"
DESCRIPTION = """\
Run an exported model (or an MLflow model URI) on image files and write each with its
detections drawn, as PNG files in --out.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--model", required=True, help="an export folder, a saved_model folder, or runs:/RUN_ID/...")
    parser.add_argument("--out", type=Path, default=Path("predictions"))
    parser.add_argument("--threshold", type=FRACTION, default=None, help="lowest score drawn (default 0.5)")


def run(args: argparse.Namespace) -> int:
    from burgerfries.evaluation import SCORE_THRESHOLD
    from burgerfries.export.loading import ExportError
    from burgerfries.jobs.predict import predict_images
    from burgerfries.tracking import configure_tracking

    configure_tracking()
    try:
        written = predict_images(
            args.images, args.model, args.out, SCORE_THRESHOLD if args.threshold is None else args.threshold
        )
    except (ExportError, FileNotFoundError) as error:
        print(f"predict: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0
