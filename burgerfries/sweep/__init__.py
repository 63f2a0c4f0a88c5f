"""Sweeps without tracking: the study definition (sweeps/*.yaml), the plan of trials, and the
Optuna storage that hands trials out and recovers dead ones. The sweep job drives them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _shipped(name: str) -> Path:
    return Path(str(resources.files("burgerfries.studies").joinpath(f"{name}.yaml")))


# The sweep definitions shipped with the package, by name (`--study original_study` works anywhere)
ORIGINAL_STUDY = _shipped("original_study")  # what the main job reproduces, on the synthetic set
PHOTOS_STUDY = _shipped("photos_study")  # what `sweep --data DIR` runs on a user's photos
SHIPPED_STUDIES = {path.stem: path for path in (ORIGINAL_STUDY, PHOTOS_STUDY)}
DEFAULT_STUDY = ORIGINAL_STUDY


def study_path(study: Path | str | None, data_given: bool) -> Path:
    """The sweep definition to run: `study` (a YAML path, or a shipped study's name); when none is
    given, the photos study for a user's `--data`, else the original study on the synthetic set."""
    if study is None or str(study) == "":
        return PHOTOS_STUDY if data_given else ORIGINAL_STUDY
    if not Path(study).exists() and str(study) in SHIPPED_STUDIES:
        return SHIPPED_STUDIES[str(study)]
    return Path(study)
