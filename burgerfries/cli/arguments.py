"""Argument types shared by the commands' parsers.

Flags that set a study knob default to unset (None), which means the model YAML's value. An empty
string — what MLproject passes for a parameter left at its default "" — is unset too.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def unset(text: str | None) -> bool:
    return text is None or str(text).strip() == ""


def optional_number(convert: Callable[[str], Any], check: Callable[[Any], bool], valid: str) -> Callable[[str], Any]:
    """An optional number: '' → None; otherwise it must convert and pass `check`, or argparse
    answers 'argument --flag: …' naming the flag and the valid range."""

    def parse(text: str) -> Any:
        if unset(text):
            return None
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number; {valid}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; {valid}")
        return value

    return parse


POSITIVE_INT = optional_number(int, lambda v: v >= 1, "expected a whole number ≥ 1")
NON_NEGATIVE_INT = optional_number(int, lambda v: v >= 0, "expected a whole number ≥ 0")
POSITIVE_FLOAT = optional_number(float, lambda v: 0 < v < float("inf"), "expected a number > 0")
FRACTION = optional_number(float, lambda v: 0 <= v < 1, "expected a number in [0, 1)")


def optional_path(text: str) -> Path | None:
    return None if unset(text) else Path(text)


def optional_text(text: str) -> str | None:
    return None if unset(text) else text


def on_off(text: str) -> bool:
    """`--strict` alone is true; MLproject passes `--strict true|false|''`."""
    if unset(text):
        return False
    value = str(text).strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected true or false")
    return value in ("true", "1", "yes")


def switch(parser: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    """An on/off flag: `--flag` alone is on; `--flag true|false|''` is what MLproject passes."""
    parser.add_argument(flag, type=on_off, nargs="?", const=True, default=False, help=help_text)


def choice(choices: list[str]) -> Callable[[str], str | None]:
    def parse(text: str) -> str | None:
        if unset(text):
            return None
        if text not in choices:
            raise argparse.ArgumentTypeError(f"{text!r}: choose one of {', '.join(choices)}")
        return text

    return parse


def csv_list(text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    return names or None


def field_value(text: str) -> tuple[str, str]:
    """`--set FIELD=VALUE`: a dotted config field and its value (the config converts the value to
    the field's type); anything without `=` is refused by argparse, naming the flag."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE (dotted OD-API field names), got {text!r}")
    field, value = text.split("=", 1)
    return field.strip(), value.strip()


def experiment_argument(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--experiment",
        type=optional_text,
        default=None,
        help=f"MLflow experiment (default: MLFLOW_EXPERIMENT_NAME/ID when set, else {default})",
    )
