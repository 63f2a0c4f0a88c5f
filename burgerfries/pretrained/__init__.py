"""Pretrained starting points made by `burgerfries pretrain` and shipped with the package, one
per (profile, model) in `<profile>/<model>/`: the weights in the OD API's variable layout
(`ckpt-1.*`, loaded like a zoo archive, with the same restore modes) and `provenance.json` (how
they were made, their own held-out mAP, the sha256 of each file).

`--weights pretrained` (train) and `weights: pretrained` (sweep YAML) select them; `--weights
none` trains from scratch. The keywords win over folders of those names in the working directory
(give such a folder by its absolute path).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

PRETRAINED = "pretrained"
NONE = "none"
SHIPPED = Path(__file__).parent
PROVENANCE = "provenance.json"


# What each model restores from the shipped weights unless `--restore` says otherwise, as measured
# (bench/RESULTS.md, "Pretrained starting points" and "The shipped SSD weights"): FPNLite's
# weight-shared box predictor tower must come too (`detection` alone left it near chance); SSD's
# single-convolution heads gain nothing from it, so SSD keeps the OD API's `detection`.
SHIPPED_RESTORE = {
    "ssd_mobilenet_v2_320x320": "detection",
    "ssd_mobilenet_v2_fpnlite_320x320": "detection_and_box_predictor",
}


class PretrainedWeightsError(ValueError):
    """No shipped weights for this profile and model, or files that do not match their record."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shipped_profiles() -> list[str]:
    return sorted(p.parent.parent.name for p in SHIPPED.glob(f"*/*/{PROVENANCE}"))


def shipped_weights(profile: str, model: str, root: Path = SHIPPED) -> Path:
    """The folder of the shipped weights for `profile` and `model`, after checking every file
    against the sha256 its provenance records."""
    folder = root / profile / model
    provenance = folder / PROVENANCE
    if not provenance.is_file():
        shipped = ", ".join(shipped_profiles()) or "none"
        raise PretrainedWeightsError(
            f"--weights pretrained: no pretrained {model} weights ship for profile {profile!r} "
            f"(profiles with shipped weights: {shipped}); make them with "
            f"`burgerfries pretrain --model {model} --profile {profile}` and pass its --out folder as --weights"
        )
    recorded = json.loads(provenance.read_text(encoding="utf-8"))["sha256"]
    for name, expected in recorded.items():
        if not (folder / name).is_file() or file_sha256(folder / name) != expected:
            raise PretrainedWeightsError(f"{folder / name}: missing or not the file its provenance records (sha256)")
    return folder


def has_shipped_weights(profile: str, model: str) -> bool:
    return (SHIPPED / profile / model / PROVENANCE).is_file()


def default_restore(weights: str | Path | None, model: str, otherwise: str) -> str:
    """The restore mode for `weights` when none is given: the measured one for the shipped
    weights (SHIPPED_RESTORE), else `otherwise` (the OD API's default)."""
    return SHIPPED_RESTORE.get(model, otherwise) if str(weights) == PRETRAINED else otherwise


def resolve_weights(weights: str | Path | None, profile: str, model: str) -> Path | None:
    """`--weights` as a path: `pretrained` → the shipped folder; `none` or nothing → None (from scratch)."""
    if weights is None or str(weights) in ("", NONE):
        return None
    if str(weights) == PRETRAINED:
        return shipped_weights(profile, model)
    return Path(weights)


@dataclass(frozen=True)
class Start:
    """What a run starts from, chosen once from what was asked (`choose_start`)."""

    weights: Path | None  # the resolved starting weights; None: from scratch
    given: str  # the weights as asked for ("" when from scratch), for the run's params
    restore: str  # how much of `weights` is restored ("" when from scratch)
    why: str  # the choice and its reasons, in one line


def choose_start(weights: str | Path | None, restore: str | None, profile: str, model: str, otherwise: str) -> Start:
    """The start of a run asked for `weights` (None: the profile's shipped weights where some ship,
    else from scratch) and `restore` (None: the measured mode for the shipped weights, else
    `otherwise`, the OD API's default)."""
    if weights is not None:
        given, why = weights, "as asked"
    elif has_shipped_weights(profile, model):
        given, why = PRETRAINED, "the profile's shipped weights"
    else:
        given, why = NONE, f"no weights ship for profile {profile}"
    resolved = resolve_weights(given, profile, model)
    if resolved is None:
        return Start(None, "", "", f"from scratch ({why})")
    chosen = restore or default_restore(given, model, otherwise)
    restore_why = "as asked" if restore else "as measured for this model"
    return Start(resolved, str(given), chosen, f"weights {given} ({why}), restore {chosen} ({restore_why})")
