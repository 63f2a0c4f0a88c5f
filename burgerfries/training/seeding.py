"""Seeding a build's random draws without clearing TensorFlow's kernel cache.

`keras.utils.set_random_seed` also calls `tf.random.set_seed`, and TensorFlow clears its kernel
cache whenever the global seed is set: every traced function then optimises its graph again on its
next call. In a sweep that re-optimisation cost seconds for the reused training step and the eval
step of every trial (bench/RESULTS.md). Keras draws initial weights from
Python's `random` and its own global seed generator, so those are seeded here, as
`set_random_seed` seeds them, and TensorFlow's global seed is left alone: the input pipeline
passes its own seeds to its random ops.
"""

from __future__ import annotations

import random

import keras
import numpy as np

try:  # Keras's own seed state, which `set_random_seed` resets (not public API)
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
except ImportError:  # a Keras that moved them: seed through its public call, cache clear and all
    global_state = None


def seed_weight_draws(seed: int) -> None:
    """Make the next model build draw the initial weights `keras.utils.set_random_seed(seed)` would."""
    if global_state is None:
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)  # recreated from the seed
    random.seed(seed)
    np.random.seed(seed)
