"""Model configs: one YAML per model with the OD API's field names, plus profiles and overrides.

Field names follow pipeline.config so that a user who knows the OD API can read, override and
compare them; `flatten` gives the dotted names logged as MLflow params.
"""

from __future__ import annotations

import copy
import math
from importlib import resources
from typing import Any

import yaml

from burgerfries.data.box_sizes import CANDIDATE_SIZES
from burgerfries.keys import INPUT_WIDTH, KNOB_FIELDS, LEARNING_RATE_SCHEDULE
from burgerfries.model import MODEL_NAMES

# A profile changes sizes and the run's length only — never the structure or the losses. A length
# in `epochs` (passes over the training split) follows the dataset. The smoke profile's 95.2 passes
# are twice the 47.6 it had (the 300 steps at batch 10 on the 63-image synthetic set, which the
# original study keeps): on cards twice the passes lowered the seed-to-seed σ of mAP@0.5 and raised
# its mean (bench/RESULTS.md, "The default length"). SSD trains 142.8 passes (`model_epochs`): on cards
# at its chosen 224 px, 3 seeds a side, 1.5x the passes raised mAP@0.5 on the validation photos by
# +0.090 and on the test photos from 0.558 to 0.605 (bench/RESULTS.md, "Anchors and object sizes");
# FPNLite stays at 95.2: in the photos study on cards its one 142.8-pass trial was within noise of
# the 95.2-pass base (validation 0.885 against 0.864, 3 seeds) and earned no confirmation seeds
# (bench/RESULTS.md, "The photos study on cards, AVX-512").
# The profile a command uses when none is named: the scale a laptop trains in minutes, and the
# only one with shipped weights. ("full" is the YAML as written: zoo sizes, GPU scale.)
DEFAULT_PROFILE = "smoke"
YAML_PROFILE = "full"
PROFILES: dict[str, dict[str, Any]] = {
    "full": {},
    # input_sizes: where a run asks for it, model/input_size.py chooses one of them from the training boxes
    "smoke": {
        "image_size": 160,
        "depth_multiplier": 0.35,
        "epochs": 95.2,
        "model_epochs": {"ssd_mobilenet_v2_320x320": 142.8},  # where a model's default length differs
        "input_sizes": CANDIDATE_SIZES,
    },
    "tiny": {"image_size": 96, "depth_multiplier": 0.35, "num_steps": 60},
}


def steps_for_epochs(epochs: float, num_train_images: int, batch_size: int) -> int:
    """Steps that make `epochs` passes over `num_train_images` at `batch_size` (at least one)."""
    return max(1, math.ceil(epochs * num_train_images / batch_size - 1e-9))


def profile_epochs(profile: str, model: str) -> float | None:
    """The profile's default length in passes for `model` (None: the profile gives steps)."""
    settings = PROFILES[profile]
    return settings.get("model_epochs", {}).get(model, settings.get("epochs"))


def run_length(
    profile: str,
    model: str,
    knobs: dict[str, Any],
    epochs: float | None,
    num_train_images: int | None,
    yaml_steps: int,
) -> tuple[int, float | None]:
    """(steps, epochs or None): `num_steps` when given; else `epochs` (given, else the profile's for
    the model) resolved on the training split at the run's batch size; else the profile's or YAML's steps."""
    if knobs.get("num_steps") is not None:
        return int(knobs["num_steps"]), None
    epochs = epochs if epochs is not None else profile_epochs(profile, model)
    if epochs is not None:
        if not num_train_images:
            raise ValueError(f"a length of {epochs:g} epochs needs the training split's size; pass num_steps instead")
        return steps_for_epochs(epochs, num_train_images, int(knobs["batch_size"])), float(epochs)
    return int(PROFILES[profile].get("num_steps", yaml_steps)), None


def load_config(model: str) -> dict:
    if model not in MODEL_NAMES:
        raise ValueError(f"unknown model {model!r}; choose one of: {', '.join(MODEL_NAMES)}")
    text = resources.files("burgerfries.configs").joinpath(f"{model}.yaml").read_text()
    return yaml.safe_load(text)


def get(config: dict, dotted: str) -> Any:
    node = config
    for part in dotted.split("."):
        node = node[part]
    return node


def set_value(config: dict, dotted: str, value: Any) -> None:
    """Set an existing field; a typo in a field name is an error, not a silently new field."""
    parts = dotted.split(".")
    node = config
    for index, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"config has no field {'.'.join(parts[: index + 1])!r} (from {dotted!r})")
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        raise KeyError(f"config has no field {dotted!r}")
    node[parts[-1]] = _coerce(value, node[parts[-1]], dotted)


def _coerce(value: Any, old: Any, dotted: str) -> Any:
    """Command-line strings take the type of the field they replace."""
    if not isinstance(value, str) or isinstance(old, str):
        return value
    try:
        if isinstance(old, bool):
            return {"true": True, "false": False}[value.strip().lower()]
        if isinstance(old, int):
            return int(value)
        if isinstance(old, float):
            return float(value)
    except (KeyError, ValueError) as error:
        raise ValueError(f"{dotted}={value!r}: expected a {type(old).__name__}") from error
    return yaml.safe_load(value)


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(config, dict):
        flat: dict[str, Any] = {}
        for key, value in config.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(config, list) and any(isinstance(item, dict) for item in config):
        flat = {}
        for index, item in enumerate(config):
            flat.update(flatten(item, f"{prefix}.{index}"))
        return flat
    return {prefix: config}


SCHEDULE = LEARNING_RATE_SCHEDULE


class ConfigConflictError(ValueError):
    """One field set twice in one command (a knob and a `--set` override); the message names both."""


def knob_values(config: dict) -> dict[str, Any]:
    """The study's knobs as this config has them (`epochs`: None for a run whose length was given in steps)."""
    values = {}
    for knob, dotted in KNOB_FIELDS.items():
        try:
            values[knob] = get(config, dotted)
        except KeyError:
            values[knob] = None
    return values


def build_config(
    model: str,
    profile: str = YAML_PROFILE,
    num_classes: int = 2,
    knobs: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    epochs: float | None = None,
    num_train_images: int | None = None,
) -> dict:
    """The effective config of one training run: YAML → profile → the study's knobs → overrides.

    A knob left `None` keeps the YAML's (or the profile's) value. Setting a knob and overriding
    its field with `--set` in one command is refused: neither silently wins. The run's length is
    `run_length`'s (epochs need `num_train_images`); the config records the epochs it came from
    under `train_config.num_epochs` (not an OD API field).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
    knobs = {key: value for key, value in (knobs or {}).items() if value is not None}
    unknown = set(knobs) - set(KNOB_FIELDS)
    if unknown:
        raise ValueError(f"unknown knobs {sorted(unknown)}; known: {', '.join(KNOB_FIELDS)}")
    overrides = dict(overrides or {})
    for knob in knobs:
        for dotted in (KNOB_FIELDS[knob], INPUT_WIDTH) if knob == "input_size" else (KNOB_FIELDS[knob],):
            if dotted in overrides:
                raise ConfigConflictError(
                    f"{knob} is given twice: as --{knob.replace('_', '-')} {knobs[knob]} and as "
                    f"--set {dotted}={overrides[dotted]}; keep one"
                )
    config = copy.deepcopy(load_config(model))
    ssd = config["model"]["ssd"]
    ssd["num_classes"] = int(num_classes)
    train = config["train_config"]
    cosine = get(config, SCHEDULE)
    yaml_total_steps = cosine["total_steps"]
    yaml_warmup = cosine["warmup_learning_rate"] / cosine["learning_rate_base"]

    settings = PROFILES[profile]
    if "image_size" in settings:
        ssd["image_resizer"]["fixed_shape_resizer"] = {
            "height": settings["image_size"],
            "width": settings["image_size"],
        }
    if "depth_multiplier" in settings:
        ssd["feature_extractor"]["depth_multiplier"] = settings["depth_multiplier"]
    for knob, value in knobs.items():
        if knob not in ("num_steps", "epochs") and value is not None:
            set_value(config, KNOB_FIELDS[knob], value)
        if knob == "input_size":
            set_value(config, INPUT_WIDTH, value)
    for dotted, value in overrides.items():
        set_value(config, dotted, value)
    if KNOB_FIELDS["num_steps"] not in overrides:
        length = {"num_steps": knobs.get("num_steps"), "batch_size": train["batch_size"]}
        passes = knobs["epochs"] if knobs.get("epochs") is not None else epochs
        train["num_steps"], resolved = run_length(profile, model, length, passes, num_train_images, train["num_steps"])
        if resolved is not None:
            train["num_epochs"] = resolved
    # The OD API refuses a base below the warm-up rate (FPNLite warms up from 0.026666, and the
    # study tries 0.026); keep the YAML's warm-up/base ratio instead of failing.
    if (
        f"{SCHEDULE}.warmup_learning_rate" not in overrides
        and cosine["learning_rate_base"] < cosine["warmup_learning_rate"]
    ):
        cosine["warmup_learning_rate"] = cosine["learning_rate_base"] * yaml_warmup
    # The schedule spans the run. A shorter run keeps the warm-up share of the YAML's schedule
    # (warmup_steps / total_steps there), rather than warming up for most or all of the run.
    if f"{SCHEDULE}.total_steps" not in overrides:
        cosine["total_steps"] = train["num_steps"]
    if f"{SCHEDULE}.warmup_steps" not in overrides and cosine["total_steps"] < yaml_total_steps:
        cosine["warmup_steps"] = max(1, round(cosine["warmup_steps"] * cosine["total_steps"] / yaml_total_steps))
    cosine["warmup_steps"] = min(cosine["warmup_steps"], cosine["total_steps"])
    return config
