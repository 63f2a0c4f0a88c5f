"""`burgerfries pretrain`: its flags."""

from __future__ import annotations

import argparse
import sys

from burgerfries.cli.arguments import (
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    choice,
    experiment_argument,
    optional_path,
)
from burgerfries.model import DEFAULT_MODEL, MODEL_NAMES
from burgerfries.model.config import PROFILES

SUMMARY = "train on the everyday-object pretraining set; write fine-tuning weights + provenance"
DESCRIPTION = """\
Make a starting point for fine-tuning when the model zoo cannot be downloaded: train a
detector on a drawn set of everyday objects and write its weights in the OD API's layout, with a
provenance.json saying how they were made. Pass the output folder to `train --weights`.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from burgerfries.scenes.pretraining_scenes import PRETRAINING_EVAL_IMAGES, PRETRAINING_IMAGES

    parser.add_argument("--model", type=choice(list(MODEL_NAMES)), default=None, help=f"default {DEFAULT_MODEL}")
    parser.add_argument(
        "--profile",
        type=choice(list(PROFILES)),
        default=None,
        help="default smoke (the profile the shipped weights are for)",
    )
    parser.add_argument(
        "--out", type=optional_path, default=None, help="output folder (default pretrained/PROFILE/MODEL)"
    )
    parser.add_argument(
        "--data",
        type=optional_path,
        default=None,
        help="where the pretraining set is drawn (default data/pretraining; reused while seed and sizes match), "
        "or a LabelImg or data_prep folder of your own to pretrain on",
    )
    parser.add_argument(
        "--num-images", type=POSITIVE_INT, default=None, help=f"training scenes (default {PRETRAINING_IMAGES})"
    )
    parser.add_argument(
        "--eval-images", type=POSITIVE_INT, default=None, help=f"held-out scenes (default {PRETRAINING_EVAL_IMAGES})"
    )
    parser.add_argument("--data-seed", type=NON_NEGATIVE_INT, default=None, help="the set's seed (default 0)")
    parser.add_argument("--num-steps", type=POSITIVE_INT, default=None, help="default: the profile's")
    parser.add_argument("--batch-size", type=POSITIVE_INT, default=None, help="default: the model YAML's")
    parser.add_argument("--learning-rate", type=POSITIVE_FLOAT, default=None, help="default: the model YAML's")
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=None, help="default 0")
    parser.add_argument(
        "--resume",
        action="store_true",
        default=None,
        help="go on with the newest unfinished pretraining run of this model, profile and data from its last "
        "checkpoint (one every 500 steps)",
    )
    experiment_argument(parser, "'pretrain'")


def run(args: argparse.Namespace) -> int:
    from burgerfries.jobs.pretrain import PretrainSettings, pretrain

    names = ("model", "profile", "out", "data", "num_images", "eval_images", "data_seed", "num_steps")
    names += ("batch_size", "learning_rate", "seed", "experiment", "resume")
    given = {key: getattr(args, key) for key in names if getattr(args, key) is not None}
    try:
        pretrain(PretrainSettings(**given))
    except (FileNotFoundError, ValueError) as error:
        print(f"pretrain: {error}", file=sys.stderr)
        return 1
    return 0
