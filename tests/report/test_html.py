"""The report from data frames alone (no MLflow): a killed run and its re-run, two models, and
phase and study names a user typed, however odd."""

import numpy as np
import pandas as pd
import pytest

from burgerfries.names import slug
from burgerfries.report.html import build_report
from burgerfries.runs.run_set import RunSet

MODELS = ["ssd_mobilenet_v2_320x320", "ssd_mobilenet_v2_fpnlite_320x320"]
ODD_NAMES = ["weights/ratio", "../../escape", 'it\'s "quoted"', "<script>alert(2)</script>", "größe ☃"]


def study_runs(phases: list[str], killed: bool = True, title: str = "study", unweighted: bool = False) -> RunSet:
    """Each phase: weights 1:1 and 0.5:1, and a killed 1:1 run. The 0.5:1 run has the lower weighted
    eval loss; with `unweighted`, its unweighted loss (classification at weight 1) is the higher."""
    runs, metrics = [], []
    start = 0
    for phase in phases:
        for model in MODELS:
            for weight, loss, status in ((1.0, 0.5, "FINISHED"), (0.5, 0.4, "FINISHED"), (1.0, 0.9, "KILLED")):
                if status == "KILLED" and not killed:
                    continue
                run_id = f"run{len(runs):04d}" + "0" * 24
                start += 1
                runs.append(
                    {
                        "run_id": run_id,
                        "name": f"{phase} {weight}",
                        "status": status,
                        "phase": phase,
                        "model": model,
                        "batch_size": "10",
                        "learning_rate": "0.04",
                        "classification_weight": str(weight),
                        "localization_weight": "1.0",
                        "num_steps": "600",
                        "seed": "0",
                        "is_base": weight == 1.0,
                        "varied": f"{weight:g}:1",
                        "trial": "",
                        "dataset_hash": "h",
                        "code_version": "c",
                        "start_time": start,
                    }
                )
                steps = [100, 200, 300] if status == "KILLED" else [100, 200, 300, 400, 500, 600]
                for i, step in enumerate(steps):
                    for key, value in (
                        ("eval/loss_total", loss + 2 * np.exp(-i)),
                        ("eval/mAP_50", 0.9 - np.exp(-i)),
                        ("eval/AR_1", 0.4),
                        ("eval/AR_10", 0.6),
                        ("eval/AR_100", 0.7),
                        ("eval/wrong_detections", 0.0),
                    ):
                        metrics.append((run_id, key, step, value))
                metrics += [(run_id, "train/loss_total", s, loss) for s in range(1, steps[-1] + 1, 10)]
                if unweighted:
                    fair = loss if weight == 1.0 else 0.8
                    metrics += [
                        (run_id, "eval/loss_total_unweighted", s, fair + 2 * np.exp(-i)) for i, s in enumerate(steps)
                    ]
                    metrics += [(run_id, "train/loss_total_unweighted", s, fair) for s in range(1, steps[-1] + 1, 10)]
    return RunSet(
        title,
        pd.DataFrame(runs).set_index("run_id"),
        pd.DataFrame(metrics, columns=["run_id", "key", "step", "value"]),
        tracking_uri="sqlite:///x.db",
    )


def test_a_killed_run_sharing_a_label_with_its_rerun_is_listed_and_left_out(tmp_path):
    built = build_report(study_runs(["weights"]), tmp_path)
    for model in MODELS:
        ranked = built.tables[f"phase_weights_{model}"]
        # equal mAP@0.5: the order they ran in (the base first), never the label's string order
        assert list(ranked["varied"]) == ["1:1", "0.5:1"] and list(ranked["runs"]) == [1, 1]
        assert list(ranked["role"]) == ["incumbent, carried on", "challenger"]
    assert len(built.tables["unranked_runs"]) == 2 and set(built.tables["unranked_runs"]["status"]) == {"KILLED"}
    recall = built.tables["recall_weights"]
    assert list(recall.index) == ["1:1", "0.5:1"] and len(recall.columns) == 8  # 4 columns per model
    assert set(built.final["model"]) == set(MODELS)
    assert "Runs left out of the decisions" in built.path.read_text()


def test_the_page_says_what_each_phase_decided_and_how(tmp_path):
    built = build_report(study_runs(["weights"], unweighted=True), tmp_path)
    page = built.path.read_text()
    assert "Decision metric: <b>mAP@0.5 (last evaluation)</b>" in page
    assert "kept 1:1: no configuration has two runs yet" in page  # one seed each: nothing beats the base
    assert "How each phase decides" in page and "Where runs are read" in page
    base_final = built.tables["base_vs_final"]
    assert list(base_final["Model"]) == [f"{model} ({kind})" for model in MODELS for kind in ("base", "final")]


def test_phase_names_never_leave_the_report_folder(tmp_path):
    out = tmp_path / "report"
    built = build_report(study_runs(ODD_NAMES, killed=False, title="../<b>study</b>"), out)
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert all(path.parent == out for path in written)
    assert len(written) == len(built.tables) + 1  # index.html and one CSV per table, none overwritten
    page = built.path.read_text()
    assert "<script>alert(2)</script>" not in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "größe ☃" in page
    # phases in the order they ran, whatever their names
    assert [page.index(name) for name in ("weights/ratio", "../../escape")] == sorted(
        page.index(name) for name in ("weights/ratio", "../../escape")
    )


@pytest.mark.parametrize("name", ODD_NAMES + ["..", ".", "", "a" * 300, "plain_name-1.0"])
def test_slugs_are_plain_file_names_and_keep_names_apart(name):
    value = slug(name)
    assert value and "/" not in value and value not in (".", "..") and len(value) <= 90
    assert all(c.isalnum() or c in "-_." for c in value)
    assert slug(name + "x") != value
    if name == "plain_name-1.0":
        assert value == name


def test_the_finalists_diagnostics_are_shown_when_the_job_can_compute_them(tmp_path):
    from burgerfries.evaluation.diagnostics import FinalistDiagnostics, diagnose
    from burgerfries.evaluation.ground_truth import GroundTruth

    truth = GroundTruth("a", 10, 10, np.array([[0.1, 0.1, 0.5, 0.5]]), np.array([1]), np.zeros((0, 4)))
    found = {"boxes": np.array([[0.1, 0.1, 0.5, 0.5]]), "classes": np.array([1]), "scores": np.array([0.9])}
    result = diagnose([truth], [found], {1: "burger", 2: "fries"}, 0.5)
    asked = []

    def diagnostics_of(run_id):
        asked.append(run_id)
        return FinalistDiagnostics(result) if len(asked) == 1 else None

    built = build_report(study_runs(["weights"], killed=False), tmp_path, diagnostics_of=diagnostics_of)
    page = built.path.read_text()
    assert len(asked) == 2  # each model's base (which is also its final here), once
    assert "Precision–recall, IoU 0.5" in page and "F1 by score threshold" in page
    assert "No diagnostics" in page  # the second finalist's could not be computed
    assert any(name.startswith("confusion_") for name in built.tables)
