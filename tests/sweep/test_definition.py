"""Sweep definitions are parsed and validated before anything runs; every problem names the file and key."""

import pytest
import yaml
from study_yaml import definition

from burgerfries.model import DEFAULT_RESTORE
from burgerfries.sweep import DEFAULT_STUDY
from burgerfries.sweep.definition import DefinitionError, load_definition, parse_definition


def test_the_original_study_definition():
    study = load_definition(DEFAULT_STUDY)
    assert [p.name for p in study.phases] == ["weights", "batch", "lr"]
    assert [len(p.points) for p in study.phases] == [3, 3, 4]
    assert study.phases[0].points[0] == {"classification_weight": 1.0, "localization_weight": 0.5}
    assert study.phases[2].fixed == {"batch_size": 5}
    assert study.base == {
        "batch_size": 10,
        "learning_rate": 0.04,
        "classification_weight": 1.0,
        "localization_weight": 1.0,
    }
    assert len(study.models) == 2
    assert study.epochs == 47.6 and study.num_steps is None  # every trial 300 steps on the synthetic set


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"colour": "red"}, "unknown keys ['colour']"),
        ({"models": ["yolo"]}, "unknown model 'yolo'"),
        ({"models": []}, "non-empty list"),
        ({"phases": [{"name": "batch", "grid": {"batch_size": []}}]}, "non-empty list of values"),
        ({"phases": [{"name": "batch", "grid": []}]}, "empty grid"),
        ({"phases": [{"name": "x", "grid": {"momentum": [0.9]}}]}, "unknown parameter 'momentum'"),
        (
            {"phases": [{"name": "x", "grid": {"batch_size": [2]}, "search": {"n_trials": 2}}]},
            "exactly one of grid or search",
        ),
        (
            {"phases": [{"name": "x", "search": {"n_trials": 0, "learning_rate": {"low": 0.01, "high": 0.1}}}]},
            "positive integer",
        ),
        (
            {"phases": [{"name": "x", "search": {"n_trials": 3, "learning_rate": {"low": 0.1, "high": 0.01}}}]},
            "low < high",
        ),
        ({"phases": [{"name": "x", "grid": {"batch_size": [2]}, "repeat": 2}]}, "unknown keys ['repeat']"),
        ({"selection": ["wrong_detections"]}, "no longer decides"),
        ({"objective": "speed"}, "objective: unknown 'speed'"),
        ({"decision": "vote"}, "decision: unknown mode 'vote'"),
        ({"decision_settings": {"alpha": 0.9}}, "alpha: must be in (0, 0.5)"),
        ({"decision_settings": {"looks": 0}}, "looks: expected a whole number ≥ 1"),
        ({"base": {"batch_size": 2}}, "missing"),
        ({"epochs": 0}, "epochs: expected a positive number of passes"),
        ({"epochs": "long"}, "epochs: expected a positive number of passes"),
        ({"num_steps": 2.5}, "num_steps: expected a positive integer"),
    ],
)
def test_bad_definitions_are_refused_before_anything_runs(changes, message, tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(definition(**changes)))
    with pytest.raises(DefinitionError, match="study.yaml") as error:
        load_definition(path)
    assert message in str(error.value)


def test_search_phase_parses():
    study = parse_definition(
        definition(
            phases=[
                {"name": "lr", "search": {"n_trials": 4, "learning_rate": {"low": 0.01, "high": 0.08, "log": True}}}
            ]
        ),
        "inline",
    )
    assert study.phases[0].num_configs == 4 and not study.phases[0].is_grid


def test_weights_must_name_the_studys_models(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(definition(weights={"ssd_mobilenet_v2_fpnlite_320x320": "x"})))
    with pytest.raises(DefinitionError, match="weights"):
        load_definition(path)
    path.write_text(yaml.safe_dump(definition(weights={"ssd_mobilenet_v2_320x320": "models/zoo"})))
    assert load_definition(path).weights == {"ssd_mobilenet_v2_320x320": "models/zoo"}
    path.write_text(yaml.safe_dump(definition(weights="pretrained", restore="full")))  # one value for every model
    loaded = load_definition(path)
    assert loaded.weights == {"ssd_mobilenet_v2_320x320": "pretrained"}
    assert loaded.restore == {"ssd_mobilenet_v2_320x320": "full"}
    path.write_text(yaml.safe_dump(definition(restore={"ssd_mobilenet_v2_320x320": "heads"})))
    with pytest.raises(DefinitionError, match="restore: expected one of detection"):
        load_definition(path)


def test_every_model_gets_a_restore_mode_the_default_where_none_is_given(tmp_path):
    path = tmp_path / "study.yaml"
    models = ["ssd_mobilenet_v2_320x320", "ssd_mobilenet_v2_fpnlite_320x320"]
    path.write_text(yaml.safe_dump(definition(models=models, restore={models[1]: "full"})))
    assert load_definition(path).restore == {models[0]: DEFAULT_RESTORE, models[1]: "full"}
    # from the shipped weights, each model restores what was measured to work for it
    path.write_text(yaml.safe_dump(definition(models=models, weights="pretrained")))
    assert load_definition(path).restore == {models[0]: "detection", models[1]: "detection_and_box_predictor"}
