"""Configurations: what a run trained with (model and the study's knobs, not the seed), a key to
group a configuration's runs by, and the short label that names it in a phase ("1:0.5", "10")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from burgerfries.keys import KNOB_TYPES, LOSS_WEIGHT_KNOBS

KNOBS = tuple(KNOB_TYPES)
WEIGHT_PAIR = list(LOSS_WEIGHT_KNOBS)


def _number(value: Any) -> float | str:
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


def label(config: Mapping[str, Any], keys: list[str]) -> str:
    """`keys` (the knobs a phase varies) as the phase's tables name them: the loss-weight pair as
    classification:localization, one knob as its value, several as key=value."""
    keys = sorted(keys)
    if keys == WEIGHT_PAIR:
        return f"{_number(config['classification_weight']):g}:{_number(config['localization_weight']):g}"
    if len(keys) == 1:
        value = _number(config[keys[0]])
        return f"{value:g}" if isinstance(value, float) else value
    return ", ".join(f"{key}={_number(config[key]):g}" for key in keys)


def varied_keys(runs: pd.DataFrame) -> list[str]:
    """The knobs that differ between these runs."""
    return [knob for knob in KNOBS if knob in runs and runs[knob].map(_number).nunique() > 1]


def add_configurations(runs: pd.DataFrame) -> pd.DataFrame:
    """`config_key` for every run, and a `varied` label for runs the sweep did not label: the knobs
    that differ within the run's (phase, model) group."""
    runs = runs.copy()
    runs["config_key"] = [config_key(row) for _, row in runs.iterrows()]
    if "varied" not in runs:
        runs["varied"] = ""
    for _, members in runs.groupby(["phase", "model"], sort=False):
        keys = varied_keys(members)
        for run_id, row in members.iterrows():
            if not row["varied"]:
                runs.loc[run_id, "varied"] = label(row, keys) if keys else str(row.get("name", run_id))
    return runs
