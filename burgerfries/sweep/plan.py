"""The plan of a sweep: each trial's configuration, the label of what its phase varies, and the
printed plan with an estimated duration."""

from __future__ import annotations

from typing import Any

import optuna

from burgerfries.model import RESTORE_MODES
from burgerfries.model.config import PROFILES, load_config
from burgerfries.pretrained import NONE
from burgerfries.report.configurations import label
from burgerfries.sweep.definition import Phase, StudyDefinition

# A smoke trial's time on top of its steps, measured on an AVX2-only machine (bench/RESULTS.md,
# "Where a smoke trial's time goes"), less with AVX-512: evaluating, resetting and logging when it
# reuses a traced step (20–21 s), and the tracing added by the first trial of each (model, batch
# size), which builds it (31–33 s in all).
SECONDS_PER_TRIAL = 21.0
SECONDS_PER_NEW_SHAPE = 11.0


def varied_keys(phase: Phase) -> list[str]:
    return sorted({key for point in phase.points for key in point} | set(phase.search_space))


def varied_label(phase: Phase, config: dict[str, Any]) -> str:
    return label(config, varied_keys(phase))


def num_steps(definition: StudyDefinition, profile: str, model: str) -> int:
    """A trial's steps: the study's `num_steps`, else the profile's, else the model YAML's."""
    return definition.num_steps or PROFILES[profile].get("num_steps", load_config(model)["train_config"]["num_steps"])


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
            elif key in ("batch_size", "num_steps"):
                params[key] = trial.suggest_int(key, int(spec["low"]), int(spec["high"]), log=bool(spec.get("log")))
            else:
                params[key] = trial.suggest_float(
                    key, float(spec["low"]), float(spec["high"]), log=bool(spec.get("log"))
                )
    params["seed"] = trial.suggest_categorical("seed", list(range(max(repeats, noise_seeds))))
    config = config_of(definition, phase, inherited, params)
    assert config is not None  # every parameter was just chosen
    return config


def plan(
    definition: StudyDefinition,
    profile: str,
    repeats: int,
    seconds_per_step: dict[str, float] | None = None,
    noise_seeds: int | None = None,
    workers: int = 1,
) -> str:
    """The phases and trials a sweep will run, with an estimated duration when step times are known.

    Later phases start from winners not known yet: the plan assumes the base configuration is
    carried in, and counts its seeds as if none were reused (so the count is an upper bound)."""
    noise_seeds = definition.noise_seeds if noise_seeds is None else noise_seeds
    lines = [
        f"study {definition.name} ({definition.source}), profile {profile}, repeats {repeats}, "
        f"{max(repeats, noise_seeds)} seed(s) of each phase's carried-in configuration (the noise floor)"
    ]
    for model in definition.models:
        weights = definition.weights.get(model, NONE)
        restored = f" (restore {definition.restore.get(model, RESTORE_MODES[0])})" if weights != NONE else ""
        lines.append(f"initial weights of {model}: {weights}{restored}")
    total_seconds = 0.0
    trials = 0
    shapes: set[tuple[str, int]] = set()
    base_batch = definition.base["batch_size"]
    for index, phase in enumerate(definition.phases, start=1):
        entries = phase_trials(definition, phase, {}, repeats, noise_seeds)
        kind = "grid" if phase.is_grid else f"TPE search over {', '.join(phase.search_space)}"
        lines.append(
            f"phase {index} {phase.name}: {kind}, {phase.num_configs} configuration(s) × {len(definition.models)} "
            f"model(s), {len(entries)} trial(s) per model" + (f"; fixed {phase.fixed}" if phase.fixed else "")
        )
        for model in definition.models:
            steps = num_steps(definition, profile, model)
            trials += len(entries)
            for entry in entries:
                config = config_of(definition, phase, {}, entry) or carried_config(definition, phase, {})
                batch = config.get("batch_size", base_batch)
                if seconds_per_step and model in seconds_per_step:
                    total_seconds += steps * seconds_per_step[model] * batch / base_batch + SECONDS_PER_TRIAL
                    total_seconds += SECONDS_PER_NEW_SHAPE if (model, batch) not in shapes else 0.0
                shapes.add((model, batch))
            if phase.is_grid:
                for point in phase.points:
                    lines.append(f"  {model}: {point}" + (f" (+ {phase.fixed})" if phase.fixed else ""))
    lines.append(f"{trials} trials at most (a carried-in configuration already trained in an earlier phase is reused)")
    if workers > 1:
        lines.append(f"{workers} worker processes on this machine share each phase's trials")
    if seconds_per_step:
        lines.append(
            f"estimated duration{' for one worker' if workers > 1 else ''}: at most {total_seconds / 60:.1f} min "
            f"(measured s/step at batch {base_batch}: "
            + ", ".join(f"{m} {s:.3f}" for m, s in seconds_per_step.items())
            + f"; + ~{SECONDS_PER_TRIAL:g} s per trial for evaluation and tracking, + ~{SECONDS_PER_NEW_SHAPE:g} s "
            f"for tracing each of the {len(shapes)} (model, batch size) shapes)"
        )
    return "\n".join(lines)
