"""`burgerfries sweep`: its flags, and the final lines it prints."""

from __future__ import annotations

import argparse
import sys

from burgerfries.cli.arguments import (
    POSITIVE_INT,
    choice,
    experiment_argument,
    optional_path,
    optional_text,
    switch,
)
from burgerfries.jobs.sweep.workers import CPU_WORKERS, default_workers
from burgerfries.model.config import PROFILES

SUMMARY = "the chained phases of a study YAML, for every model, then the report"
DESCRIPTION = """\
Tune detectors in chained phases, as a study YAML lists them. On your own photos (--data DIR) the
default is the photos study: the default model, length in passes then batch size, its base exactly
what `burgerfries train --data DIR` trains. Without --data it is the original study on the
synthetic set: both models, loss weights, then batch size, then learning rate. Each phase starts
from the previous phase's winner and decides on the validation photos; then the final pick per
model, measured on the test photos no decision read, and the HTML report. --dry-run prints the
plan and an estimated duration and trains nothing. Run the same command again to continue a
sweep that was stopped; workers on several machines share one sweep through one --storage.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--study",
        type=optional_path,
        default=None,
        help="sweep YAML, or a shipped study's name: original_study, photos_study (default: photos_study "
        "with --data, else the original study on the synthetic set)",
    )
    parser.add_argument(
        "--data",
        type=optional_path,
        default=None,
        help="a data_prep folder, or a LabelImg folder (prepared once into data/prepared-HASH; "
        "default: prepare the synthetic set into data/synthetic)",
    )
    parser.add_argument(
        "--profile",
        type=choice(list(PROFILES)),
        default=None,
        help="default: the study YAML's (smoke, CPU scale, in the original study); full on a GPU",
    )
    parser.add_argument(
        "--storage",
        type=optional_text,
        default=None,
        help="Optuna storage URL (default: sqlite next to the tracking db)",
    )
    parser.add_argument("--repeats", type=POSITIVE_INT, default=None, help="seeds per configuration (default 1)")
    parser.add_argument(
        "--noise-seeds",
        type=POSITIVE_INT,
        default=None,
        help="seeds of the base and of a confirmed challenger, whose spread is the noise (default: the study's, 3)",
    )
    parser.add_argument(
        "--workers",
        type=POSITIVE_INT,
        default=None,
        help=f"worker processes on this machine sharing each phase's trials (default: {CPU_WORKERS} without a GPU, "
        "1 with one; each gets an equal share of the cores)",
    )
    experiment_argument(parser, "the study's name")
    parser.add_argument(
        "--register",
        type=optional_text,
        default=None,
        help="registered model name of the final picks, one per model as NAME-MODEL with aliases champion "
        "and base (default: the study's name)",
    )
    switch(parser, "--no-system-metrics", "do not sample CPU, memory and GPU use into each trial run")
    switch(parser, "--dry-run", "print the plan and an estimated duration, run nothing")
    switch(parser, "--quiet", "no plan and no progress bars, a line per trial (what local workers run with)")


def run(args: argparse.Namespace) -> int:
    from burgerfries.jobs.sweep.job import SweepReportError, SweepSettings, SweepWorkersError, run_sweep
    from burgerfries.sweep.definition import DefinitionError
    from burgerfries.sweep.storage import StorageError

    given = {
        key: getattr(args, key)
        for key in ("study", "data", "profile", "storage", "repeats", "noise_seeds", "experiment", "register")
        if getattr(args, key) is not None
    }
    workers = args.workers or default_workers()
    settings = SweepSettings(
        dry_run=args.dry_run,
        progress=not args.quiet,
        workers=workers,
        system_metrics=not args.no_system_metrics,
        **given,
    )
    try:
        result = run_sweep(settings)
    except (DefinitionError, FileNotFoundError, ValueError, SweepReportError, SweepWorkersError, StorageError) as error:
        print(f"sweep: {error}", file=sys.stderr)
        return 1
    if result.report_path is not None:
        for model, config in result.winners.items():
            print(f"final {model}: {config}")
        if result.experiment_id:
            from burgerfries.tracking import ui_hint

            print(ui_hint(result.experiment_id))
        print(result.report_path.resolve())
    return 0
