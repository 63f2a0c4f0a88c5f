"""`burgerfries train`: its flags."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from burgerfries.cli.arguments import (
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    choice,
    experiment_argument,
    field_value,
    optional_path,
    optional_text,
    switch,
)
from burgerfries.keys import KNOB_TYPES, Keep
from burgerfries.model import DEFAULT_MODEL, MODEL_NAMES, RESTORE_MODES
from burgerfries.model.config import DEFAULT_PROFILE, PROFILES, profile_epochs
from burgerfries.model.input_size import AUTO, COVERAGE_TARGET

SUMMARY = "train one configuration, tracked in MLflow"
SSD_PASSES = profile_epochs(DEFAULT_PROFILE, "ssd_mobilenet_v2_320x320")
DESCRIPTION = f"""\
Train one detector on a data-prep or LabelImg folder, logging losses every step and COCO metrics
six times a run to MLflow. Without --profile and --weights it trains at laptop scale (the smoke
profile: 160 px, or larger where the objects are too small for the model's anchors there, width
0.35, {PROFILES[DEFAULT_PROFILE]["epochs"]:g} passes over the training split; SSD {SSD_PASSES:g})
from the shipped pretrained weights: minutes on a CPU. --profile full trains at the model zoo's sizes
(a GPU's work). Every other flag you leave out keeps the model YAML's value
(burgerfries/configs/MODEL.yaml). --run-id resumes a run from its last checkpoint.
"""


INPUT_SIZE_HELP = (
    f"the square input's side in pixels, or {AUTO} (default): in the smoke profile the smallest of "
    f"{', '.join(map(str, PROFILES['smoke']['input_sizes']))} px at which the model's anchors match "
    f"{COVERAGE_TARGET:.0%} of the training boxes; in the others the profile's size (tiny 96; full: the YAML's)"
)


def input_size(text: str) -> int | str | None:
    """`auto`, or a side in pixels (argparse names the flag when it is neither)."""
    return AUTO if text.strip().lower() == AUTO else POSITIVE_INT(text)


def keep_argument(parser: argparse.ArgumentParser) -> None:
    """`--keep`: which evaluated weights a run ends with (jobs/train_plan.py's `keep`)."""
    parser.add_argument(
        "--keep",
        type=choice(list(Keep.CHOICES)),
        default=None,
        help=f"which evaluated weights the run ends with: {Keep.PEAK} (default; where the validation photos' "
        f"mAP@0.5 peaked, the last among equals) or {Keep.LAST} (the last step's)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data/prepared"),
        help="a data_prep output folder, or a LabelImg folder (prepared once into data/prepared-HASH; "
        "default data/prepared)",
    )
    parser.add_argument("--model", type=choice(list(MODEL_NAMES)), default=None, help=f"default {DEFAULT_MODEL}")
    yaml_default = "default: the model YAML's (burgerfries/configs/MODEL.yaml)"
    parser.add_argument("--batch-size", type=POSITIVE_INT, default=None, help=yaml_default)
    parser.add_argument(
        "--learning-rate",
        type=POSITIVE_FLOAT,
        default=None,
        help=f"learning_rate_base of the cosine schedule; {yaml_default}",
    )
    parser.add_argument("--classification-weight", type=POSITIVE_FLOAT, default=None, help=yaml_default)
    parser.add_argument("--localization-weight", type=POSITIVE_FLOAT, default=None, help=yaml_default)
    parser.add_argument(
        "--num-steps", type=POSITIVE_INT, default=None, help="the run's length in steps (default: the profile's)"
    )
    parser.add_argument(
        "--epochs",
        type=POSITIVE_FLOAT,
        default=None,
        help="the run's length in passes over the training split, at the run's batch size "
        f"(default: the profile's: smoke {PROFILES['smoke']['epochs']:g}, SSD {SSD_PASSES:g}; full: the YAML's steps)",
    )
    parser.add_argument("--input-size", type=input_size, default=AUTO, help=INPUT_SIZE_HELP)
    parser.add_argument(
        "--profile",
        type=choice(list(PROFILES)),
        default=None,
        help=f"{DEFAULT_PROFILE} (default): 160 px, depth 0.35, CPU scale; full: the YAML's sizes (GPU scale); "
        "tiny: tests",
    )
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=None, help="default 0")
    parser.add_argument(
        "--weights",
        type=optional_path,
        default=None,
        help="initial weights: pretrained (the shipped ones for the profile, made by `burgerfries pretrain`; "
        "the default where the profile has them), none (from scratch; the default elsewhere), a .weights.h5 "
        "file, a checkpoint (prefix or folder) of an earlier run, or an OD-API checkpoint or zoo archive",
    )
    parser.add_argument(
        "--restore",
        type=choice(list(RESTORE_MODES)),
        default=None,
        help="how much of an OD-API checkpoint --weights restores: detection (the feature extractor, as the "
        "OD API's fine_tune_checkpoint_type: detection), detection_and_box_predictor (also the box predictor "
        "but its class heads), full (everything whose shape matches). Default: with the shipped weights, what "
        "was measured to work for the model (FPNLite detection_and_box_predictor, SSD detection); else detection",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=NON_NEGATIVE_INT,
        default=None,
        help="also checkpoint every N steps (default: at evaluations and the end)",
    )
    parser.add_argument(
        "--eval-every",
        type=NON_NEGATIVE_INT,
        default=None,
        help="evaluate every N steps, and always at the last (default: 6 evaluations a run; 0: the last step only)",
    )
    keep_argument(parser)
    parser.add_argument("--run-id", type=optional_text, default=None, help="resume this run from its latest checkpoint")
    parser.add_argument(
        "--set",
        dest="overrides",
        type=field_value,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override any config field, e.g. model.ssd.loss.classification_loss.weighted_sigmoid_focal.gamma=1.5",
    )
    switch(parser, "--no-system-metrics", "do not sample CPU, memory and GPU use into the run")
    experiment_argument(parser, "'train'")


def run(args: argparse.Namespace) -> int:
    from burgerfries.api import train

    optional = ("model", "seed", "checkpoint_every", "profile", "weights", "restore", "keep")
    given = {key: getattr(args, key) for key in optional if getattr(args, key) is not None}
    try:
        result = train(
            args.data,
            run_id=args.run_id,
            **{knob: getattr(args, knob) for knob in KNOB_TYPES},  # (`epochs` among them)
            eval_every=args.eval_every,
            overrides=dict(args.overrides),
            experiment=args.experiment,
            system_metrics=not args.no_system_metrics,
            **given,
        )
    except (FileNotFoundError, ValueError, KeyError) as error:
        print(f"train: {error}", file=sys.stderr)
        return 1
    print(result.run_id)  # the last line: what a script reads
    return 0
