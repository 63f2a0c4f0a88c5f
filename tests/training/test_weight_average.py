"""The weights' moving average: TensorFlow's ExponentialMovingAverage arithmetic, evaluated and
checkpointed in place of the training weights, resumed from a checkpoint with both."""

import numpy as np
import pytest
import tensorflow as tf

from burgerfries.model.config import build_config
from burgerfries.training.assemble import assemble
from burgerfries.training.checkpoints import load_initial_weights, make_checkpoint
from burgerfries.training.loop import Hooks, train_loop
from burgerfries.training.weight_average import WeightAverage

MODEL = "ssd_mobilenet_v2_320x320"
AVERAGED = {"train_config.optimizer.use_moving_average": True, "train_config.optimizer.moving_average_decay": 0.9}


def test_the_average_follows_tensorflows_exponential_moving_average_with_its_update_count():
    ours, theirs = tf.Variable([1.0, -2.0]), tf.Variable([1.0, -2.0])
    average = WeightAverage([ours], decay=0.95)
    reference = tf.train.ExponentialMovingAverage(0.95, num_updates=tf.Variable(0, dtype=tf.int64))
    reference.apply([theirs])
    for step, value in enumerate([[2.0, 0.0], [3.0, 1.0], [-1.0, 4.0], [0.5, 0.5]] * 10, start=1):
        ours.assign(value)
        theirs.assign(value)
        reference._num_updates.assign(step)  # as the OD API passes its global step
        reference.apply([theirs])
        average.update(tf.constant(step, tf.int64))
        np.testing.assert_allclose(average.averages[0].numpy(), reference.average(theirs).numpy(), rtol=1e-6)


def test_swapping_keeps_the_training_weights_and_is_idempotent():
    variable = tf.Variable([1.0, 2.0])
    average = WeightAverage([variable], decay=0.9)
    variable.assign([3.0, 4.0])
    average.update(tf.constant(1, tf.int64))  # decay min(0.9, 2/11): 1 + (3 − 1)·9/11
    averaged = average.averages[0].numpy().copy()
    average.swap_in()
    average.swap_in()
    np.testing.assert_allclose(variable.numpy(), averaged)
    average.swap_out()
    average.swap_out()
    np.testing.assert_allclose(variable.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(averaged, [1 + 2 * 9 / 11, 2 + 2 * 9 / 11], rtol=1e-6)


class Saver(Hooks):
    def __init__(self, manager):
        self.manager = manager

    def at_checkpoint(self, step):
        self.manager.save(checkpoint_number=step)


@pytest.mark.slow
def test_evaluations_checkpoints_and_a_resumed_run_see_the_averages(synthetic_data, tmp_path):
    config = build_config(MODEL, "tiny", overrides={**AVERAGED, "train_config.batch_size": 2})
    setup = assemble(config, synthetic_data / "train.record", seed=0)
    step = tf.Variable(0, dtype=tf.int64)
    manager = tf.train.CheckpointManager(
        make_checkpoint(setup.detector.model, setup.optimizer, step, setup.average), str(tmp_path), 3
    )
    evaluated = {}

    def evaluate(detector):
        evaluated["weights"] = [v.numpy().copy() for v in detector.model.trainable_variables]
        return {}

    train_loop(setup, 0, 4, [Saver(manager)], evaluate, evaluation_steps={2}, checkpoint_at={2, 4})
    average = setup.average
    # after the loop the model holds the averages; the training weights differ from them
    assert bool(average.swapped.numpy())
    for variable, mean in zip(setup.detector.model.trainable_variables, average.averages):
        np.testing.assert_array_equal(variable.numpy(), mean.numpy())
    assert any(not np.allclose(raw.numpy(), mean.numpy()) for raw, mean in zip(average.raw, average.averages))
    # the step-2 evaluation saw the averages of step 2, not the training weights
    assert any(not np.allclose(w, v.numpy()) for w, v in zip(evaluated["weights"], average.averages))
    # a checkpoint loaded as initial weights is the averaged detector (its `model/` variables)
    fresh = assemble(config, synthetic_data / "train.record", seed=1)
    load_initial_weights(fresh.detector.model, manager.latest_checkpoint)
    for loaded, mean in zip(fresh.detector.model.trainable_variables, average.averages):
        np.testing.assert_array_equal(loaded.numpy(), mean.numpy())
    # resuming from step 2: the training weights come back into the model, the averages beside them
    resumed = assemble(config, synthetic_data / "train.record", seed=2)
    restored_step = tf.Variable(0, dtype=tf.int64)
    checkpoint = make_checkpoint(resumed.detector.model, resumed.optimizer, restored_step, resumed.average)
    checkpoint.restore(str(tmp_path / "ckpt-2"))
    raw_at_2 = [r.numpy().copy() for r in resumed.average.raw]
    train_loop(resumed, 2, 2)  # nothing left to train: the swap out and back in only
    resumed.average.swap_out()
    for variable, raw in zip(resumed.detector.model.trainable_variables, raw_at_2):
        np.testing.assert_array_equal(variable.numpy(), raw)
