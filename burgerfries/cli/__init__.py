"""The `burgerfries` command: one module per subcommand, each holding its flags (`add_arguments`),
what it runs (`run`) and its help for users (`SUMMARY`, `DESCRIPTION`). The MLproject entry points
(pipelines/*.py) call the same `main`.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from burgerfries.cli import data_prep, demo, evaluate, export, predict, pretrain, report, sweep, train
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
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="burgerfries", description=DESCRIPTION)
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
    args = build_parser().parse_args(argv)
    start_tensorflow()
    return args.handler(args)
