"""Which trials a phase queues, and the configuration each stands for."""

from pathlib import Path

from study_yaml import definition

from burgerfries.decision.settings import CARRIED, KEPT
from burgerfries.sweep.definition import parse_definition
from burgerfries.sweep.trials import (
    INCUMBENT,
    config_of,
    confirmation_trials,
    phase_trials,
    race_of,
    reference_config,
    varied_label,
)


def test_each_phase_queues_noise_seeds_of_its_incumbent_and_repeats_of_every_other_point():
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
    # the incumbent's lr (0.04) is not in the lr grid: it joins the phase with its seeds
    entries = phase_trials(study, lr, {"batch_size": 3}, repeats=1, noise_seeds=2)
    assert entries == [{"point": INCUMBENT, "seed": 0}, {"point": INCUMBENT, "seed": 1}, {"point": 0, "seed": 0}]
    assert config_of(study, lr, {"batch_size": 3}, entries[0])["learning_rate"] == 0.04
    # the incumbent always races, with one seed when the study asks for no noise seeds
    assert phase_trials(study, lr, {}, repeats=1, noise_seeds=1) == [
        {"point": INCUMBENT, "seed": 0},
        {"point": 0, "seed": 0},
    ]


def test_a_fixed_phases_points_challenge_the_incumbent_as_it_is():
    study = parse_definition(
        definition(phases=[{"name": "lr", "fixed": {"batch_size": 5}, "grid": {"learning_rate": [0.04, 0.02]}}]),
        Path("s.yaml"),
    )
    (lr,) = study.phases
    entries = phase_trials(study, lr, {}, repeats=1, noise_seeds=2)
    # lr 0.04 at batch 5 is not the incumbent (lr 0.04 at batch 2): the incumbent joins as itself
    assert entries[:2] == [{"point": INCUMBENT, "seed": 0}, {"point": INCUMBENT, "seed": 1}]
    incumbent = config_of(study, lr, {}, entries[0])
    challenger = config_of(study, lr, {}, entries[2])
    assert (incumbent["batch_size"], challenger["batch_size"]) == (2, 5)
    assert varied_label(lr, incumbent) == "lr 0.04 · batch 2"
    assert varied_label(lr, challenger) == "lr 0.04 · batch 5"


def test_confirmation_adds_the_seeds_a_challenger_lacks_up_to_the_target():
    assert confirmation_trials({"point": 1, "seed": 0}, {0}, 3) == [{"point": 1, "seed": 1}, {"point": 1, "seed": 2}]
    assert confirmation_trials({"learning_rate": 0.03, "seed": 4}, {4}, 2) == [{"learning_rate": 0.03, "seed": 0}]
    assert confirmation_trials({"point": 0, "seed": 0}, {0, 1, 2}, 3) == []


def test_a_reference_race_compares_its_points_with_the_incumbent_at_the_fixed_values_and_tests_only_the_varied_ones():
    study = parse_definition(
        definition(
            phases=[
                {"name": "lr", "fixed": {"batch_size": 5}, "carry": "varied", "grid": {"learning_rate": [0.02, 0.04]}}
            ]
        ),
        Path("s.yaml"),
    )
    (lr,) = study.phases
    # the incumbent trains at batch 2, the race at batch 5; an incumbent at batch 5 races as itself: an ordinary phase
    race = race_of(study, lr, {"m": {}, "at batch 5": {"batch_size": 5}, "other": {}})
    assert race is not None and set(race.references) == {"m", "other"}
    assert race.references["m"]["batch_size"] == 5 and race.references["m"]["learning_rate"] == 0.04
    assert race_of(study, lr, {"at batch 5": {"batch_size": 5}}) is None
    # lr 0.04 at batch 5 is the reference: it takes the incumbent's seeds, lr 0.02 one
    assert phase_trials(study, lr, {}, repeats=1, noise_seeds=2) == [
        {"point": 0, "seed": 0},
        {"point": 1, "seed": 0},
        {"point": 1, "seed": 1},
    ]
    assert reference_config(study, lr, {})["batch_size"] == 5
    # the race carried lr 0.02: its test at the incumbent (batch 2) races only that point against it
    decided = {
        "m": {"outcome": CARRIED, "config": {"learning_rate": 0.02, "batch_size": 5}},
        "other": {"outcome": KEPT, "config": {"learning_rate": 0.04, "batch_size": 2}},  # carried nothing
        "at batch 5": {"outcome": CARRIED, "config": {"learning_rate": 0.04, "batch_size": 5}},  # not racing
    }
    assert race.leaders(decided) == {"m": 0}
    carried = race.test(race.leaders(decided))
    assert carried.name == race.test_name == "lr-carried" and carried.carry == "all"
    entries = phase_trials(study, carried, {}, repeats=1, noise_seeds=2, model="m")
    assert entries == [{"point": 0, "seed": 0}, {"point": 1, "seed": 0}, {"point": 1, "seed": 1}]
    assert config_of(study, carried, {}, entries[0])["batch_size"] == 2  # the incumbent's batch, not 5
    assert config_of(study, carried, {}, entries[0])["learning_rate"] == 0.02
    assert phase_trials(study, carried, {}, repeats=1, noise_seeds=2, model="other") == entries[1:]  # no leader


def test_carry_varied_needs_a_grid_and_fixed_values_it_does_not_vary():
    import pytest

    from burgerfries.sweep.definition import DefinitionError

    bad = (
        ({"name": "lr", "carry": "varied", "grid": {"learning_rate": [0.02]}}, "needs `fixed` values"),
        (
            {
                "name": "lr",
                "carry": "varied",
                "fixed": {"batch_size": 5},
                "search": {"n_trials": 2, "learning_rate": {"low": 0.01, "high": 0.1}},
            },
            "needs a grid",
        ),
        (
            {"name": "lr", "carry": "some", "fixed": {"batch_size": 5}, "grid": {"learning_rate": [0.02]}},
            "expected one of all, varied",
        ),
    )
    for phase, message in bad:
        with pytest.raises(DefinitionError, match=message):
            parse_definition(definition(phases=[phase]), Path("s.yaml"))
    clash = [
        {"name": "lr", "carry": "varied", "fixed": {"batch_size": 5}, "grid": {"learning_rate": [0.02]}},
        {"name": "lr-carried", "grid": {"batch_size": [3]}},
    ]
    with pytest.raises(DefinitionError, match="rename that phase"):
        parse_definition(definition(phases=clash), Path("s.yaml"))
