"""The answer first: base → final per model with its interval and seeds, and what each phase did."""

from test_tables import MODEL, PLAN, study

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
