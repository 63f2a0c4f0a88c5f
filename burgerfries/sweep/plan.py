"""The plan of a sweep, resolved once: the study, the data, every default, the key that names the
sweep in its storage and tracking store, and the printed plan with an estimated duration.

The coordinator of `--workers N` and every worker resolve the same plan from the same arguments
(`worker_arguments` passes them on), so they agree on the key without talking to each other. Only
a worker builds what trains trials (`jobs/sweep/runner.py`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from burgerfries.data.folder import DataFolder
from burgerfries.decision.noise import MIN_DOF, UPPER_BOUND
from burgerfries.decision.phase import RACE_CONFIRM
from burgerfries.model.config import PROFILES, build_config, profile_epochs, steps_for_epochs
from burgerfries.model.input_size import InputSizeChoice, automatic_input_size
from burgerfries.pretrained import NONE
from burgerfries.sweep.definition import SweepDefinition
from burgerfries.sweep.trials import (
    INCUMBENT,
    Race,
    config_of,
    incumbent_config,
    incumbent_point,
    phase_trials,
    race_of,
    varied_keys,
)

# A smoke trial's time on top of its steps, measured on an AVX2-only machine (bench/RESULTS.md,
# "Where a smoke trial's time goes"), less with AVX-512: evaluating, resetting and logging when it
# reuses a traced step (20–21 s), and the tracing added by the first trial of each (model, batch
# size), which builds it (31–33 s in all).
SECONDS_PER_TRIAL = 21.0
SECONDS_PER_NEW_SHAPE = 11.0
# Part of the sweep key: a storage written by an older layout (GridSampler picking the points,
# queued trials without an incumbent and confirmation round, or `once` claims kept as studies) is
# not resumed by this one.
STORAGE_LAYOUT = "racing-claims"


@dataclass(frozen=True)
class SweepPlan:
    """Everything a sweep's processes must agree on, with every default already applied."""

    definition: SweepDefinition
    study_path: Path  # the YAML the definition was read from
    data: Path  # a data_prep folder (absolute)
    dataset_hash: str  # from its dataset.json ("" when it has none)
    profile: str
    repeats: int  # seeds of every configuration
    noise_seeds: int  # seeds of the base and of a confirmed challenger (their spread is the noise)
    storage_url: str  # the Optuna storage every worker shares
    workers: int  # processes on this machine sharing the trials (the coordinator starts them)
    checkpoint_root: Path
    num_train_images: int = 0  # the training split's size (a length in epochs is resolved on it)
    experiment: str | None = None  # tracking.resolve_experiment's; None: MLFLOW_EXPERIMENT_ID's
    register: str = ""  # the registered model name prefix of the final picks
    system_metrics: bool = True  # MLflow's CPU / memory / GPU sampling on every trial run

    @property
    def key(self) -> str:
        """The same study, data, profile, repeats, steps and noise seeds → the same key → the same
        Optuna studies and parent run, so a rerun or a second worker continues the sweep."""
        key = json.dumps(
            [
                STORAGE_LAYOUT,
                self.definition.fingerprint,
                self.dataset_hash,
                self.profile,
                self.repeats,
                self.definition.num_steps,
                self.noise_seeds,
            ]
            # Another experiment holds another sweep (the study's own name keeps the keys sweeps had before).
            + ([] if self.experiment == self.definition.name else [self.experiment]),
            sort_keys=True,
        )
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    @property
    def prefix(self) -> str:
        """The start of every Optuna study name of this sweep."""
        return f"{self.definition.name}:{self.key}"

    def study_name(self, phase: str, model: str) -> str:
        return f"{self.prefix}:{phase}:{model}"

    def once_name(self, step: str) -> str:
        """The name under which `storage.once` records that one worker did `step`."""
        return f"{self.prefix}:once:{step}"

    def num_steps(self, model: str) -> int:
        """Every trial's steps: the study's `num_steps`, else the profile's length — in passes
        (smoke: the study's `epochs` where it sets them, else the profile's), resolved on the data's
        training split at the study's base batch size, so that all of a model's trials train as many
        steps whatever their batch size, as the original study did — else the profile's or the
        model YAML's steps (full, tiny: a study's `epochs` does not turn them into passes)."""
        knobs = {"num_steps": self.definition.num_steps, "batch_size": self.definition.base["batch_size"]}
        config = build_config(
            model, self.profile, knobs=knobs, epochs=self.study_epochs, num_train_images=self.num_train_images
        )
        return config["train_config"]["num_steps"]

    @property
    def study_epochs(self) -> float | None:
        """The study's `epochs` where its profile gives a length in passes (smoke), else None."""
        return self.definition.epochs if PROFILES[self.profile].get("epochs") is not None else None

    def trial_steps(self, model: str, config: dict[str, Any]) -> int:
        """A trial's steps: the plan's (`num_steps`), unless its configuration sets them — in steps,
        or in passes over the training photos (`epochs`) at the trial's batch size."""
        if config.get("num_steps"):
            return int(config["num_steps"])
        if config.get("epochs"):
            return steps_for_epochs(float(config["epochs"]), self.num_train_images, int(config["batch_size"]))
        return self.num_steps(model)

    def input_size(self, model: str) -> int:
        """The input side every trial trains at unless its phase varies it: the study's base
        `input_size`; with `input_size: auto` the size `train --data` chooses from the training boxes
        (`input_size_choice`); else the profile's (or the model YAML's)."""
        choice = self.input_size_choice(model)
        if choice is not None:
            return choice.size
        knobs = {"input_size": self.definition.base.get("input_size"), "num_steps": 1}  # (the length is not asked)
        config = build_config(model, self.profile, knobs=knobs)
        return config["model"]["ssd"]["image_resizer"]["fixed_shape_resizer"]["height"]

    def input_size_choice(self, model: str) -> InputSizeChoice | None:
        """Where the study asks for it (`input_size: auto`), the size chosen from the training boxes and why."""
        if not self.definition.automatic_input_size:
            return None
        folder = DataFolder.open(self.data)
        return automatic_input_size(
            model, self.profile, len(folder.class_names), folder.train_record, folder.num_train_images
        )

    def worker_arguments(self) -> list[str]:
        """`burgerfries sweep` flags that make a worker process resolve this same plan."""
        return [
            "--study",
            str(self.study_path),
            "--data",
            str(self.data),
            "--profile",
            self.profile,
            "--storage",
            self.storage_url,
            "--repeats",
            str(self.repeats),
            "--noise-seeds",
            str(self.noise_seeds),
            "--experiment",
            self.experiment or "",  # "": MLFLOW_EXPERIMENT_ID, which the workers inherit
            "--register",
            self.register,
            "--no-system-metrics",
            str(not self.system_metrics).lower(),
        ]

    def describe(self, seconds_per_step: dict[str, float] | None = None) -> str:
        """The printed plan (`describe_plan`)."""
        return describe_plan(self, seconds_per_step)


def describe_trial_length(plan: SweepPlan) -> str:
    """Every trial's length in one line, and where it comes from."""
    base = plan.definition.base
    if plan.definition.num_steps is None and base.get("epochs") and not base.get("num_steps"):
        steps = ", ".join(f"{model} {plan.trial_steps(model, base)}" for model in plan.definition.models)
        return (
            f"length in passes over the {plan.num_train_images} training images: the base's {base['epochs']:g} "
            f"passes are {steps} steps at its batch size {base['batch_size']}; a trial at another batch size or "
            "number of passes trains the steps that make its own passes"
        )
    steps = ", ".join(f"{model} {plan.num_steps(model)}" for model in plan.definition.models)
    epochs = {model: plan.study_epochs or profile_epochs(plan.profile, model) for model in plan.definition.models}
    if plan.definition.num_steps is None and None not in epochs.values():
        owner = "the study's" if plan.study_epochs else f"the {plan.profile} profile's"
        distinct = set(epochs.values())
        passes = f"{distinct.pop():g}" if len(distinct) == 1 else ", ".join(f"{m} {v:g}" for m, v in epochs.items())
        where = (
            f"{owner} {passes} passes over {plan.num_train_images} training images "
            f"at the base batch size {plan.definition.base['batch_size']}"
        )
    else:
        where = "the study's num_steps" if plan.definition.num_steps is not None else f"the {plan.profile} profile"
    return f"steps per trial, whatever its batch size: {steps} ({where})"


def _race_line(race: Race, incumbent_seeds: int, carried: int) -> str:
    """What a reference race compares with what, and its test at the incumbent."""
    return (
        f"  a reference race: the points race the incumbent with {race.phase.fixed} (the reference; it is "
        f"trained with {incumbent_seeds} seeds), and the leader's {', '.join(varied_keys(race.phase))} alone is "
        f"then tested at the incumbent in phase {race.test_name}: + up to {carried} trial(s) per model"
    )


def _step_cost(plan: SweepPlan, model: str, base_batch: int, config: dict[str, Any]) -> float:
    """A trial's steps in steps at the base batch size (a step's time taken as proportional to its batch)."""
    return plan.trial_steps(model, config) * config.get("batch_size", base_batch) / base_batch


def _model_lines(plan: SweepPlan) -> list[str]:
    """Each model's initial weights, and its input size where the study has it chosen from the data."""
    definition, lines = plan.definition, []
    for model in definition.models:
        weights = definition.weights.get(model, NONE)
        restored = f" (restore {definition.restore[model]})" if weights != NONE else ""
        lines.append(f"initial weights of {model}: {weights}{restored}")
        choice = plan.input_size_choice(model)
        if choice is not None:
            lines.append(f"input size of {model}: {choice.why}")
    return lines


def describe_plan(plan: SweepPlan, seconds_per_step: dict[str, float] | None = None) -> str:
    """The phases and trials this sweep will run, with an estimated duration when step times
    are known (`--dry-run` measures them).

    Later phases start from decisions not known yet. The counts are upper bounds: each phase's
    incumbent is counted in the first phase only (later it brings its runs along), and every
    phase as if `confirm` challengers earned confirmation seeds."""
    definition, repeats, noise_seeds, workers = plan.definition, plan.repeats, plan.noise_seeds, plan.workers
    incumbent_seeds = max(repeats, noise_seeds)
    decision = definition.decision
    # the worst case: `confirm` challengers confirmed, then every further look taken (the leader
    # and the incumbent, `noise_seeds` more seeds each)
    confirmations = decision.confirm * max(0, incumbent_seeds - repeats)
    confirmations += (decision.looks - 1) * 2 * noise_seeds if decision.confirm else 0
    lines = [
        f"study {definition.name} ({definition.source}), profile {plan.profile}, repeats {repeats}, "
        f"{incumbent_seeds} seed(s) of the base configuration (the first phase's incumbent)",
        f"decision: {decision.mode} on {decision.metric.label} (α {decision.alpha:g} per phase), "
        f"up to {decision.confirm} challenger(s) per phase confirmed with {incumbent_seeds} seeds; a close call "
        f"looks again with {noise_seeds} more seeds per side, up to {decision.looks} looks (α / {decision.looks} "
        "each)",
        f"noise: σ pooled over this sweep's replicated configurations and earlier sweeps' runs of the same "
        f"model, profile and data in the tracking store; under {MIN_DOF} degrees of freedom, its "
        f"{UPPER_BOUND:.0%} upper confidence bound",
    ]
    lines.extend(_model_lines(plan))
    lines.append(describe_trial_length(plan))
    total_seconds = 0.0
    screening = confirming = 0
    shapes: set[tuple[str, int]] = set()
    base_batch = definition.base["batch_size"]
    for index, phase in enumerate(definition.phases, start=1):
        entries = phase_trials(definition, phase, {}, repeats, noise_seeds)
        race = race_of(definition, phase, {model: {} for model in definition.models})
        if index > 1 and not race:  # the incumbent's runs come from the phase before
            home = incumbent_point(definition, phase, {})
            entries = [entry for entry in entries if entry.get("point") not in (home, INCUMBENT)]
        kind = "grid" if phase.is_grid else f"TPE search over {', '.join(phase.search_space)}"
        # a race confirms RACE_CONFIRM points, without looks; its test: one challenger, every look
        phase_confirmations = RACE_CONFIRM * max(0, incumbent_seeds - repeats) if race else confirmations
        carried = incumbent_seeds + (decision.looks - 1) * 2 * noise_seeds if race else 0
        lines.append(
            f"phase {index} {phase.name}: {kind}, {phase.num_configs} configuration(s) × {len(definition.models)} "
            f"model(s), {len(entries)} screening trial(s) per model, + up to {phase_confirmations} confirmation"
            + (f"; fixed {phase.fixed}" if phase.fixed else "")
        )
        if race:
            lines.append(_race_line(race, incumbent_seeds, carried))
        for model in definition.models:
            screening, confirming = screening + len(entries), confirming + phase_confirmations + carried
            configs = [config_of(definition, phase, {}, entry) or incumbent_config(definition, {}) for entry in entries]
            longest = max(configs, key=partial(_step_cost, plan, model, base_batch))  # the worst case confirms it
            for config in configs + [longest] * (phase_confirmations + carried):
                batch = config.get("batch_size", base_batch)
                if seconds_per_step and model in seconds_per_step:
                    cost = _step_cost(plan, model, base_batch, config) * seconds_per_step[model] + SECONDS_PER_TRIAL
                    total_seconds += cost
                    total_seconds += SECONDS_PER_NEW_SHAPE if (model, batch) not in shapes else 0.0
                shapes.add((model, batch))
            if phase.is_grid:
                for point in phase.points:
                    lines.append(f"  {model}: {point}" + (f" (+ {phase.fixed})" if phase.fixed else ""))
    lines.append(
        f"{screening + confirming} trials at most: {screening} screening, {confirming} confirmation "
        "(only where a challenger looks better than the incumbent; most of them only at close calls)"
    )
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
