"""Sweeps without tracking: the study definition (sweeps/*.yaml), the plan of trials, and the
Optuna storage that hands trials out and recovers dead ones. The sweep job drives them."""

from importlib import resources
from pathlib import Path

DEFAULT_STUDY = Path(str(resources.files("burgerfries.studies").joinpath("original_study.yaml")))
