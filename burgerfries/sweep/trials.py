"""The trials of one phase: which trials a phase queues (screening, then confirmation), the
configuration each stands for, and the label that names what the phase varies. Pure functions of
the study definition.

A phase starts from its *incumbent*: the base configuration in the first phase, then the previous
phase's decision (`decision/phase.py`). The incumbent is queued with `max(repeats, noise_seeds)`
seeds (already-trained ones are reused, so a kept incumbent costs nothing); every point of the
phase is a challenger with `repeats` seeds, its `fixed` values applied (a fixed phase's points
challenge the incumbent too). A point equal to the incumbent is the incumbent.

**Reference races** (`carry: varied`, the original study's lr phase): when the phase's `fixed`
values differ from the incumbent's, its points race the incumbent *with those values* (the
reference, e.g. lr 0.04 at batch 5), which takes the incumbent's place in the phase. The race
does not switch anything: its leader's varied values (the learning rate, not batch 5) are then
tested at the incumbent in a phase of their own (`Race.test`, named "<phase>-carried"), which
switches or keeps as any phase does. A `Race` holds both: the phase with each racing model's
reference, and what its test at the incumbent runs.

Each queued trial carries its entry as a user attribute (`ENTRY`): `{"point": index, "seed": s}`
for a grid point (`INCUMBENT` for the incumbent), or the search ranges' values and a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna

from burgerfries.decision.settings import CARRIED
from burgerfries.keys import INTEGER_KNOBS
from burgerfries.runs.configurations import label
from burgerfries.sweep.definition import CARRIED_SUFFIX, Phase, SweepDefinition
from burgerfries.sweep.storage import ENTRY

INCUMBENT = -1  # the "point" of the phase's reference (its incumbent) when it is not one of its points


def varied_keys(phase: Phase) -> list[str]:
    return sorted({key for point in phase.points for key in point} | set(phase.search_space))


def varied_label(phase: Phase, config: dict[str, Any]) -> str:
    """What names a configuration in its phase: the knobs the phase varies and those it pins, as
    this configuration has them ("weights 1:0.5", "lr 0.032 · batch 5"); an incumbent that does
    not share the pinned values shows its own ("lr 0.04 · batch 15"), so no two differ unseen."""
    varied = varied_keys(phase)
    return label(config, varied + sorted(key for key in phase.fixed if key not in varied))


def incumbent_config(definition: SweepDefinition, inherited: dict[str, Any]) -> dict[str, Any]:
    """What the phase starts from: the base, then the previous phases' decisions (`inherited`)."""
    return {**definition.base, **inherited}


def reference_config(definition: SweepDefinition, phase: Phase, inherited: dict[str, Any]) -> dict[str, Any]:
    """What the phase's points are compared with: its incumbent, or in a reference race the
    incumbent with the phase's `fixed` values."""
    incumbent = incumbent_config(definition, inherited)
    return {**incumbent, **phase.fixed} if phase.carry == "varied" else incumbent


@dataclass(frozen=True)
class Race:
    """A reference race and its carried test, one object: `phase` (with `carry: varied`) races
    its points against `references[model]` (that model's incumbent with the phase's fixed values)
    for each model in `references`; what a model's race carries is then tested at its incumbent
    by `test`, the phase named "<phase>-carried"."""

    phase: Phase
    references: dict[str, dict[str, Any]]  # model → its reference configuration

    @property
    def test_name(self) -> str:
        return self.phase.name + CARRIED_SUFFIX

    def leaders(self, decided: dict[str, dict[str, Any]]) -> dict[str, int]:
        """model → the grid point its race carried, from the race's decisions ({model: decision}
        with `outcome` and `config`); a racing model whose race carried nothing is left out."""
        return {
            model: point_index(self.phase, won["config"])
            for model, won in decided.items()
            if model in self.references and won["outcome"] == CARRIED
        }

    def test(self, leaders: dict[str, int]) -> Phase:
        """The race's test at the incumbent: the race's points with nothing fixed, each model
        testing only its leader (`leaders`: model → point index)."""
        return Phase(self.test_name, points=self.phase.points, challenger=dict(leaders))


def race_of(definition: SweepDefinition, phase: Phase, inherited: dict[str, dict[str, Any]]) -> Race | None:
    """The phase's race for the models in `inherited` (model → its inherited configuration), or
    None where it is an ordinary phase for all of them: a model races where the phase has `carry:
    varied` and its reference differs from its incumbent (an incumbent that already has the fixed
    values runs an ordinary phase)."""
    references = {
        model: reference_config(definition, phase, own)
        for model, own in inherited.items()
        if not same_config(reference_config(definition, phase, own), incumbent_config(definition, own))
    }
    return Race(phase, references) if references else None


def point_index(phase: Phase, config: dict[str, Any]) -> int:
    """The grid point whose values `config` has (INCUMBENT when none has them)."""
    for index, point in enumerate(phase.points):
        if all(_same(config.get(key), value) for key, value in point.items()):
            return index
    return INCUMBENT


def point_config(
    definition: SweepDefinition, phase: Phase, inherited: dict[str, Any], point: dict[str, Any]
) -> dict[str, Any]:
    """A challenger: the incumbent with the phase's `fixed` values and the point applied."""
    return {**incumbent_config(definition, inherited), **phase.fixed, **point}


def _same(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return a == b


def same_config(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)


def incumbent_point(definition: SweepDefinition, phase: Phase, inherited: dict[str, Any]) -> int:
    """The index of the grid point that is the phase's reference (`reference_config`), else INCUMBENT."""
    reference = reference_config(definition, phase, inherited)
    for index, point in enumerate(phase.points):
        if same_config(point_config(definition, phase, inherited, point), reference):
            return index
    return INCUMBENT


def phase_trials(
    definition: SweepDefinition,
    phase: Phase,
    inherited: dict[str, Any],
    repeats: int,
    noise_seeds: int,
    model: str | None = None,
) -> list[dict[str, Any]]:
    """The screening entries a phase queues for one model: the incumbent's (the reference's)
    seeds, then `repeats` seeds of every other grid point (of a carried phase, only `model`'s
    leader), or `n_trials` search entries whose ranges TPE fills in."""
    incumbent_seeds = max(repeats, noise_seeds)
    if phase.is_grid:
        home = incumbent_point(definition, phase, inherited)
        points = ([INCUMBENT] if home == INCUMBENT else []) + list(range(len(phase.points)))
        if phase.challenger is not None:
            points = [point for point in points if point == home or point == phase.challenger.get(model)]
        return [
            {"point": point, "seed": seed}
            for point in points
            for seed in range(incumbent_seeds if point == home else repeats)
        ]
    entries = [{"point": INCUMBENT, "seed": seed} for seed in range(incumbent_seeds)]
    return entries + [{"seed": index % repeats} for index in range(phase.n_trials)]


def confirmation_trials(entry: dict[str, Any], trained_seeds: set[int], target: int) -> list[dict[str, Any]]:
    """More seeds of a challenger (`entry`, one of its screening entries) up to `target` runs."""
    point = {key: value for key, value in entry.items() if key != "seed"}
    missing = [seed for seed in range(target + len(trained_seeds)) if seed not in trained_seeds]
    return [{**point, "seed": seed} for seed in missing[: max(0, target - len(trained_seeds))]]


def config_of(
    definition: SweepDefinition, phase: Phase, inherited: dict[str, Any], entry: dict[str, Any]
) -> dict[str, Any] | None:
    """The configuration (with seed) that an entry stands for; None for a search entry whose
    ranges are not chosen yet."""
    if "point" in entry:
        point = entry["point"]
        config = (
            reference_config(definition, phase, inherited)
            if point == INCUMBENT
            else point_config(definition, phase, inherited, phase.points[point])
        )
    elif all(key in entry for key in phase.search_space):
        config = point_config(definition, phase, inherited, {key: entry[key] for key in phase.search_space})
    else:
        return None
    config["seed"] = entry["seed"]
    if definition.num_steps and "num_steps" not in config:
        config["num_steps"] = definition.num_steps
    return config


def grid_choices(definition: SweepDefinition, phase: Phase, inherited: dict[str, Any]) -> dict[str, list[Any]]:
    """Each knob a grid phase varies, with every value it takes in the phase (its points and its
    incumbent), in increasing order: the Optuna distribution the trials record it with."""
    configs = [point_config(definition, phase, inherited, point) for point in phase.points]
    configs.append(reference_config(definition, phase, inherited))
    return {key: sorted({config[key] for config in configs}) for key in varied_keys(phase)}


def fixed_params(
    definition: SweepDefinition, phase: Phase, inherited: dict[str, Any], entry: dict[str, Any]
) -> dict[str, Any]:
    """The Optuna parameters an entry is queued with: its point and the values of the knobs the
    phase varies (so a grid trial records them, not only an index), or the search values it has."""
    params = {key: value for key, value in entry.items() if key != "seed"}
    if phase.is_grid:
        config = config_of(definition, phase, inherited, entry)
        params.update({key: config[key] for key in grid_choices(definition, phase, inherited)})
    return params


def trial_config(
    definition: SweepDefinition, phase: Phase, inherited: dict[str, Any], trial: optuna.Trial
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trial's (configuration, complete entry): its queued entry, with TPE's choice within the
    ranges where a search entry left them open."""
    entry = dict(trial.user_attrs[ENTRY])
    if "point" in entry:
        trial.suggest_categorical("point", [INCUMBENT, *range(len(phase.points))])
        if phase.is_grid:
            for key, choices in grid_choices(definition, phase, inherited).items():
                trial.suggest_categorical(key, choices)
    else:
        for key, spec in phase.search_space.items():
            if "choices" in spec:
                entry[key] = trial.suggest_categorical(key, spec["choices"])
            elif key in INTEGER_KNOBS:
                entry[key] = trial.suggest_int(key, int(spec["low"]), int(spec["high"]), log=bool(spec.get("log")))
            else:
                entry[key] = trial.suggest_float(
                    key, float(spec["low"]), float(spec["high"]), log=bool(spec.get("log"))
                )
    config = config_of(definition, phase, inherited, entry)
    assert config is not None  # every parameter was just chosen
    return config, entry
