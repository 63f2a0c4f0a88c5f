"""Every metric, named once: the MLflow keys the jobs log, and the per-run summary columns that
decisions, tables, the report page and the CLI read, each with its label, direction and format.

MLflow keys cannot hold '@', hence `eval/mAP_50` for mAP@0.5. Losses are logged as the model
trains them (weighted by the run's loss weights) and unweighted (both weights at 1), so runs
with different loss weights can be compared on one scale.

`eval/*` is the periodic held-out evaluation a run's read point and a sweep's decisions read: on a
three-split folder, its validation photos (on a folder prepared before validation splits existed,
its test photos — the stores those runs are in say so by having no `test/*`). `test/*` is the
weights the run kept (training/peak_weights.py) on the test photos.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

# MLflow metric keys: periodic held-out evaluation (one value per evaluated checkpoint)
EVAL_MAP = "eval/mAP"
EVAL_MAP_50 = "eval/mAP_50"
EVAL_MAP_75 = "eval/mAP_75"
EVAL_AR_1 = "eval/AR_1"
EVAL_AR_10 = "eval/AR_10"
EVAL_AR_100 = "eval/AR_100"
EVAL_LOSS = "eval/loss_total"
EVAL_LOSS_UNWEIGHTED = "eval/loss_total_unweighted"
EVAL_WRONG_DETECTIONS = "eval/wrong_detections"
EVAL_WRONG_DETECTION_RATE = "eval/wrong_detection_rate"
EVAL_SECONDS = "eval/seconds"
# … the test photos (eval.record), once, at a run's last step: the same quantities as `eval/*`
# under `test/`, read by the final tables and nothing that chooses
TEST_PREFIX = "test/"
TEST_MAP_50 = "test/mAP_50"
# COCO's mAP@[.5:.95] by object size (areas under 32² / 96² pixels of the stored image are small /
# medium), where the test photos hold objects of that size
OBJECT_SIZES = ("small", "medium", "large")
TEST_MAP_BY_SIZE = {size: f"test/mAP_{size}" for size in OBJECT_SIZES}
# … and their summary columns (each logged once, at a run's last step)
TEST_BY_SIZE_COLUMNS = tuple(f"test_mAP_{size}" for size in OBJECT_SIZES)
TEST_SECONDS = "test/seconds"
# The last step's weights on the test photos, where a run kept its validation peak before them
# (training/peak_weights.py): what keeping the peak did, read by no choice
LAST_WEIGHTS_TEST_PREFIX = "test_last_weights/"
# … and training (one value per step)
TRAIN_LOSS = "train/loss_total"
TRAIN_LOSS_UNWEIGHTED = "train/loss_total_unweighted"
TRAIN_LEARNING_RATE = "train/learning_rate"
TRAIN_STEPS_PER_SEC = "train/steps_per_sec"
# The keys a run's summary is computed from (`runs/summary.py`): what the report reads back
SUMMARY_KEYS = (
    EVAL_LOSS,
    EVAL_MAP_50,
    EVAL_AR_1,
    EVAL_AR_10,
    EVAL_AR_100,
    EVAL_WRONG_DETECTIONS,
    EVAL_WRONG_DETECTION_RATE,
    TRAIN_LOSS,
    TRAIN_STEPS_PER_SEC,
    EVAL_LOSS_UNWEIGHTED,
    TRAIN_LOSS_UNWEIGHTED,
    TEST_MAP_50,
    *TEST_MAP_BY_SIZE.values(),
)
# The eval metrics a command line prints, in this order
PRINTED_EVAL = (
    EVAL_MAP_50,
    EVAL_MAP,
    EVAL_AR_1,
    EVAL_AR_10,
    EVAL_AR_100,
    EVAL_LOSS,
    EVAL_LOSS_UNWEIGHTED,
    EVAL_WRONG_DETECTIONS,
)


def as_test(measured: dict[str, float], prefix: str = TEST_PREFIX) -> dict[str, float]:
    """An evaluation's `eval/*` metrics renamed `test/*` (what a run logs for its test photos), or `prefix`*."""
    return {prefix + key.split("/", 1)[1]: value for key, value in measured.items() if key.startswith("eval/")}


@dataclass(frozen=True)
class Metric:
    """A quantity of a run's summary (one row per run, `runs/summary.py`)."""

    column: str
    label: str
    higher_is_better: bool
    digits: int = 3
    # The MLflow key that gives it at one checkpoint ("" when it needs more: the training loss,
    # or several keys)
    eval_key: str = ""
    heading: str = ""  # its column heading on the report page ("": the label)

    @property
    def short(self) -> str:
        return self.heading or self.label

    def oriented(self, difference: float) -> float:
        """`difference` (challenger − incumbent) with the sign that makes better positive."""
        return difference if self.higher_is_better else -difference

    def format(self, value: float) -> str:
        return f"{value:.{self.digits}f}"


SUMMARY_METRICS = {
    metric.column: metric
    for metric in (
        Metric("mAP_50", "mAP@0.5", True, eval_key=EVAL_MAP_50),
        Metric("eval_loss", "eval loss", False, 4, EVAL_LOSS),
        Metric("eval_loss_unweighted", "eval loss (unweighted)", False, 4, EVAL_LOSS_UNWEIGHTED),
        Metric(
            "wrong_detection_rate",
            "wrong detections per image",
            False,
            eval_key=EVAL_WRONG_DETECTION_RATE,
            heading="wrong det. per image",
        ),
        Metric("wrong_detections", "wrong detections", False, 0, EVAL_WRONG_DETECTIONS),
        Metric("avg_recall", "avg recall (AR@1, 10, 100)", True, heading="avg recall"),
        Metric("gap", "|eval − train| loss gap", False, 4),
        Metric("gap_unweighted", "|eval − train| loss gap (unweighted)", False, 4),
        Metric("AR_1", "AR@1", True, eval_key=EVAL_AR_1),
        Metric("AR_10", "AR@10", True, eval_key=EVAL_AR_10),
        Metric("AR_100", "AR@100", True, eval_key=EVAL_AR_100),
        Metric("steps_per_sec", "steps/s", True, 1),
        # the kept weights on the test photos (NaN for runs on a folder without validation photos)
        Metric("test_mAP_50", "mAP@0.5 on the test photos", True, eval_key=TEST_MAP_50, heading="test mAP@0.5"),
        *(
            Metric(column, f"mAP of {size} objects on the test photos", True, eval_key=key, heading=f"test mAP {size}")
            for size, column, key in zip(OBJECT_SIZES, TEST_BY_SIZE_COLUMNS, TEST_MAP_BY_SIZE.values())
        ),
    )
}
# The summary columns of the test photos (each logged once, at a run's last step)
TEST_COLUMNS = ("test_mAP_50", *TEST_BY_SIZE_COLUMNS)
# Where a run's curves are read (steps of that run): a configuration of several runs shows its
# representative run's, never a mean of steps.
STEP_COLUMNS = ("flatten_step", "map_plateau_step", "read_step")
LAST = "last_"  # prefix of a summary column read at the run's last evaluation instead of its read point


def at_last_evaluation(metric: Metric) -> Metric:
    """`metric` read at the run's last evaluation (its `last_…` column)."""
    return replace(
        metric,
        column=f"{LAST}{metric.column}",
        label=f"{metric.label} (last evaluation)",
        heading=f"{metric.short}, last eval.",
    )


def at_read_point(metric: Metric) -> Metric:
    """`metric` read where the run's eval loss starts to flatten (the plain summary column)."""
    return replace(metric, label=f"{metric.label} (at the read point)", heading=f"{metric.short} at read point")


def summary_metric(column: str) -> Metric:
    """The metric of a summary column, `last_…` ones included."""
    if column.startswith(LAST):
        return at_last_evaluation(SUMMARY_METRICS[column[len(LAST) :]])
    return SUMMARY_METRICS[column]


def describe_evaluation(metrics: Mapping[str, float], what: str = "validation photos", prefix: str = "eval/") -> str:
    """An evaluation in one line: mAP@0.5, COCO's mAP, and COCO's mAP by object size (areas
    under 32² / 96² pixels of the stored image are small / medium; "none" where the split has no
    such object, as COCO leaves it undefined). `prefix` "test/" reads the test photos' metrics."""

    def value(key: str) -> str:
        return f"{metrics[prefix + key]:.3f}" if prefix + key in metrics else "none"

    sizes = ", ".join(f"{size} {value(f'mAP_{size}')}" for size in OBJECT_SIZES)
    return f"{what}: mAP@0.5 {value('mAP_50')}, mAP@[.5:.95] {value('mAP')} (by object size: {sizes})"
