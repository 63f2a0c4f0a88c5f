"""Model configs: one YAML per model with the OD API's field names, plus profiles and overrides.

Field names follow pipeline.config so that a user who knows the OD API can read, override and
compare them; `flatten` gives the dotted names logged as MLflow params.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import yaml

from burgerfries.model import MODEL_NAMES

# A profile changes sizes and steps only — never the structure or the losses.
PROFILES: dict[str, dict[str, Any]] = {
    "full": {},
    "smoke": {"image_size": 160, "depth_multiplier": 0.35, "num_steps": 300},
    "tiny": {"image_size": 96, "depth_multiplier": 0.35, "num_steps": 60},
}


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


def build_config(model: str, profile: str = "full", num_classes: int = 2, batch_size: int | None = None,
                 learning_rate: float | None = None, classification_weight: float | None = None,
                 localization_weight: float | None = None, num_steps: int | None = None,
                 overrides: dict[str, Any] | None = None) -> dict:
    """The effective config of one training run: YAML → profile → the study's knobs → overrides."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
    config = copy.deepcopy(load_config(model))
    ssd = config["model"]["ssd"]
    ssd["num_classes"] = int(num_classes)
    train = config["train_config"]
    cosine = train["optimizer"]["momentum_optimizer"]["learning_rate"]["cosine_decay_learning_rate"]
    zoo_total_steps = cosine["total_steps"]

    settings = PROFILES[profile]
    if "image_size" in settings:
        ssd["image_resizer"]["fixed_shape_resizer"] = {"height": settings["image_size"], "width": settings["image_size"]}
    if "depth_multiplier" in settings:
        ssd["feature_extractor"]["depth_multiplier"] = settings["depth_multiplier"]
    train["num_steps"] = settings.get("num_steps", train["num_steps"])
    if num_steps is not None:
        train["num_steps"] = int(num_steps)
    if batch_size is not None:
        train["batch_size"] = int(batch_size)
    if learning_rate is not None:
        # The OD API refuses a base below the warm-up rate (FPNLite warms up from 0.026666, and the
        # study tries 0.026); keep the config's warm-up/base ratio instead of failing.
        if float(learning_rate) < cosine["warmup_learning_rate"]:
            cosine["warmup_learning_rate"] = float(learning_rate) * cosine["warmup_learning_rate"] / cosine["learning_rate_base"]
        cosine["learning_rate_base"] = float(learning_rate)
    if classification_weight is not None:
        ssd["loss"]["classification_weight"] = float(classification_weight)
    if localization_weight is not None:
        ssd["loss"]["localization_weight"] = float(localization_weight)
    # Short runs keep the zoo's warm-up share of the schedule rather than warming up forever.
    cosine["total_steps"] = train["num_steps"]
    if train["num_steps"] < zoo_total_steps:
        cosine["warmup_steps"] = max(1, round(cosine["warmup_steps"] * train["num_steps"] / zoo_total_steps))
    if cosine["warmup_steps"] > cosine["total_steps"]:
        cosine["warmup_steps"] = cosine["total_steps"]
    for dotted, value in (overrides or {}).items():
        set_value(config, dotted, value)
    return config

