"""A sweep reuses a traced training setup across trials of one shape: a reused setup must train
exactly as a fresh one would, with the new trial's loss weights, learning rate and seed."""

import numpy as np
import pytest

from burgerfries.model.config import build_config
from burgerfries.training.assemble import assemble
from burgerfries.training.loop import run_steps
from burgerfries.training.setups import TrainingSetups, shape_key

MODEL = "ssd_mobilenet_v2_320x320"
STEPS = 3


def config(batch_size=2, learning_rate=0.04, classification_weight=1.0, localization_weight=1.0):
    knobs = {
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "classification_weight": classification_weight,
        "localization_weight": localization_weight,
        "num_steps": STEPS,
    }
    return build_config(MODEL, "tiny", 2, knobs)


def train_losses(setup):
    results = list(run_steps(setup, 0, STEPS))
    return [result.losses for result in results], [result.learning_rate for result in results]


def test_a_reused_setup_trains_as_a_fresh_one_with_the_new_trials_settings(synthetic_data):
    record = synthetic_data / "train.record"
    first = config()
    other = config(learning_rate=0.02, classification_weight=0.5, localization_weight=2.0)
    fresh_losses, fresh_rates = train_losses(assemble(first, record, seed=0))
    fresh_other_losses, fresh_other_rates = train_losses(assemble(other, record, seed=1))

    setups = TrainingSetups()
    setup = setups.get(first, record, seed=0)
    train_losses(setup)
    again = setups.get(other, record, seed=1)
    assert again is setup and setups.reused == 1
    other_losses, other_rates = train_losses(again)
    assert setup.train_step.experimental_get_tracing_count() == 1  # one trace for both trials

    np.testing.assert_allclose(other_rates, fresh_other_rates, rtol=1e-6)
    for reused, fresh in zip(other_losses, fresh_other_losses):
        for key, value in fresh.items():
            assert reused[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
        # the weighted terms follow this trial's weights, not the first trial's
        assert reused["loss_classification"] == pytest.approx(0.5 * reused["loss_classification_unweighted"])
        assert reused["loss_localization"] == pytest.approx(2.0 * reused["loss_localization_unweighted"])

    back = setups.get(first, record, seed=0)
    assert back is setup
    back_losses, back_rates = train_losses(back)
    np.testing.assert_allclose(back_rates, fresh_rates, rtol=1e-6)
    for reused, fresh in zip(back_losses, fresh_losses):
        for key, value in fresh.items():
            assert reused[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


def test_another_shape_gets_its_own_setup(synthetic_data):
    record = synthetic_data / "train.record"
    assert shape_key(config()) == shape_key(config(learning_rate=0.01, classification_weight=0.5))
    assert shape_key(config()) != shape_key(config(batch_size=3))
    setups = TrainingSetups(kept=1)
    small = setups.get(config(), record)
    assert setups.get(config(batch_size=3), record) is not small
    assert setups.get(config(), record) is not small  # only one shape kept: built again
    assert setups.reused == 0


def test_seeding_weight_draws_gives_the_weights_keras_seeding_gives():
    """training/seeding.py seeds without clearing TensorFlow's kernel cache, but must draw exactly
    what `keras.utils.set_random_seed` makes a build draw."""
    import keras

    from burgerfries.training.seeding import seed_weight_draws

    def kernel(seed, seeding):
        seeding(seed)
        layer = keras.layers.Conv2D(4, 3)
        layer.build((None, 8, 8, 3))
        return layer.kernel.numpy()

    np.testing.assert_array_equal(kernel(3, seed_weight_draws), kernel(3, keras.utils.set_random_seed))
    assert not np.array_equal(kernel(3, seed_weight_draws), kernel(4, seed_weight_draws))
