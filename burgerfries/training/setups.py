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
from collections import OrderedDict
from pathlib import Path

import keras
import tensorflow as tf

from burgerfries.data.pipeline import check_record
from burgerfries.model.config import SCHEDULE, set_value
from burgerfries.model.ssd import LOSS_WEIGHTS, build_detector
from burgerfries.training.assemble import TrainingSetup, assemble
from burgerfries.training.schedule import SCHEDULE_FIELDS, schedule_values

# The fields a traced step reads from variables (or not at all: num_steps); everything else in a
# config is part of its shape.
PER_TRIAL_FIELDS = (
    *(f"model.ssd.loss.{name}" for name in LOSS_WEIGHTS),
    *(f"{SCHEDULE}.{name}" for name in SCHEDULE_FIELDS),
    "train_config.num_steps",
)
# The default study trains three batch sizes per model, two models: six shapes.
KEPT_SETUPS = 6


def shape_key(config: dict) -> str:
    """The config without its per-trial fields: trials with equal keys can share a traced step."""
    shape = copy.deepcopy(config)
    for dotted in PER_TRIAL_FIELDS:
        set_value(shape, dotted, None)
    return json.dumps(shape, sort_keys=True)


def reset(setup: TrainingSetup, config: dict, train_record: Path, seed: int) -> None:
    """Make `setup` what `assemble(config, train_record, seed)` would build, keeping its traces."""
    check_record(train_record)
    keras.utils.set_random_seed(seed)
    fresh = build_detector(config).model  # the initial weights this seed gives, as assemble draws them
    for target, source in zip(setup.detector.model.variables, fresh.variables, strict=True):
        target.assign(source)
    for variable in setup.optimizer.variables:  # momentum slots and the iteration count
        variable.assign(tf.zeros_like(variable))
    setup.schedule.assign(**schedule_values(config))
    setup.detector.use_config(config)
    setup.config, setup.record, setup.seed, setup.reused = config, Path(train_record), seed, True


class TrainingSetups:
    """Hands out a `TrainingSetup` per trial, reusing one of the same shape when it has one (the
    last `KEPT_SETUPS` shapes are kept). One trial at a time: a setup handed out is reset by the
    next request of its shape."""

    def __init__(self, kept: int = KEPT_SETUPS):
        self.kept = kept
        self._setups: OrderedDict[str, TrainingSetup] = OrderedDict()
        self.reused = 0

    def get(self, config: dict, train_record: Path, seed: int = 0) -> TrainingSetup:
        key = shape_key(config)
        setup = self._setups.pop(key, None)
        if setup is None:
            setup = assemble(config, train_record, seed)
        else:
            reset(setup, config, train_record, seed)
            self.reused += 1
        self._setups[key] = setup
        while len(self._setups) > self.kept:
            self._setups.popitem(last=False)
        return setup
