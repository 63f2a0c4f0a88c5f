"""Reusing a traced training setup for a sweep's next trial.

Tracing the step and its first call (graph optimisation) cost 8–10 s of a smoke trial on a 2-core
machine, and evaluation traces again (bench/RESULTS.md). A sweep's trials differ mostly in loss
weights, learning rate and seed, which the traced step reads from variables; so trials of one
shape — the same config but for those fields — share one `TrainingSetup`, and a reused setup is
made equal to a fresh one: its weights are a fresh build's with the trial's seed, its optimizer
state is zero, its variables hold the trial's loss weights and schedule.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import tensorflow as tf
from cachetools import LRUCache

from burgerfries.data.pipeline import check_record
from burgerfries.model.config import SCHEDULE, set_value
from burgerfries.model.ssd import LOSS_WEIGHTS, build_detector
from burgerfries.training.assemble import TrainingSetup, assemble
from burgerfries.training.schedule import SCHEDULE_FIELDS, schedule_values
from burgerfries.training.seeding import seed_weight_draws
from burgerfries.training.weight_average import decay_of

# The fields a traced step reads from variables (or not at all: num_steps); everything else in a
# config is part of its shape.
PER_TRIAL_FIELDS = (
    *(f"model.ssd.loss.{name}" for name in LOSS_WEIGHTS),
    *(f"{SCHEDULE}.{name}" for name in SCHEDULE_FIELDS),
    "train_config.num_steps",
    "train_config.optimizer.moving_average_decay",
)
# The default study trains three batch sizes per model, two models: six shapes.
KEPT_SETUPS = 6
# A fresh build's weights per (shape, seed): most of a sweep's trials share the base seed, and a
# build to draw them again costs 1–2 s of a smoke trial.
KEPT_INITIAL_WEIGHTS = 16


def shape_key(config: dict) -> str:
    """The config without its per-trial fields: trials with equal keys can share a traced step."""
    shape = copy.deepcopy(config)
    for dotted in PER_TRIAL_FIELDS:
        set_value(shape, dotted, None)
    return json.dumps(shape, sort_keys=True)


def initial_weights(config: dict, seed: int) -> list[np.ndarray]:
    """The weights `assemble(config, …, seed)` starts from."""
    seed_weight_draws(seed)
    return [variable.numpy() for variable in build_detector(config).model.variables]


def reset(setup: TrainingSetup, config: dict, train_record: Path, seed: int, weights: list[np.ndarray]) -> None:
    """Make `setup` what `assemble(config, train_record, seed)` would build, keeping its traces;
    `weights` are that build's initial weights (`initial_weights`)."""
    check_record(train_record)
    for target, source in zip(setup.detector.model.variables, weights, strict=True):
        target.assign(source)
    for variable in setup.optimizer.variables:  # momentum slots and the iteration count
        variable.assign(tf.zeros_like(variable))
    setup.schedule.assign(**schedule_values(config))
    setup.detector.use_config(config)
    if setup.average is not None:
        setup.average.reset(decay_of(config))
    setup.config, setup.record, setup.seed, setup.reused = config, Path(train_record), seed, True


class TrainingSetups:
    """Hands out a `TrainingSetup` per trial, reusing one of the same shape when it has one (the
    last `KEPT_SETUPS` shapes are kept). One trial at a time: a setup handed out is reset by the
    next request of its shape."""

    def __init__(self, kept: int = KEPT_SETUPS):
        self._setups: LRUCache[str, TrainingSetup] = LRUCache(maxsize=kept)
        self._initial_weights: LRUCache[tuple[str, int], list[np.ndarray]] = LRUCache(maxsize=KEPT_INITIAL_WEIGHTS)
        self.reused = 0

    def get(self, config: dict, train_record: Path, seed: int = 0) -> TrainingSetup:
        key = shape_key(config)
        setup = self._setups.get(key)
        if setup is None:
            setup = self._setups[key] = assemble(config, train_record, seed)
            self._initial_weights[key, seed] = [variable.numpy() for variable in setup.detector.model.variables]
            return setup
        weights = self._initial_weights.get((key, seed))
        if weights is None:
            weights = self._initial_weights[key, seed] = initial_weights(config, seed)
        reset(setup, config, train_record, seed, weights)
        self.reused += 1
        return setup
