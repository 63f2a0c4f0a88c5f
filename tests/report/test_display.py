"""The page's base-vs-final table shows each number under its own heading: the change on the
validation photos the decisions read, and apart from it the test photos' mean, their mAP by object
size and the change there."""

import numpy as np
from study_runs import PLAN, study

from burgerfries.decision.tables import TEST_DELTA, TEST_INTERVAL, decision_tables
from burgerfries.report.display import base_final_display, base_final_test_display

FINAL_BETTER_ON_TEST = {(("classification_weight", 0.5),): -0.1}  # the final's test mAP: 0.1 under its validation


def test_the_validation_and_the_test_changes_each_keep_their_own_numbers():
    table = decision_tables(study(PLAN, FINAL_BETTER_ON_TEST)).base_final
    validation = table.iloc[1]["Δ mAP@0.5 (last evaluation) vs base"]
    said = base_final_display(table).iloc[1]["Δ vs base (95 % interval)"]
    assert said == f"{validation:+.3f} ({table.iloc[1]['95 % interval']})"
    shown = base_final_test_display(table)
    base, final = shown.iloc[0], shown.iloc[1]
    assert final["Δ vs base (95 % interval)"] == (f"{table.iloc[1][TEST_DELTA]:+.3f} ({table.iloc[1][TEST_INTERVAL]})")
    assert abs(table.iloc[1][TEST_DELTA] - validation) > 0.05  # (the two differ here: neither may stand for the other)
    base_test = np.mean([0.60 + 0.01 * seed for seed in range(3)])  # the base's mAP on the test photos, per seed
    assert base["test mAP@0.5"].startswith(f"{base_test:.3f} ± ")
    # COCO's mAP by object size on the test photos: the mean over the runs; "—" where none was logged
    assert (base["test mAP small"], base["test mAP large"]) == (f"{0.60 / 4:.3f}", f"{0.60 / 2:.3f}")
    final_small = np.mean([0.80, 0.82, 0.79]) - 0.1
    assert final["test mAP small"] == f"{final_small / 4:.3f}" and final["test mAP medium"] == "—"
    assert base["Δ vs base (95 % interval)"] == "—" and list(shown["runs"]) == ["3", "3"]


def test_an_older_store_without_test_photos_says_so_in_the_test_change():
    shown = base_final_test_display(decision_tables(study(PLAN)).base_final)
    final = shown.iloc[1]
    assert final["Δ vs base (95 % interval)"] == "no test photos measured"
    assert final["test mAP@0.5"] == "—" and final["test mAP small"] == "—"
