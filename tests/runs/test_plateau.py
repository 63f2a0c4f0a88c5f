"""Read points (where eval loss starts to flatten: the knee) and plateaus on curves whose answer is known."""

import numpy as np
import pandas as pd

from burgerfries.runs.plateau import knee_point, plateau_point

STEPS = list(range(100, 1100, 100))


def curve(values, steps=STEPS):
    return pd.Series(values, index=steps[: len(values)], dtype=float)


def test_clean_decreasing_curve_stops_improving_where_little_improvement_remains():
    values = [3.0, 2.0, 1.2, 0.8, 0.62, 0.6, 0.6, 0.6, 0.6, 0.6]
    point = plateau_point(curve(values), decreasing=True, smoothing=1.0)  # no smoothing: exact answer
    # total improvement 2.4; at step 500 the remaining improvement is 0.02 ≤ 5 % (0.12), at 400 it is 0.2
    assert (point.step, point.status) == (500, "flattened")


def test_increasing_curve_plateau_is_the_mirror():
    values = [0.1, 0.5, 0.8, 0.9, 0.92, 0.93, 0.93, 0.93]
    assert plateau_point(curve(values), decreasing=False, smoothing=1.0).step == 400


def test_special_plateau_cases_are_named():
    assert plateau_point(curve([2.0, 1.0]), decreasing=True).status == "too short"
    constant = plateau_point(curve([1.0] * 5), decreasing=True)
    assert (constant.step, constant.status) == (100, "constant")
    never = plateau_point(curve([5.0, 4.0, 3.0, 2.0, 1.0]), decreasing=True)
    assert (never.step, never.status) == (None, "never flattens")


# Eval loss of 300-step smoke fine-tunes, evaluated six times (steps 50 … 300), in the main job's
# shapes: a fast early drop that slows down, a slower start (warm-up) then the same bend, and a
# noisy one. The 5 % plateau rule calls the first two "never flattens"; they bend, and the knee says where.
MAIN_JOB_SHAPES = {
    "fast drop": [1.90, 1.32, 1.10, 1.01, 0.96, 0.94],
    "after warm-up": [2.30, 2.05, 1.40, 1.12, 1.02, 0.98],
    "noisy": [1.75, 1.26, 1.12, 1.07, 1.04, 1.05],
}
SMOKE_STEPS = [50, 100, 150, 200, 250, 300]


def test_the_read_point_is_the_knee_before_the_last_evaluation_on_main_job_shapes():
    for name, values in MAIN_JOB_SHAPES.items():
        series = curve(values, SMOKE_STEPS)
        point = knee_point(series)
        assert point.status == "flattened", name
        assert 50 < point.step < 300, (name, point.step)
        if name != "noisy":  # the old rule's reading
            assert plateau_point(series, decreasing=True).status == "never flattens", name


def test_a_curve_without_a_bend_never_flattens_and_a_flat_one_is_constant():
    straight = knee_point(curve([3.0, 2.5, 2.0, 1.5, 1.0, 0.5]))
    assert (straight.step, straight.status) == (None, "never flattens")
    rising = knee_point(curve([1.0, 1.1, 1.2, 1.3]))
    assert rising.status == "constant"  # no improvement at all: read at the first evaluation
    assert knee_point(curve([2.0, 1.0])).status == "too short"


def test_noise_does_not_move_the_knee_much():
    rng = np.random.default_rng(0)
    base = 0.5 + 2.5 * np.exp(-np.arange(20) / 3.0)
    steps = list(range(50, 1050, 50))
    clean = knee_point(curve(base, steps)).step
    noisy = knee_point(curve(base + rng.normal(0, 0.03, 20), steps)).step
    assert clean is not None and noisy is not None and abs(noisy - clean) <= 150
