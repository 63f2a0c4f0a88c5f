"""Configurations: what a run trained with (model and the study's knobs, not the seed), a key to
group a configuration's runs by, and the short label that names it in a phase ("weights 1:0.5",
"lr 0.032 · batch 5")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from burgerfries.keys import CONFIG_KEY, KNOB, KNOB_TYPES, LOSS_WEIGHT_KNOBS

KNOBS = tuple(KNOB_TYPES)
WEIGHT_PAIR = list(LOSS_WEIGHT_KNOBS)


def is_missing(value: Any) -> bool:
    """Whether a knob's value says the run has none (missing, NaN or "None", by where it was read)."""
    return value is None or str(value) in ("", "None", "nan")


def _number(value: Any) -> float | str:
    """A knob's value as one comparable thing: a number, or "" where the run has none (a knob a
    run does not set, e.g. `epochs` of a run whose length was given in steps, reads as missing,
    NaN or "None" depending on where it comes from)."""
    if is_missing(value):
        return ""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def config_key(config: Mapping[str, Any]) -> str:
    """The same string for the same model and knobs however they were written ("10" or 10.0)."""
    return json.dumps(
        {"model": str(config.get("model", "")), **{knob: _number(config.get(knob, "")) for knob in KNOBS}},
        sort_keys=True,
    )


def _value(value: Any) -> str:
    number = _number(value)
    return f"{number:g}" if isinstance(number, float) else number


def label(config: Mapping[str, Any], keys: list[str]) -> str:
    """`keys` (the knobs a phase varies, then those it pins) as the phase's tables and legends name
    them, in that order, each with its short name: `weights 1:0.5`, `lr 0.032 · batch 5` (the
    loss-weight pair as classification:localization)."""
    parts = []
    for knob in dict.fromkeys(WEIGHT_PAIR[0] if knob in WEIGHT_PAIR else knob for knob in keys):
        if knob == WEIGHT_PAIR[0]:
            parts.append("weights " + ":".join(_value(config[key]) for key in WEIGHT_PAIR))
        else:
            parts.append(f"{KNOB[knob].short} {_value(config[knob])}")
    return " · ".join(parts)


def varied_keys(runs: pd.DataFrame) -> list[str]:
    """The knobs that differ between these runs."""
    return [knob for knob in KNOBS if knob in runs and runs[knob].map(_number).nunique() > 1]


def add_configurations(runs: pd.DataFrame) -> pd.DataFrame:
    """`config_key` for every run, and a `varied` label for runs the sweep did not label: the knobs
    that differ within the run's (phase, model) group."""
    runs = runs.copy()
    runs[CONFIG_KEY] = [config_key(row) for _, row in runs.iterrows()]
    if "varied" not in runs:
        runs["varied"] = ""
    for _, members in runs.groupby(["phase", "model"], sort=False):
        keys = varied_keys(members)
        for run_id, row in members.iterrows():
            if not row["varied"]:
                runs.loc[run_id, "varied"] = label(row, keys) if keys else str(row.get("name", run_id))
    return runs


def configuration_in_words(row: pd.Series) -> str:
    """A run's four study knobs in words, e.g. `batch 10, lr 0.08, weights 1.0:1.0`, and its
    length in passes where it was given in passes (`…, 95.2 passes`)."""
    words = (
        f"batch {row['batch_size']}, lr {row['learning_rate']}, "
        f"weights {row['classification_weight']}:{row['localization_weight']}"
    )
    passes = _number(row.get("epochs", ""))
    return f"{words}, {passes:g} passes" if isinstance(passes, float) else words
