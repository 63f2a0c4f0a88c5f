"""A sweep definition's decision settings: each knob read once, each bad key or value refused with
the place it came from."""

import pytest

from burgerfries.decision.settings import DecisionSettings
from burgerfries.metrics import SUMMARY_METRICS, at_last_evaluation, at_read_point

WHERE = "sweeps/mine.yaml"


def test_a_definition_sets_each_knob_and_leaves_the_rest_at_its_default():
    settings = DecisionSettings.from_study(
        {
            "objective": "eval_loss",
            "decision": "study_rule",
            "decision_settings": {"alpha": 0.1, "read_at": "read_point", "stop_early": False, "looks": 2, "confirm": 0},
        },
        WHERE,
    )
    assert (settings.objective, settings.mode, settings.alpha) == ("eval_loss", "study_rule", 0.1)
    assert (settings.read_at, settings.stop_early, settings.looks, settings.confirm) == ("read_point", False, 2, 0)
    assert settings.look_seeds == DecisionSettings().look_seeds
    assert DecisionSettings.from_study({}, WHERE) == DecisionSettings()


def test_the_metric_is_read_where_read_at_says():
    assert DecisionSettings().metric == at_last_evaluation(SUMMARY_METRICS["mAP_50"])
    assert DecisionSettings(read_at="read_point").metric == at_read_point(SUMMARY_METRICS["mAP_50"])
    assert DecisionSettings().metric.column == "last_mAP_50"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"objective": "speed"}, f"{WHERE}.objective: unknown 'speed'"),
        ({"decision": "vote"}, f"{WHERE}.decision: unknown mode 'vote'"),
        ({"decision_settings": {"beta": 1}}, f"{WHERE}.decision_settings: expected a mapping"),
        ({"decision_settings": {"look_seeds": 2}}, f"{WHERE}.decision_settings: expected a mapping"),
        ({"decision_settings": [1]}, f"{WHERE}.decision_settings: expected a mapping"),
        ({"decision_settings": {"alpha": 0.5}}, f"{WHERE}.decision_settings.alpha: must be in (0, 0.5)"),
        ({"decision_settings": {"alpha": 0}}, f"{WHERE}.decision_settings.alpha: must be in (0, 0.5)"),
        ({"decision_settings": {"read_at": "knee"}}, f"{WHERE}.decision_settings.read_at: expected one of"),
        ({"decision_settings": {"stop_early": "yes"}}, f"{WHERE}.decision_settings.stop_early: expected true"),
        ({"decision_settings": {"looks": 0}}, f"{WHERE}.decision_settings.looks: expected a whole number ≥ 1"),
        ({"decision_settings": {"looks": 1.5}}, f"{WHERE}.decision_settings.looks: expected a whole number ≥ 1"),
        ({"decision_settings": {"confirm": -1}}, f"{WHERE}.decision_settings.confirm: expected a whole number ≥ 0"),
    ],
)
def test_a_bad_key_or_value_is_refused_naming_where_it_came_from(data, message):
    with pytest.raises(ValueError) as error:
        DecisionSettings.from_study(data, WHERE)
    assert str(error.value).startswith(message)


def test_the_messages_list_every_choice_and_the_top_level_keys_stay_top_level():
    def message(data):
        with pytest.raises(ValueError) as error:
            DecisionSettings.from_study(data, WHERE)
        return str(error.value)

    assert message({"objective": "speed"}) == (
        f"{WHERE}.objective: unknown 'speed'; known: mAP_50, eval_loss, wrong_detections, avg_recall, gap"
    )
    assert message({"decision": "vote"}) == f"{WHERE}.decision: unknown mode 'vote'; known: racing, study_rule"
    assert message({"decision_settings": {"read_at": "knee"}}) == (
        f"{WHERE}.decision_settings.read_at: expected one of last, read_point"
    )
    for key in ("objective", "mode"):  # set at the top of the definition, not in decision_settings
        assert message({"decision_settings": {key: "mAP_50"}}).startswith(f"{WHERE}.decision_settings: expected")
    assert DecisionSettings.from_study({"decision_settings": {"looks": 1}}, WHERE).looks == 1
    assert DecisionSettings().as_dict() == {
        "objective": "mAP_50",
        "mode": "racing",
        "alpha": 0.05,
        "confirm": 1,
        "looks": 3,
        "look_seeds": 3,
        "stop_early": True,
        "stop_when_saturated": False,
        "read_at": "last",
    }
    assert DecisionSettings.from_study({"decision_settings": {"stop_when_saturated": True}}, WHERE).stop_when_saturated
