"""What a report is built from: runs and their metric histories as data frames, read by the report
job from the tracking store (or built by hand in tests)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class StudyRuns:
    title: str
    runs: pd.DataFrame  # one row per training run, index run_id: name, status, phase, model, knobs, tags…
    metrics: pd.DataFrame  # long: run_id, key, step, value
    parent_run_id: str | None = None  # the sweep's parent run, when the study is a sweep
    tracking_uri: str = ""
    # Earlier sweeps' finished trial runs of the same models, profile and data (their rows and
    # metrics as above): what the decisions' noise estimate pools beside the study's own runs
    prior_runs: pd.DataFrame | None = None
    prior_metrics: pd.DataFrame | None = None
