"""The plan of a sweep: each trial's configuration, the label of what its phase varies, and the
printed plan with an estimated duration."""

from __future__ import annotations

from typing import Any

import optuna

from burgerfries.model.config import PROFILES, load_config
from burgerfries.report.configurations import label
from burgerfries.sweep.definition import Phase, StudyDefinition

SECONDS_PER_TRIAL = 10.0  # a rough allowance for building, tracing and evaluating, on top of the steps


def varied_keys(phase: Phase) -> list[str]:
    return sorted({key for point in phase.points for key in point} | set(phase.search_space))


def varied_label(phase: Phase, config: dict[str, Any]) -> str:
    return label(config, varied_keys(phase))


def num_steps(definition: StudyDefinition, profile: str, model: str) -> int:
    """A trial's steps: the study's `num_steps`, else the profile's, else the model YAML's."""
    return definition.num_steps or PROFILES[profile].get("num_steps", load_config(model)["train_config"]["num_steps"])


def queued_params(phase: Phase, repeats: int) -> list[dict[str, int]]:
    """The fixed parameters of every trial a phase queues for one model: each grid point × each
    seed, or one entry per search trial (its ranges left to TPE) with seeds taken in turn."""
    if phase.is_grid:
        return [{"point": point, "seed": seed} for point in range(len(phase.points)) for seed in range(repeats)]
    return [{"seed": index % repeats} for index in range(phase.n_trials)]


def trial_config(
    definition: StudyDefinition, phase: Phase, inherited: dict[str, Any], trial: optuna.Trial, repeats: int
) -> dict[str, Any]:
    """base → the previous phases' winner (`inherited`) → the phase's `fixed` → the trial's point and seed."""
    config = {**definition.base, **inherited, **phase.fixed}
    if phase.is_grid:
        config.update(phase.points[trial.suggest_categorical("point", list(range(len(phase.points))))])
    else:
        for key, spec in phase.search_space.items():
            if "choices" in spec:
                config[key] = trial.suggest_categorical(key, spec["choices"])
            elif key in ("batch_size", "num_steps"):
                config[key] = trial.suggest_int(key, int(spec["low"]), int(spec["high"]), log=bool(spec.get("log")))
            else:
                config[key] = trial.suggest_float(
                    key, float(spec["low"]), float(spec["high"]), log=bool(spec.get("log"))
                )
    config["seed"] = trial.suggest_categorical("seed", list(range(repeats)))
    if definition.num_steps and "num_steps" not in config:
        config["num_steps"] = definition.num_steps
    return config


def plan(
    definition: StudyDefinition, profile: str, repeats: int, seconds_per_step: dict[str, float] | None = None
) -> str:
    """The phases and trials a sweep will run, with an estimated duration when step times are known."""
    lines = [f"study {definition.name} ({definition.source}), profile {profile}, repeats {repeats}"]
    total_seconds = 0.0
    base_batch = definition.base["batch_size"]
    for index, phase in enumerate(definition.phases, start=1):
        configs = phase.points if phase.is_grid else [{}] * phase.n_trials
        kind = "grid" if phase.is_grid else f"TPE search over {', '.join(phase.search_space)}"
        lines.append(
            f"phase {index} {phase.name}: {kind}, {len(configs)} configuration(s) × {len(definition.models)} "
            f"model(s) × {repeats} seed(s)" + (f"; fixed {phase.fixed}" if phase.fixed else "")
        )
        for model in definition.models:
            steps = num_steps(definition, profile, model)
            for point in configs:
                batch = {**definition.base, **phase.fixed, **point}.get("batch_size", base_batch)
                if seconds_per_step and model in seconds_per_step:
                    total_seconds += repeats * (
                        steps * seconds_per_step[model] * batch / base_batch + SECONDS_PER_TRIAL
                    )
                if phase.is_grid:
                    lines.append(f"  {model}: {point}" + (f" (+ {phase.fixed})" if phase.fixed else ""))
    trials = sum(p.num_configs for p in definition.phases) * len(definition.models) * repeats
    lines.append(f"{trials} trials in all")
    if seconds_per_step:
        lines.append(
            f"estimated duration: {total_seconds / 60:.1f} min "
            f"(measured s/step at batch {base_batch}: "
            + ", ".join(f"{m} {s:.3f}" for m, s in seconds_per_step.items())
            + f"; + ~{SECONDS_PER_TRIAL:g} s per trial for building, tracing and evaluation)"
        )
    return "\n".join(lines)
