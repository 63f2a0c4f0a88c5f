"""`burgerfries report`: its flags."""

from __future__ import annotations

import argparse
import sys

from burgerfries.cli.arguments import optional_path, optional_text

SUMMARY = "what each phase decided, its evidence and curves, as one offline HTML page"
DESCRIPTION = """\
Build the HTML report of a sweep (--run-id of its parent run) or of every training run in an
experiment: where each run's eval loss starts to flatten, what each phase decided and on what
evidence, the final pick and a base-vs-final table. The page works offline.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--experiment", type=optional_text, default=None, help="an MLflow experiment name (all its training runs)"
    )
    parser.add_argument("--run-id", type=optional_text, default=None, help="a sweep's parent run id")
    parser.add_argument("--out", type=optional_path, default=None, help="output folder (default reports/out/<name>)")


def run(args: argparse.Namespace) -> int:
    from burgerfries.jobs.report import report
    from burgerfries.tracking import configure_tracking

    if bool(args.experiment) == bool(args.run_id):
        print("report: give exactly one of --experiment NAME or --run-id SWEEP_PARENT_RUN_ID", file=sys.stderr)
        return 1
    configure_tracking()
    try:
        built = report(args.experiment, args.run_id, args.out)
    except ValueError as error:
        print(f"report: {error}", file=sys.stderr)
        return 1
    for _, row in built.final.iterrows():
        print(f"final {row['model']}: run {row['name']} — {row['reason']}")
    print(built.path.resolve())
    return 0
