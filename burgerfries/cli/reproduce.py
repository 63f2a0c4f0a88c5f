"""`burgerfries reproduce`: its flags, and the comparison it prints."""

from __future__ import annotations

import argparse
import sys

from burgerfries.cli.arguments import experiment_argument, optional_path

SUMMARY = "train a logged run again and say whether it lands within the noise"
DESCRIPTION = """\
Train a run again from what it logged: its effective config, seed, initial weights and data
folder (refused when the folder's content hash differs from the run's; a warning when the code
version differs). The new run is tagged `reproduces` with the source run's id. Then mAP@0.5 and
the unweighted eval loss at the last evaluation are compared with the source configuration's runs,
against the seed-to-seed noise of the runs of that model and data (a sweep's replicated
configurations give it).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="the MLflow run to reproduce")
    parser.add_argument(
        "--data",
        type=optional_path,
        default=None,
        help="the data_prep folder, if it moved (default: the folder the run logged; its hash must match)",
    )
    experiment_argument(parser, "the source run's")


def run(args: argparse.Namespace) -> int:
    from burgerfries.jobs.reproduce import ReproduceError, reproduce_run
    from burgerfries.jobs.trained_run import RunError

    try:
        reproduction = reproduce_run(args.run_id, args.data, args.experiment)
    except (ReproduceError, RunError, FileNotFoundError) as error:
        print(f"reproduce: {error}", file=sys.stderr)
        return 1
    for agreement in reproduction.agreements:
        print(agreement.describe())
    print(reproduction.run_id)
    return 0
