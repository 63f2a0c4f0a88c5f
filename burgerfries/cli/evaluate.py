"""`burgerfries evaluate`: its flags, and the metrics it prints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from burgerfries.cli.arguments import NON_NEGATIVE_INT, experiment_argument, switch
from burgerfries.metrics import PRINTED_EVAL

SUMMARY = "evaluate a run's checkpoint on a data folder"
DESCRIPTION = """\
Evaluate a trained run's checkpoint on a data folder's eval split (COCO mAP and recall, eval
loss, wrong detections) and log the metrics to that run, or to a new one with --new-run.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-id", required=True)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data/prepared"),
        help="a data_prep output folder, its eval.record (default data/prepared)",
    )
    parser.add_argument(
        "--step", type=NON_NEGATIVE_INT, default=None, help="checkpoint step (default: the weights the run kept)"
    )
    switch(parser, "--new-run", "log to a new run linked by tag evaluated_run_id")
    experiment_argument(parser, "'evaluate'")


def run(args: argparse.Namespace) -> int:
    from burgerfries.jobs.evaluate import evaluate_run
    from burgerfries.jobs.trained_run import RunError

    try:
        target, step, metrics = evaluate_run(args.run_id, args.data, args.step, args.new_run, args.experiment)
    except (RunError, FileNotFoundError, ValueError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 1
    for key in PRINTED_EVAL:
        print(f"{key}: {metrics[key]:.4f}" if key in metrics else f"{key}: undefined (no ground truth)")
    print(f"step {step} logged to run {target}")
    print(target)
    return 0
