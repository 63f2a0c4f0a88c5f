"""The `reproduce` job: train a logged run again from what it logged — its effective config
(pipeline.yaml), seed, initial weights and data folder, refused when the data's content hash
differs — into a new run tagged with the source run, then compare the two on the eval split
against the seed-to-seed noise of the runs beside it.

Training is not bit-identical from run to run (TensorFlow's CPU kernels reduce in varying
order), so "reproduced" means: within the noise that different seeds of one configuration show.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities import Run
from scipy import stats

from burgerfries.data.folder import DataFolder
from burgerfries.decision.noise import Noise, pooled_noise
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.train import TrainSettings, train
from burgerfries.jobs.trained_run import RunError, logged_config, logged_run
from burgerfries.keys import CONFIG_KEY, KNOB_TYPES, Tag
from burgerfries.metrics import EVAL_LOSS_UNWEIGHTED, EVAL_MAP_50
from burgerfries.model.config import DEFAULT_PROFILE
from burgerfries.pretrained import NONE
from burgerfries.runs.configurations import config_key
from burgerfries.tracking import code_version

REPRODUCES = "reproduces"  # tag of the new run: the source run's id
# The metrics compared, read at each run's last evaluation: (MLflow key, label)
COMPARED = ((EVAL_MAP_50, "mAP@0.5"), (EVAL_LOSS_UNWEIGHTED, "eval loss (unweighted)"))
LEVEL = 0.95


class ReproduceError(ValueError):
    """A run that cannot be reproduced here; the message says why."""


@dataclass(frozen=True)
class Agreement:
    """The new run against the source configuration's runs on one metric."""

    label: str
    original: float  # mean over the source configuration's runs
    runs: int  # how many runs that mean is over
    reproduced: float
    noise: Noise | None  # None: no configuration beside it has two runs
    half_width: float  # of the 95 % interval for one new run around the original mean (NaN without noise)

    @property
    def within_noise(self) -> bool | None:
        if self.noise is None or math.isnan(self.reproduced) or math.isnan(self.original):
            return None
        return abs(self.reproduced - self.original) <= self.half_width

    def describe(self) -> str:
        delta = self.reproduced - self.original
        text = (
            f"{self.label}: original {self.original:.3f} (mean of the configuration's {self.runs} run(s)), "
            f"reproduced {self.reproduced:.3f} (Δ {delta:+.3f})"
        )
        if self.within_noise is None:
            return text + "; no noise estimate (no configuration beside it was trained with two seeds)"
        verdict = "within" if self.within_noise else "OUTSIDE"
        return f"{text}; {verdict} the noise (±{self.half_width:.3f} at {LEVEL:.0%}, {self.noise.describe()})"


@dataclass
class Reproduction:
    source_run_id: str
    run_id: str
    agreements: list[Agreement]


def _source(run_id: str) -> tuple[Run, dict]:
    run = logged_run(run_id)
    if "model" not in run.data.params or "seed" not in run.data.params:
        raise RunError(f"run {run_id} is not a burgerfries training run (no model and seed params)")
    return run, logged_config(run_id, Path(tempfile.mkdtemp(prefix="burgerfries-run-")))


def check_data(run: Run, data: Path) -> None:
    """Refuse a data folder whose content differs from the one the run trained on."""
    logged = run.data.tags.get(Tag.DATASET_HASH, "")
    found = DataFolder.open(data).hash
    if not logged:
        raise ReproduceError(f"run {run.info.run_id} logged no dataset hash, so its data cannot be checked")
    if found != logged:
        raise ReproduceError(
            f"{data}: its content hash is {found or 'missing'}, run {run.info.run_id} trained on {logged}; "
            "the data changed — pass --data with the folder it trained on"
        )


def _settings(run: Run, config: dict, data: Path, experiment: str | None) -> TrainSettings:
    params = run.data.params
    return TrainSettings(
        data=data,
        model=params["model"],
        profile=params.get("profile", DEFAULT_PROFILE),
        seed=int(params["seed"]),
        weights=Path(params["weights"]) if params.get("weights") else NONE,
        restore=params.get("restore") or None,
        eval_every=int(params["eval_every"]) if params.get("eval_every") else None,
        config=config,
        experiment=experiment or mlflow.MlflowClient().get_experiment(run.info.experiment_id).name,
        run_name=f"reproduce {run.info.run_name or run.info.run_id[:8]}",
        tags={REPRODUCES: run.info.run_id},
    )


def _peers(source: Run) -> pd.DataFrame:
    """The finished runs of the source's experiment with its model and data (one row each):
    their configuration key and last evaluation's metrics."""
    params, tags = source.data.params, source.data.tags
    found = mlflow.MlflowClient().search_runs(
        [source.info.experiment_id],
        f"params.model = '{params['model']}' and tags.{Tag.DATASET_HASH} = '{tags.get(Tag.DATASET_HASH, '')}' "
        "and attributes.status = 'FINISHED'",
        max_results=5000,
    )
    rows = {
        run.info.run_id: {
            CONFIG_KEY: config_key({"model": run.data.params["model"], **_knobs(run)}),
            **{key: run.data.metrics.get(key, float("nan")) for key, _ in COMPARED},
        }
        for run in found
        if REPRODUCES not in run.data.tags
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def _knobs(run: Run) -> dict[str, str]:
    return {knob: run.data.params.get(knob, "") for knob in KNOB_TYPES}


def compare_to_source(source: Run, reproduced: dict[str, float]) -> list[Agreement]:
    """Each compared metric: the new run against the mean of the source configuration's runs,
    with the σ pooled over every configuration of that model and data trained with two or more seeds."""
    peers = _peers(source)
    own = peers[peers[CONFIG_KEY] == config_key({"model": source.data.params["model"], **_knobs(source)})]
    agreements = []
    for key, label in COMPARED:
        noise = pooled_noise(peers, key) if len(peers) else None
        original = float(own[key].mean()) if len(own) else source.data.metrics.get(key, float("nan"))
        count = max(len(own), 1)
        half_width = float("nan")
        if noise is not None:
            half_width = stats.t.ppf(0.5 + LEVEL / 2, noise.dof) * noise.sigma * math.sqrt(1 + 1 / count)
        agreements.append(Agreement(label, original, count, reproduced.get(key, float("nan")), noise, half_width))
    return agreements


def reproduce_run(run_id: str, data: Path | None = None, experiment: str | None = None) -> Reproduction:
    """Train run `run_id` again (its data folder, or `data` holding the same content) and compare."""
    source, config = _source(run_id)
    data = Path(data or source.data.params.get("data", ""))
    check_data(source, data)
    logged_code, code = source.data.tags.get(Tag.CODE_VERSION, ""), code_version()
    if logged_code != code:
        print(f"warning: run {run_id} was trained by code {logged_code or 'of unknown version'}, this is {code}")
    # the split the source's evaluations read (its validation photos, on a three-split folder)
    result = train(
        _settings(source, config, data, experiment), Evaluation(data, split=DataFolder.open(data).choice_split)
    )
    last = result.eval_metrics[max(result.eval_metrics)] if result.eval_metrics else {}
    return Reproduction(run_id, result.run_id, compare_to_source(source, last))
