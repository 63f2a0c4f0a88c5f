"""The answer first: base → final per model with its interval and seeds, and what each phase did."""

from study_runs import MODEL, PLAN, study

from burgerfries.decision.tables import decision_tables
from burgerfries.report.headline import headline


def test_the_headline_gives_the_change_its_interval_the_seeds_and_the_switches():
    answer = headline(decision_tables(study(PLAN)))
    (row,) = answer.models
    assert row.model == MODEL and row.base_runs == 3 and row.final_runs == 3
    assert row.delta > 0 and 0 < row.low < row.delta < row.high
    assert "Switched in 1 phase(s) (weights → 0.5)" in row.verdict
    text = row.change(answer.metric)
    assert "(3 seeds) →" in text and "95 % interval" in text
    assert answer.overall.startswith(f"Pick: {MODEL} with batch 10, lr 0.04, weights 0.5:1.0")
    assert [(o.phase, o.outcome) for o in answer.phases] == [("weights", "switched"), ("batch", "kept")]
    assert answer.markdown().startswith(f"**Pick: {MODEL}")


def test_the_headline_says_what_the_final_gained_on_the_test_photos_with_the_tables_numbers():
    tables = decision_tables(study(PLAN, {(("classification_weight", 0.5),): -0.1}))
    (row,) = headline(tables).models
    final = tables.base_final.iloc[1]
    delta = final["Δ mAP@0.5 on the test photos vs base"]
    low, high = final["test 95 % interval"].split(" (")[0].split(" … ")
    base_mean = tables.base_final.iloc[0]["mAP@0.5 on the test photos"]
    expected = (
        f"mAP@0.5 on the test photos (read by no decision) {base_mean:.3f} → {final['mAP@0.5 on the test photos']:.3f}"
        f", Δ {delta:+.3f}, 95 % interval {float(low):+.3f} … "
        f"{float(high):+.3f}, one-sided p {final['p (final better on test)']:.3f}"
    )
    assert row.on_test == expected
    assert headline(decision_tables(study(PLAN))).models[0].on_test == ""  # an older store: no test photos
