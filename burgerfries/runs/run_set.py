"""A run set: the runs a sweep or an experiment holds and their metric histories as data frames,
read from the tracking store by `tracking/reader.py` (or built by hand in tests) — what the
decisions and the report are computed from."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class RunSet:
    """The runs of one sweep (or one experiment), as read once."""

    title: str
    runs: pd.DataFrame  # one row per training run, index run_id: name, status, phase, model, knobs, tags…
    metrics: pd.DataFrame  # long: run_id, key, step, value
    parent_run_id: str | None = None  # the sweep's parent run, when the study is a sweep
    tracking_uri: str = ""
    # Earlier sweeps' finished trial runs of the same models, profile and data (their rows and
    # metrics as above): what the decisions' noise estimate pools beside the study's own runs
    prior_runs: pd.DataFrame | None = None
    prior_metrics: pd.DataFrame | None = None
