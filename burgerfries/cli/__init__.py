"""The `burgerfries` command: one module per subcommand, each holding its flags (`add_arguments`),
what it runs (`run`) and its help for users (`SUMMARY`, `DESCRIPTION`). The MLproject entry points
(pipelines/*.py) call the same `main`.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from burgerfries import __version__
from burgerfries.cli import data_prep, demo, evaluate, export, predict, pretrain, report, reproduce, sweep, train
from burgerfries.tf_startup import start_tensorflow

DESCRIPTION = """\
Train and tune small SSD object detectors on LabelImg photos, every run tracked in MLflow.
Start with `burgerfries data-prep FOLDER --out data/mine`, then `burgerfries train --data data/mine`
or `burgerfries sweep --data data/mine`; `burgerfries COMMAND --help` says more."""
COMMANDS: dict[str, ModuleType] = {
    "data-prep": data_prep,
    "pretrain": pretrain,
    "train": train,
    "evaluate": evaluate,
    "report": report,
    "export": export,
    "predict": predict,
    "demo": demo,
    "sweep": sweep,
    "reproduce": reproduce,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="burgerfries", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"burgerfries {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        subparser = commands.add_parser(
            name,
            help=command.SUMMARY,
            description=command.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(subparser)
        subparser.set_defaults(handler=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status. Ctrl-C ends it with 130 (as a shell reports SIGINT) and
    one line; so does a tracking store that cannot be reached (status 1), naming the store."""
    args = build_parser().parse_args(argv)
    try:
        start_tensorflow()
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"burgerfries {args.command}: interrupted", file=sys.stderr)
        return 130
    except ConnectionError as error:  # tracking.TrackingUnreachable, among others
        print(f"burgerfries {args.command}: {error}", file=sys.stderr)
        return 1
