"""The trials of one phase: what each trial trains (its configuration), which trials a phase
queues, and the label that names what the phase varies. Pure functions of the study definition."""

from __future__ import annotations

from typing import Any

import optuna

from burgerfries.keys import INTEGER_KNOBS
from burgerfries.report.configurations import label
from burgerfries.sweep.definition import Phase, StudyDefinition


def varied_keys(phase: Phase) -> list[str]:
    return sorted({key for point in phase.points for key in point} | set(phase.search_space))


def varied_label(phase: Phase, config: dict[str, Any]) -> str:
    return label(config, varied_keys(phase))


CARRIED = -1  # the grid "point" of a carried-in configuration that is not one of the phase's points


def carried_config(definition: StudyDefinition, phase: Phase, inherited: dict[str, Any]) -> dict[str, Any]:
    """What the phase starts from: base → the previous phases' winner (`inherited`) → the phase's `fixed`."""
    return {**definition.base, **inherited, **phase.fixed}


def _same(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return a == b


def carried_point(phase: Phase, carried: dict[str, Any]) -> int:
    """The index of the grid point that is the carried-in configuration, else CARRIED."""
    for index, point in enumerate(phase.points):
        if all(_same(carried.get(key), value) for key, value in point.items()):
            return index
    return CARRIED


def phase_trials(
    definition: StudyDefinition, phase: Phase, inherited: dict[str, Any], repeats: int, noise_seeds: int
) -> list[dict[str, Any]]:
    """The fixed parameters of every trial a phase queues for one model.

    Every configuration trains `repeats` seeds; the carried-in configuration trains
    max(repeats, noise_seeds), so each phase measures its own seed-to-seed spread (the noise floor).
    A grid's carried-in configuration is usually one of its points; if not (and noise_seeds > 1),
    it joins the phase as an extra configuration. A search phase queues `n_trials` entries whose ranges TPE fills in,
    after the carried-in configuration's seeds (only when noise_seeds > 1).
    """
    carried_seeds = max(repeats, noise_seeds)
    carried = carried_config(definition, phase, inherited)
    if phase.is_grid:
        home = carried_point(phase, carried)
        points = ([CARRIED] if home == CARRIED and noise_seeds > 1 else []) + list(range(len(phase.points)))
        return [
            {"point": point, "seed": seed}
            for point in points
            for seed in range(carried_seeds if point == home else repeats)
        ]
    entries = []
    if noise_seeds > 1:
        entries = [{**{key: carried[key] for key in phase.search_space}, "seed": s} for s in range(carried_seeds)]
    return entries + [{"seed": index % repeats} for index in range(phase.n_trials)]


def config_of(
    definition: StudyDefinition, phase: Phase, inherited: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any] | None:
    """The configuration (with seed) that a trial's parameters stand for; None for a search trial
    whose ranges are not chosen yet."""
    config = carried_config(definition, phase, inherited)
    if phase.is_grid:
        if params["point"] != CARRIED:
            config.update(phase.points[params["point"]])
    elif all(key in params for key in phase.search_space):
        config.update({key: params[key] for key in phase.search_space})
    else:
        return None
    config["seed"] = params["seed"]
    if definition.num_steps and "num_steps" not in config:
        config["num_steps"] = definition.num_steps
    return config


def trial_config(
    definition: StudyDefinition,
    phase: Phase,
    inherited: dict[str, Any],
    trial: optuna.Trial,
    repeats: int,
    noise_seeds: int,
) -> dict[str, Any]:
    """The trial's configuration: its queued point and seed, or TPE's choice within the ranges."""
    if phase.is_grid:
        params: dict[str, Any] = {"point": trial.suggest_categorical("point", [CARRIED, *range(len(phase.points))])}
    else:
        params = {}
        for key, spec in phase.search_space.items():
            if "choices" in spec:
                params[key] = trial.suggest_categorical(key, spec["choices"])
            elif key in INTEGER_KNOBS:
                params[key] = trial.suggest_int(key, int(spec["low"]), int(spec["high"]), log=bool(spec.get("log")))
            else:
                params[key] = trial.suggest_float(
                    key, float(spec["low"]), float(spec["high"]), log=bool(spec.get("log"))
                )
    params["seed"] = trial.suggest_categorical("seed", list(range(max(repeats, noise_seeds))))
    config = config_of(definition, phase, inherited, params)
    assert config is not None  # every parameter was just chosen
    return config
