"""The photos study: what `sweep --data DIR` runs, its base exactly `train --data DIR`'s run, its
length phase in passes over the training photos."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from test_plan import original_plan

from burgerfries.jobs.sweep.runner import run_config_key, trial_settings
from burgerfries.jobs.train_plan import TrainSettings, resolve_train
from burgerfries.model.config import PROFILES, knob_values
from burgerfries.model.input_size import AUTO
from burgerfries.sweep import ORIGINAL_STUDY, PHOTOS_STUDY, study_path
from burgerfries.sweep.definition import load_definition
from burgerfries.sweep.plan import SweepPlan
from burgerfries.sweep.trials import config_of


def photos_plan(data: Path, num_train_images: int) -> SweepPlan:
    return original_plan(
        definition=load_definition(PHOTOS_STUDY),
        study_path=PHOTOS_STUDY,
        data=data,
        num_train_images=num_train_images,
        experiment="photos_study",
        register="photos_study",
    )


def test_which_study_runs():
    assert study_path(None, data_given=True) == PHOTOS_STUDY
    assert study_path(None, data_given=False) == ORIGINAL_STUDY
    assert study_path("original_study", data_given=True) == ORIGINAL_STUDY  # by name, on any folder
    assert study_path("photos_study", data_given=False) == PHOTOS_STUDY
    assert study_path("sweeps/mine.yaml", data_given=True) == Path("sweeps/mine.yaml")


def test_the_base_trains_exactly_what_train_data_trains(synthetic_data):
    definition = load_definition(PHOTOS_STUDY)
    (model,) = definition.models
    trained = resolve_train(TrainSettings(data=synthetic_data, input_size=AUTO))  # `train --data DIR`'s defaults
    assert trained.settings.model == model
    plan = photos_plan(synthetic_data, trained.folder.num_train_images)
    base = config_of(definition, definition.phases[0], {}, {"point": -1, "seed": 0})
    trial = resolve_train(replace(trial_settings(plan, definition.phases[0], model, base, {}, "t", 0), nested=False))
    assert trial.num_steps == trained.num_steps == plan.trial_steps(model, base)
    assert knob_values(trial.config) == knob_values(trained.config)
    assert trained.config["train_config"]["num_epochs"] == PROFILES["smoke"]["epochs"] == definition.base["epochs"]
    assert (trial.start.weights, trial.start.restore) == (trained.start.weights, trained.start.restore)
    assert trial.config == trained.config


def test_the_base_chooses_its_input_size_as_train_data_does(synthetic_data, tmp_path):
    ssd = "ssd_mobilenet_v2_320x320"  # its anchors at 160 px miss these boxes: a size is chosen
    study = tmp_path / "photos_ssd.yaml"
    study.write_text(PHOTOS_STUDY.read_text().replace("ssd_mobilenet_v2_fpnlite_320x320", ssd))
    definition = load_definition(study)
    assert definition.automatic_input_size and "input_size" not in definition.base
    # `train --data DIR --model M --epochs 95.2`: a model added under `models:` trains the study's
    # passes, not its own default (SSD's 142.8 is the length phase's longer point)
    passes = definition.base["epochs"]
    trained = resolve_train(TrainSettings(data=synthetic_data, model=ssd, input_size=AUTO, epochs=passes))
    assert trained.input_size_choice is not None and trained.input_size_choice.size != 160
    plan = replace(photos_plan(synthetic_data, trained.folder.num_train_images), definition=definition)
    assert plan.input_size(ssd) == trained.input_size_choice.size
    assert trained.input_size_choice.why in plan.describe()
    base = config_of(definition, definition.phases[0], {}, {"point": -1, "seed": 0})
    trial = resolve_train(replace(trial_settings(plan, definition.phases[0], ssd, base, {}, "t", 0), nested=False))
    assert trial.config == trained.config


@pytest.mark.parametrize("point, batch, passes", [(0, 10, 47.6), (1, 10, 142.8)])
def test_the_length_phase_trains_passes_over_the_training_photos(synthetic_data, point, batch, passes):
    definition = load_definition(PHOTOS_STUDY)
    (model,) = definition.models
    images = resolve_train(TrainSettings(data=synthetic_data)).folder.num_train_images
    plan = photos_plan(synthetic_data, images)
    length = definition.phases[0]
    config = config_of(definition, length, {}, {"point": point, "seed": 1})
    trial = resolve_train(replace(trial_settings(plan, length, model, config, {}, "t", 0), nested=False))
    assert trial.num_steps == plan.trial_steps(model, config) == -(-passes * images // batch)
    assert trial.config["train_config"]["num_epochs"] == passes
    # the key a queued trial gets is the one its run's logged knobs give (reuse and decisions group by it)
    from burgerfries.jobs.train import short_params
    from burgerfries.runs.configurations import config_key

    assert run_config_key(plan, model, config) == config_key({**short_params(trial), "model": model})
    # the batch phase keeps the passes: a smaller batch trains more steps
    batch_phase = definition.phases[1]
    smaller = config_of(definition, batch_phase, {"epochs": passes}, {"point": 0, "seed": 0})
    assert plan.trial_steps(model, smaller) == -(-passes * images // 5)


def test_the_plan_estimates_each_trial_at_its_own_length(synthetic_data):
    from burgerfries.sweep.plan import SECONDS_PER_NEW_SHAPE, SECONDS_PER_TRIAL

    text = photos_plan(synthetic_data, 100).describe({"ssd_mobilenet_v2_fpnlite_320x320": 1.0})
    assert "study photos_study" in text and "phase 1 length" in text and "phase 2 batch" in text
    # 100 training photos, 1 s per step at batch 10 (a step's time taken as proportional to its batch).
    # Phase 1: the base's 3 seeds (95.2 passes: 952 steps), 47.6 and 142.8 passes (476, 1428 steps), and
    # at worst 2 confirmation seeds and 2 more looks of 3 seeds per side (14 trials) at the longest, 1428.
    # Phase 2 at the base's passes: batch 5 (1904 steps, as 952 at batch 10) and 15 (635 steps, as
    # 952.5), and 14 worst-case trials at the costlier, batch 15.
    step_seconds = 3 * 952 + 476 + 1428 + 14 * 1428 + 952 + 952.5 + 14 * 952.5
    assert "35 trials at most" in text
    expected = (step_seconds + 35 * SECONDS_PER_TRIAL + 3 * SECONDS_PER_NEW_SHAPE) / 60
    assert f"at most {expected:.1f} min" in text
    assert "length in passes over the 100 training images: the base's 95.2 passes are" in text
    assert "whatever its batch size" not in text
