"""`burgerfries demo`: its flags."""

from __future__ import annotations

import argparse
import sys

from burgerfries.cli.arguments import FRACTION, POSITIVE_INT
from burgerfries.keys import DEMO_PORT

SUMMARY = "a web page (Gradio) to try an exported model on photos"
DESCRIPTION = """\
Serve a web page where you upload a photo and see the exported model's detections, with a
score-threshold slider. It listens on 127.0.0.1 (this machine only) unless you give --host.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="an export folder, a saved_model folder, or an MLflow model URI (runs:/RUN_ID/model)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=POSITIVE_INT, default=DEMO_PORT)
    parser.add_argument("--threshold", type=FRACTION, default=None, help="initial score threshold (default 0.5)")


def run(args: argparse.Namespace) -> int:
    from burgerfries.evaluation import SCORE_THRESHOLD
    from burgerfries.export.loading import ExportError
    from burgerfries.jobs.demo import DemoError, serve_demo
    from burgerfries.tracking import configure_tracking

    configure_tracking()
    try:
        serve_demo(
            args.model, args.host, args.port or DEMO_PORT, SCORE_THRESHOLD if args.threshold is None else args.threshold
        )
    except (DemoError, ExportError, FileNotFoundError) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    return 0
