"""MLproject's entry points and the CLI agree: every parameter is a named flag of the same
subcommand, with the same default (MLproject's "" where the CLI's is unset)."""

import argparse
import re
from pathlib import Path

import pytest
import yaml

from burgerfries.cli import COMMANDS, build_parser

MLPROJECT = yaml.safe_load((Path(__file__).resolve().parents[1] / "MLproject").read_text())
ENTRY_TO_COMMAND = {
    "data_prep": "data-prep",
    "pretrain": "pretrain",
    "train": "train",
    "evaluate": "evaluate",
    "report": "report",
    "sweep": "sweep",
    "export": "export",
    "demo": "demo",
}
# Deliberate differences, each with its reason.
DIFFERENT_DEFAULTS = {
    # under `mlflow run`, the entry point's own run is the one to log into
    ("evaluate", "new_run"): "true",
}


def subparser(command: str) -> argparse.ArgumentParser:
    actions = build_parser()._subparsers._group_actions[0]
    return actions.choices[command]


def test_every_entry_point_is_a_cli_command():
    assert set(MLPROJECT["entry_points"]) == set(ENTRY_TO_COMMAND)
    assert set(ENTRY_TO_COMMAND.values()) <= set(COMMANDS)


@pytest.mark.parametrize("entry", list(ENTRY_TO_COMMAND))
def test_parameters_are_named_flags_with_the_cli_defaults(entry):
    spec = MLPROJECT["entry_points"][entry]
    command = " ".join(spec["command"].split())
    assert command.startswith(f"python pipelines/{entry}.py ")
    parser = subparser(ENTRY_TO_COMMAND[entry])
    by_dest = {action.dest: action for action in parser._actions}
    for name, parameter in spec["parameters"].items():
        action = by_dest.get(name)
        assert action is not None, (
            f"{entry}: parameter {name} is not an option of burgerfries {ENTRY_TO_COMMAND[entry]}"
        )
        if action.option_strings:
            flag = f"--{name.replace('_', '-')}"
            assert flag in action.option_strings
            assert f"{flag} {{{name}}}" in command, f"{entry}: {name} is not passed as {flag} {{{name}}}"
        else:
            assert f" {{{name}}}" in command  # the positional `source` of data_prep
        if "default" not in parameter:
            assert action.required, f"{entry}: {name} has no default in MLproject but one in the CLI"
            continue
        expected = DIFFERENT_DEFAULTS.get((entry, name))
        if expected is not None:
            assert parameter["default"] == expected
            continue
        default = action.default
        cli = "" if default is None else ("true" if default is True else "false" if default is False else str(default))
        assert str(parameter["default"]) == cli, f"{entry}.{name}: MLproject {parameter['default']!r}, CLI {cli!r}"
    passed = set(re.findall(r"\{(\w+)\}", command))
    assert passed == set(spec["parameters"]), f"{entry}: command and parameters differ"


def test_empty_strings_are_unset_and_bad_values_name_the_flag(capsys):
    parser = build_parser()
    args = parser.parse_args(["train", "--batch-size", "", "--learning-rate", "", "--profile", "", "--weights", ""])
    assert (args.batch_size, args.learning_rate, args.profile, args.weights) == (None, None, None, None)
    for flag, value in (
        ("--batch-size", "0"),
        ("--learning-rate", "-1"),
        ("--num-steps", "ten"),
        ("--classification-weight", "nan"),
        ("--profile", "huge"),
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(["train", flag, value])
        assert f"argument {flag}" in capsys.readouterr().err
