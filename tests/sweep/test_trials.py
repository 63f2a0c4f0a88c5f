"""Which trials a phase queues, and the configuration each stands for."""

from pathlib import Path

from study_yaml import definition

from burgerfries.sweep.definition import parse_definition
from burgerfries.sweep.trials import CARRIED, config_of, phase_trials


def test_each_phase_queues_noise_seeds_of_its_carried_in_configuration_and_repeats_of_every_other():
    study = parse_definition(
        definition(
            phases=[{"name": "batch", "grid": {"batch_size": [2, 3]}}, {"name": "lr", "grid": {"learning_rate": [0.1]}}]
        ),
        Path("s.yaml"),
    )
    batch, lr = study.phases
    # batch 2 is the base: it gets 3 seeds, batch 3 one
    assert phase_trials(study, batch, {}, repeats=1, noise_seeds=3) == [
        {"point": 0, "seed": 0},
        {"point": 0, "seed": 1},
        {"point": 0, "seed": 2},
        {"point": 1, "seed": 0},
    ]
    # --repeats 2: every configuration twice, the carried-in one still 3 times
    assert [e["point"] for e in phase_trials(study, batch, {}, repeats=2, noise_seeds=3)] == [0, 0, 0, 1, 1]
    # the carried-in lr (0.04) is not in the lr grid: it joins the phase with its seeds
    entries = phase_trials(study, lr, {"batch_size": 3}, repeats=1, noise_seeds=2)
    assert entries == [{"point": CARRIED, "seed": 0}, {"point": CARRIED, "seed": 1}, {"point": 0, "seed": 0}]
    assert config_of(study, lr, {"batch_size": 3}, entries[0])["learning_rate"] == 0.04
    assert phase_trials(study, lr, {}, repeats=1, noise_seeds=1) == [{"point": 0, "seed": 0}]
