"""Sweep definitions (sweeps/*.yaml): parsed and validated before anything runs.

See sweeps/README.md for the format. Every problem is reported with the file and the key, so a
typo does not surface an hour into a sweep.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from burgerfries.decision.settings import DecisionSettings
from burgerfries.keys import KNOB_TYPES, STUDY_KNOBS
from burgerfries.model import DEFAULT_RESTORE, MODEL_NAMES, RESTORE_MODES
from burgerfries.model.config import PROFILES
from burgerfries.model.input_size import AUTO
from burgerfries.pretrained import default_restore
from burgerfries.runs.analysis_settings import AnalysisSettings

PARAMETERS = KNOB_TYPES  # what a base, grid, fixed or search entry may set
STUDY_KEYS = {
    "name",
    "models",
    "base",
    "objective",
    "decision",
    "decision_settings",
    "phases",
    "num_steps",
    "epochs",
    "weights",
    "restore",
    "profile",
    "analysis",
    "noise_seeds",
}
# Seeds of the base (the first phase's incumbent) and of a confirmed challenger: their seed-to-seed
# spread is the noise a challenger must beat. 3 is the fewest that give a spread from more than
# one difference, at two extra trials.
DEFAULT_NOISE_SEEDS = 3
DEFAULT_STUDY_PROFILE = "smoke"  # a study that names no profile runs at CPU scale
PHASE_KEYS = {"name", "grid", "search", "fixed", "carry"}
# What a phase's winner carries on: `all` its configuration as it trained, `fixed` values included;
# `varied` only the knobs its grid varies: the points race the incumbent with the `fixed` values
# (their reference), and the leader's varied values are then tested at the incumbent
# (`sweep/trials.py`, "reference races").
CARRY_MODES = ("all", "varied")
CARRIED_SUFFIX = "-carried"  # the name of a reference race's test at the incumbent: "<phase>-carried"


class DefinitionError(ValueError):
    """A sweep YAML that cannot run; the message names the file and the key."""


@dataclass
class Phase:
    name: str
    points: list[dict[str, Any]] = field(default_factory=list)  # grid phases: every configuration
    search_space: dict[str, dict[str, Any]] = field(default_factory=dict)  # search phases: ranges
    n_trials: int = 0
    fixed: dict[str, Any] = field(default_factory=dict)
    carry: str = "all"  # one of CARRY_MODES
    # A reference race's test at the incumbent (made at run time, `trials.Race.test`): the one
    # point each model tests, by index into `points`; None for every phase a YAML defines.
    challenger: dict[str, int] | None = None

    @property
    def is_grid(self) -> bool:
        return bool(self.points)

    @property
    def num_configs(self) -> int:
        return len(self.points) if self.is_grid else self.n_trials


@dataclass
class SweepDefinition:
    """A sweep definition: a sweep YAML, parsed and checked (the glossary's word, ARCHITECTURE.md)."""

    name: str
    models: list[str]
    base: dict[str, Any]
    phases: list[Phase]
    num_steps: int | None  # every trial's steps, whatever its batch size (None: `epochs`, else the profile's)
    source: Path
    text: str
    weights: dict[str, str] = field(default_factory=dict)  # model → initial weights (e.g. a zoo archive)
    restore: dict[str, str] = field(default_factory=dict)  # model → how much of them (RESTORE_MODES), every model
    profile: str = DEFAULT_STUDY_PROFILE
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    noise_seeds: int = DEFAULT_NOISE_SEEDS
    decision: DecisionSettings = field(default_factory=DecisionSettings)  # objective, mode, α, confirmations
    # every trial's steps: these passes over the training photos at the base batch size, whatever
    # the trial's batch size, in a profile whose length is in passes (smoke: instead of its own; a
    # profile with a length in steps keeps them); `num_steps` wins where both are set
    epochs: float | None = None
    # the base's `input_size: auto`: every trial trains at the size `train` would choose from the
    # training boxes (model/input_size.py) unless its phase varies the size; `base` then holds none
    automatic_input_size: bool = False

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


def _per_model(data: dict, key: str, models: list[str], where: str, expected: str) -> dict[str, Any]:
    """A key set once for every model (`weights: pretrained`) or per model, as {model: value}."""
    value = data.get(key, {}) or {}
    if isinstance(value, str):
        value = dict.fromkeys(models, value)
    if not isinstance(value, dict) or any(model not in models for model in value):
        raise DefinitionError(f"{where}.{key}: expected {expected}, or a mapping from the study's models to that")
    return value


def _check_params(values: dict, where: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise DefinitionError(f"{where}: expected a mapping of parameters, got {type(values).__name__}")
    checked = {}
    for key, value in values.items():
        if key not in PARAMETERS:
            raise DefinitionError(f"{where}: unknown parameter {key!r}; known: {', '.join(PARAMETERS)}")
        try:
            checked[key] = PARAMETERS[key](value)
        except (TypeError, ValueError) as error:
            raise DefinitionError(f"{where}.{key}: {value!r} is not a {PARAMETERS[key].__name__}") from error
        if checked[key] <= 0:
            raise DefinitionError(f"{where}.{key}: must be positive, got {value!r}")
    return checked


def _grid_points(grid: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(grid, list):
        points = [_check_params(point, f"{where}[{i}]") for i, point in enumerate(grid)]
    elif isinstance(grid, dict):
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise DefinitionError(f"{where}.{key}: expected a non-empty list of values")
        keys = list(grid)
        points = [_check_params(dict(zip(keys, combo)), where) for combo in itertools.product(*grid.values())]
    else:
        raise DefinitionError(f"{where}: expected a list of points or a mapping of lists")
    if not points or any(not point for point in points):
        raise DefinitionError(f"{where}: empty grid")
    return points


def _search_space(search: Any, where: str) -> tuple[dict[str, dict[str, Any]], int]:
    if not isinstance(search, dict) or "n_trials" not in search:
        raise DefinitionError(f"{where}: a search needs n_trials and at least one parameter range")
    n_trials = search["n_trials"]
    if not isinstance(n_trials, int) or n_trials < 1:
        raise DefinitionError(f"{where}.n_trials: expected a positive integer, got {n_trials!r}")
    space = {}
    for key, spec in search.items():
        if key == "n_trials":
            continue
        if key not in PARAMETERS:
            raise DefinitionError(f"{where}: unknown parameter {key!r}; known: {', '.join(PARAMETERS)}")
        if not isinstance(spec, dict) or not ({"low", "high"} <= set(spec) or "choices" in spec):
            raise DefinitionError(f"{where}.{key}: expected {{low, high[, log]}} or {{choices: [...]}}")
        unknown = set(spec) - {"low", "high", "log", "choices"}
        if unknown:
            raise DefinitionError(f"{where}.{key}: unknown keys {sorted(unknown)}")
        if "choices" in spec:
            if not spec["choices"]:
                raise DefinitionError(f"{where}.{key}.choices: empty")
            _check_params({key: spec["choices"][0]}, f"{where}")
        elif not 0 < spec["low"] < spec["high"]:
            raise DefinitionError(f"{where}.{key}: need 0 < low < high, got {spec['low']}..{spec['high']}")
        space[key] = spec
    if not space:
        raise DefinitionError(f"{where}: no parameter to search")
    return space, n_trials


def _phases(specs: list, where: str) -> list[Phase]:
    """The `phases:` list, each phase checked."""
    phases, names = [], set()
    for index, spec in enumerate(specs):
        at = f"{where}.phases[{index}]"
        if not isinstance(spec, dict) or "name" not in spec:
            raise DefinitionError(f"{at}: a phase needs a name")
        unknown = set(spec) - PHASE_KEYS
        if unknown:
            raise DefinitionError(f"{at}: unknown keys {sorted(unknown)}; allowed: {sorted(PHASE_KEYS)}")
        if ("grid" in spec) == ("search" in spec):
            raise DefinitionError(f"{at} ({spec['name']}): give exactly one of grid or search")
        if spec["name"] in names:
            raise DefinitionError(f"{at}: phase name {spec['name']!r} used twice")
        names.add(spec["name"])
        phase = Phase(str(spec["name"]), fixed=_check_params(spec.get("fixed", {}) or {}, f"{at}.fixed"))
        if "grid" in spec:
            phase.points = _grid_points(spec["grid"], f"{at}.grid")
        else:
            phase.search_space, phase.n_trials = _search_space(spec["search"], f"{at}.search")
        phase.carry = _carry(spec, phase, at)
        phases.append(phase)
    for phase in phases:
        if phase.carry == "varied" and phase.name + CARRIED_SUFFIX in names:
            raise DefinitionError(
                f"{where}.phases: {phase.name + CARRIED_SUFFIX!r} is the name of phase {phase.name!r}'s test at the "
                "incumbent; rename that phase"
            )
    return phases


def _carry(spec: dict, phase: Phase, at: str) -> str:
    """A phase's `carry` (CARRY_MODES), checked: `varied` needs a grid and `fixed` values that the
    grid does not vary (they are what the race holds fixed and does not carry)."""
    carry = spec.get("carry", "all")
    if carry not in CARRY_MODES:
        raise DefinitionError(f"{at}.carry: expected one of {', '.join(CARRY_MODES)}, got {carry!r}")
    if carry == "varied":
        if not phase.is_grid:
            raise DefinitionError(f"{at}.carry: `varied` needs a grid (a search has no reference point to race)")
        varied = {key for point in phase.points for key in point}
        if not phase.fixed or varied & set(phase.fixed):
            raise DefinitionError(
                f"{at}.carry: `varied` needs `fixed` values for knobs the grid does not vary (the race holds them "
                "fixed, then tests the winner's varied values at the incumbent)"
            )
    return carry


def parse_definition(data: Any, source: Path, text: str = "") -> SweepDefinition:
    where = str(source)
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}: expected a mapping at the top level")
    if "selection" in data:
        raise DefinitionError(
            f"{where}.selection: a list of criteria no longer decides; give `objective:` (the one decision "
            "metric, default mAP_50) and, to decide by the original study's order of criteria, `decision: study_rule`"
        )
    unknown = set(data) - STUDY_KEYS
    if unknown:
        raise DefinitionError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(STUDY_KEYS)}")
    for key in ("name", "models", "base", "phases"):
        if key not in data:
            raise DefinitionError(f"{where}: missing {key!r}")
    models = data["models"]
    if not isinstance(models, list) or not models:
        raise DefinitionError(f"{where}.models: expected a non-empty list")
    for model in models:
        if model not in MODEL_NAMES:
            raise DefinitionError(f"{where}.models: unknown model {model!r}; known: {', '.join(MODEL_NAMES)}")
    base_values = dict(data["base"]) if isinstance(data["base"], dict) else data["base"]
    automatic_input_size = isinstance(base_values, dict) and base_values.get("input_size") == AUTO
    if automatic_input_size:
        del base_values["input_size"]
    base = _check_params(base_values, f"{where}.base")
    missing = set(STUDY_KNOBS) - set(base)
    if missing:
        raise DefinitionError(f"{where}.base: missing {sorted(missing)}")
    if not isinstance(data["phases"], list) or not data["phases"]:
        raise DefinitionError(f"{where}.phases: expected a non-empty list")
    phases = _phases(data["phases"], where)
    num_steps = data.get("num_steps")
    if num_steps is not None and (not isinstance(num_steps, int) or num_steps < 1):
        raise DefinitionError(f"{where}.num_steps: expected a positive integer")
    epochs = data.get("epochs")
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, (int, float)) or epochs <= 0):
        raise DefinitionError(f"{where}.epochs: expected a positive number of passes over the training photos")
    weights = _per_model(data, "weights", models, where, "`pretrained`, `none` or a checkpoint path")
    restore = _per_model(data, "restore", models, where, f"one of {', '.join(RESTORE_MODES)}")
    if any(mode not in RESTORE_MODES for mode in restore.values()):
        raise DefinitionError(f"{where}.restore: expected one of {', '.join(RESTORE_MODES)}, got {restore}")
    profile = data.get("profile", DEFAULT_STUDY_PROFILE)
    if profile not in PROFILES:
        raise DefinitionError(f"{where}.profile: unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    noise_seeds = data.get("noise_seeds", DEFAULT_NOISE_SEEDS)
    if not isinstance(noise_seeds, int) or isinstance(noise_seeds, bool) or noise_seeds < 1:
        raise DefinitionError(f"{where}.noise_seeds: expected a positive integer (1: no noise-floor runs)")
    try:
        analysis = AnalysisSettings.from_mapping(data.get("analysis"), f"{where}.analysis")
        decision = DecisionSettings.from_study(data, where)
    except ValueError as error:
        raise DefinitionError(str(error)) from error
    return SweepDefinition(
        str(data["name"]),
        list(models),
        base,
        phases,
        num_steps,
        source,
        text,
        {model: str(path) for model, path in weights.items()},
        _restore_modes(restore, weights, models),
        profile,
        analysis,
        noise_seeds,
        decision,
        None if epochs is None else float(epochs),
        automatic_input_size,
    )


def _restore_modes(restore: dict[str, Any], weights: dict[str, Any], models: list[str]) -> dict[str, str]:
    """Every model's restore mode: the study's, else the default for its weights (the measured
    one for the shipped weights, `pretrained.default_restore`)."""
    return {
        model: str(restore.get(model) or default_restore(weights.get(model), model, DEFAULT_RESTORE))
        for model in models
    }


def load_definition(path: Path) -> SweepDefinition:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DefinitionError(f"{path}: cannot read ({error.strerror})") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise DefinitionError(f"{path}: not valid YAML ({error})") from error
    return parse_definition(data, path, text)
