"""One function builds what a training run needs from its effective config: the detector, the
optimizer, the input pipeline and the compiled step. The training job, the sweep's dry run and
the benchmarks all call it, so a change to any of the four is made here once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from burgerfries.data.pipeline import check_record, max_boxes_in, train_dataset
from burgerfries.model.ssd import Detector, build_detector
from burgerfries.training.schedule import CosineDecayWithWarmup, schedule_from_config
from burgerfries.training.seeding import seed_weight_draws
from burgerfries.training.step import make_train_step
from burgerfries.training.weight_average import WeightAverage, average_of


@dataclass
class TrainingSetup:
    config: dict
    detector: Detector
    optimizer: keras.optimizers.Optimizer
    schedule: CosineDecayWithWarmup  # the optimizer's learning rate
    train_step: Callable[..., dict[str, tf.Tensor]]
    record: Path
    seed: int
    reused: bool = False  # True once training/setups.py has reset it for another trial
    average: WeightAverage | None = None  # the weights' moving average, where the config asks for one

    def batches(self, start_step: int = 0) -> tf.data.Dataset:
        """Endless training batches; a resumed run reseeds with its start step so it does not
        replay the batches it already saw."""
        train = self.config["train_config"]
        max_boxes = max(1, min(max_boxes_in(self.record), train["max_number_of_boxes"]))
        return train_dataset(
            self.record,
            self.detector.image_size,
            train["batch_size"],
            train["data_augmentation_options"],
            self.seed + start_step,
            max_boxes,
        )


def assemble(config: dict, train_record: Path, seed: int = 0) -> TrainingSetup:
    """Seed the weights' draws, build the detector and the SGD-with-momentum optimizer the config
    names, and trace nothing yet (the step compiles on its first batch)."""
    check_record(train_record)
    seed_weight_draws(seed)
    detector = build_detector(config)
    momentum = config["train_config"]["optimizer"]["momentum_optimizer"]
    schedule = schedule_from_config(config)
    optimizer = keras.optimizers.SGD(schedule, momentum=momentum["momentum_optimizer_value"])
    # Its slots made now, eagerly: made inside the step, they cost a second trace and were the
    # larger part of tracing it (measured in bench/RESULTS.md).
    optimizer.build(detector.model.trainable_variables)
    average = average_of(config, detector.model.trainable_variables)
    train_step = make_train_step(detector, optimizer, average)
    return TrainingSetup(config, detector, optimizer, schedule, train_step, Path(train_record), seed, average=average)
