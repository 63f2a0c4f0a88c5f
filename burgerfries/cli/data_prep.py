"""`burgerfries data-prep`: its flags, and the summary it prints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from burgerfries.cli.arguments import (
    FRACTION,
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    csv_list,
    experiment_argument,
    optional_text,
    switch,
)
from burgerfries.keys import SKIP_REPORT

SUMMARY = "LabelImg folder or synthetic scenes → TFRecords + label map"
DESCRIPTION = """\
Turn a LabelImg folder (Pascal VOC XML beside the images, or Annotations/ beside image
folders) into train.record, eval.record and label_map.pbtxt in --out, ready for `train` and
`sweep`. Broken or odd files are repaired or skipped, and each one is listed in skip_report.csv.
Without a folder it draws the built-in burger/fries scenes ('synthetic').
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        nargs="?",
        default="synthetic",
        help="a LabelImg folder, 'synthetic' for the built-in burger/fries scenes (default), or 'pretraining' "
        "for the everyday-object pretraining set",
    )
    parser.add_argument("--out", type=Path, default=Path("data/prepared"), help="output folder (default data/prepared)")
    parser.add_argument(
        "--classes",
        type=optional_text,
        default=None,
        help="comma-separated class names, in label-map order; objects of other classes are dropped and reported",
    )
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=0, help="seed of the split and of the drawn scenes")
    parser.add_argument("--num-images", type=POSITIVE_INT, default=63, help="drawn training scenes (default 63)")
    parser.add_argument(
        "--eval-images",
        type=NON_NEGATIVE_INT,
        default=None,
        help="drawn held-out scenes (default 90; 0: split --num-images by --eval-fraction)",
    )
    parser.add_argument(
        "--eval-fraction", type=FRACTION, default=0.2, help="share of images for the test (eval) split (default 0.2)"
    )
    parser.add_argument(
        "--validation-fraction",
        type=FRACTION,
        default=None,
        help="share of the training images carved out as validation photos, which every choice reads (default 0.2)",
    )
    switch(parser, "--resplit", "ignore train/ and test|eval|val/ folders and split by --seed instead")
    switch(parser, "--strict", "exit non-zero if anything was repaired or skipped")
    experiment_argument(parser, "'data_prep'")


def run(args: argparse.Namespace) -> int:
    from burgerfries.data.box_sizes import describe as describe_box_sizes
    from burgerfries.data.prepare import StrictModeError
    from burgerfries.jobs.data_prep import run_data_prep

    given = {
        key: getattr(args, key)
        for key in ("seed", "num_images", "eval_fraction", "eval_images", "validation_fraction")
        if getattr(args, key) is not None
    }
    try:
        prepared = run_data_prep(
            args.source,
            args.out,
            csv_list(args.classes),
            strict=args.strict,
            keep_folder_split=not args.resplit,
            experiment=args.experiment,
            **given,
        )
    except StrictModeError as error:
        print(error, file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as error:
        print(f"data_prep: {error}", file=sys.stderr)
        return 1
    summary = prepared.summary
    report = prepared.ingest.report
    print(f"classes: {', '.join(summary['classes'])}")
    print(
        f"images: {summary['num_images']['train']} train, {summary['num_images']['validation']} validation "
        f"(what choices read), {summary['num_images']['eval']} test (eval.record: read by no choice) "
        f"({sum(summary['num_negative_images'].values())} without objects); {summary['num_skipped']} skipped"
    )
    print(f"problems: {report.summary()}" + (f" — see {prepared.out / SKIP_REPORT}" if len(report) else ""))
    lines = report.itemised().splitlines()
    for line in lines[:20]:
        print(line)
    if len(lines) > 20:
        print(f"  … {len(lines) - 20} more in skip_report.csv")
    print(describe_box_sizes(summary.get("box_sizes")))
    print(f"dataset hash: {summary['hash']}")
    print(prepared.out)
    return 0
