"""The `burgerfries` command. Each subcommand parses its arguments and calls one library function;
pipelines/*.py (the MLproject entry points) make the same calls."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _csv_list(text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    return names or None


def add_data_prep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", nargs="?", default="synthetic",
                        help="a LabelImg folder, or 'synthetic' for the built-in burger/fries scenes (default)")
    parser.add_argument("--out", type=Path, default=Path("data/prepared"), help="output folder (default data/prepared)")
    parser.add_argument("--classes", default=None, help="comma-separated class names, in label-map order; "
                                                        "objects of other classes are dropped and reported")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of the synthetic scenes")
    parser.add_argument("--num-images", type=int, default=63, help="synthetic scenes to draw (default 63)")
    parser.add_argument("--eval-fraction", type=float, default=0.2, help="share of images for eval (default 0.2)")
    parser.add_argument("--resplit", action="store_true",
                        help="ignore train/ and test|eval|val/ folders and split by --seed instead")
    parser.add_argument("--strict", action="store_true", help="exit non-zero if anything was repaired or skipped")


def data_prep_command(args: argparse.Namespace) -> int:
    from burgerfries.data.prepare import StrictModeError
    from burgerfries.data_prep import run_data_prep

    try:
        prepared = run_data_prep(args.source, args.out, _csv_list(args.classes), args.seed, args.num_images,
                                 args.eval_fraction, args.strict, keep_folder_split=not args.resplit)
    except StrictModeError as error:
        print(error, file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as error:
        print(f"data_prep: {error}", file=sys.stderr)
        return 1
    summary = prepared.summary
    report = prepared.ingest.report
    print(f"classes: {', '.join(summary['classes'])}")
    print(f"images: {summary['num_images']['train']} train, {summary['num_images']['eval']} eval "
          f"({sum(summary['num_negative_images'].values())} without objects); {summary['num_skipped']} skipped")
    print(f"problems: {report.summary()}" + (f" — see {prepared.out / 'skip_report.csv'}" if len(report) else ""))
    lines = report.itemised().splitlines()
    for line in lines[:20]:
        print(line)
    if len(lines) > 20:
        print(f"  … {len(lines) - 20} more in skip_report.csv")
    print(f"dataset hash: {summary['hash']}")
    print(prepared.out)
    return 0


def _overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"--set expects FIELD=VALUE (dotted OD-API field names), got {pair!r}")
        key, value = pair.split("=", 1)
        overrides[key.strip()] = value.strip()
    return overrides


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    from burgerfries.model import MODEL_NAMES
    from burgerfries.model.config import PROFILES

    parser.add_argument("--data", type=Path, required=True, help="a data_prep output folder")
    parser.add_argument("--model", choices=MODEL_NAMES, default=MODEL_NAMES[0])
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=0.04, help="learning_rate_base of the cosine schedule")
    parser.add_argument("--classification-weight", type=float, default=1.0)
    parser.add_argument("--localization-weight", type=float, default=1.0)
    parser.add_argument("--num-steps", type=int, default=None, help="default (or 0): the profile's")
    parser.add_argument("--profile", choices=list(PROFILES), default="full",
                        help="full: zoo sizes (GPU scale); smoke: 160 px, depth 0.35 (CPU); tiny: tests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", type=lambda text: Path(text) if text else None, default=None,
                        help="initial weights: a .weights.h5 file or a checkpoint (prefix or folder) of an earlier run")
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=0, help="evaluate every N steps (always at the last step)")
    parser.add_argument("--run-id", default=None, help="resume this run from its latest checkpoint")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                        help="override any config field, e.g. model.ssd.loss.classification_loss.weighted_sigmoid_focal.gamma=1.5")


def train_command(args: argparse.Namespace) -> int:
    from burgerfries.training.train import TrainSettings, train

    settings = TrainSettings(
        data=args.data, model=args.model, batch_size=args.batch_size, learning_rate=args.learning_rate,
        classification_weight=args.classification_weight, localization_weight=args.localization_weight,
        num_steps=args.num_steps or None, profile=args.profile, seed=args.seed, weights=args.weights,
        checkpoint_every=args.checkpoint_every, eval_every=args.eval_every, overrides=_overrides(args.overrides))
    try:
        result = train(settings, evaluator=_default_evaluator(args.data), run_id=args.run_id)
    except (FileNotFoundError, ValueError, KeyError) as error:
        print(f"train: {error}", file=sys.stderr)
        return 1
    losses = ", ".join(f"{k} {v:.4f}" for k, v in result.final_losses.items())
    print(f"step {result.step}: {losses}")
    print(result.run_id)
    return 0


def _default_evaluator(data: Path):
    from burgerfries.evaluate import Evaluation

    return Evaluation(data)


def evaluate_command(args: argparse.Namespace) -> int:
    from burgerfries.evaluate import evaluate_run
    from burgerfries.trained_run import RunError

    try:
        target, step, metrics = evaluate_run(args.run_id, args.data, args.step, args.new_run)
    except (RunError, FileNotFoundError, ValueError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 1
    for key in ("eval/mAP_50", "eval/mAP", "eval/AR_1", "eval/AR_10", "eval/AR_100", "eval/loss_total",
                "eval/wrong_detections"):
        print(f"{key}: {metrics[key]:.4f}")
    print(f"step {step} logged to run {target}")
    print(target)
    return 0


def report_command(args: argparse.Namespace) -> int:
    from burgerfries.report.html import report
    from burgerfries.tracking import configure_tracking

    configure_tracking()
    try:
        built = report(args.experiment, args.run_id, args.out)
    except ValueError as error:
        print(f"report: {error}", file=sys.stderr)
        return 1
    for _, row in built.final.iterrows():
        print(f"final {row['model']}: run {row['name']} — {row['reason']}")
    print(built.path.resolve())
    return 0


def sweep_command(args: argparse.Namespace) -> int:
    from burgerfries.sweep.definition import DefinitionError
    from burgerfries.sweep.driver import SweepSettings, run_sweep

    settings = SweepSettings(study=args.study, data=args.data, profile=args.profile, storage=args.storage,
                             repeats=args.repeats, dry_run=args.dry_run)
    try:
        result = run_sweep(settings)
    except (DefinitionError, FileNotFoundError, ValueError) as error:
        print(f"sweep: {error}", file=sys.stderr)
        return 1
    if result.report_path is not None:
        for model, config in result.winners.items():
            print(f"final {model}: {config}")
        print(result.report_path.resolve())
    return 0


def export_command(args: argparse.Namespace) -> int:
    from burgerfries.export import ExportError, export_run
    from burgerfries.tracking import configure_tracking
    from burgerfries.trained_run import RunError

    configure_tracking()
    try:
        written = export_run(args.run_id, args.out, args.register)
    except (RunError, ExportError, FileNotFoundError) as error:
        print(f"export: {error}", file=sys.stderr)
        return 1
    for key in ("saved_model", "tflite", "label_map"):
        print(f"{key}: {written[key]}")
    print(f"MLflow model: {written['model_uri']}" + (f" (registered as {args.register})" if args.register else ""))
    print(Path(args.out).resolve())
    return 0


def predict_command(args: argparse.Namespace) -> int:
    from burgerfries.predict import predict_images
    from burgerfries.export import ExportError
    from burgerfries.tracking import configure_tracking

    configure_tracking()
    try:
        written = predict_images(args.images, args.model, args.out, args.threshold)
    except (ExportError, FileNotFoundError) as error:
        print(f"predict: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="burgerfries", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    data_prep = commands.add_parser("data-prep", help="LabelImg folder or synthetic scenes → TFRecords + label map")
    add_data_prep_arguments(data_prep)
    data_prep.set_defaults(handler=data_prep_command)
    train_parser = commands.add_parser("train", help="train one configuration, tracked in MLflow")
    add_train_arguments(train_parser)
    train_parser.set_defaults(handler=train_command)
    evaluate = commands.add_parser("evaluate", help="evaluate a run's checkpoint on a data folder")
    evaluate.add_argument("--run-id", required=True)
    evaluate.add_argument("--data", type=Path, required=True, help="a data_prep output folder (its eval.record)")
    evaluate.add_argument("--step", type=int, default=None, help="checkpoint step (default: the latest)")
    evaluate.add_argument("--new-run", action="store_true", help="log to a new run linked by tag evaluated_run_id")
    evaluate.set_defaults(handler=evaluate_command)
    report_parser = commands.add_parser("report", help="plateau points, winners and tables as one offline HTML page")
    source = report_parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--experiment", help="an MLflow experiment name (all its training runs)")
    source.add_argument("--run-id", help="a sweep's parent run id")
    report_parser.add_argument("--out", type=Path, default=None, help="output folder (default reports/out/<name>)")
    report_parser.set_defaults(handler=report_command)
    export = commands.add_parser("export", help="SavedModel, TFLite and an MLflow model from a run's checkpoint")
    export.add_argument("--run-id", required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--register", default=None, help="also register the MLflow model under this name")
    export.set_defaults(handler=export_command)
    predict = commands.add_parser("predict", help="draw detections on images into PNG files")
    predict.add_argument("images", nargs="+", type=Path)
    predict.add_argument("--model", required=True, help="an export folder, a saved_model folder, or runs:/RUN_ID/...")
    predict.add_argument("--out", type=Path, default=Path("predictions"))
    predict.add_argument("--threshold", type=float, default=0.5, help="lowest score drawn (default 0.5)")
    predict.set_defaults(handler=predict_command)
    from burgerfries.sweep.driver import DEFAULT_STUDY

    sweep = commands.add_parser("sweep", help="the chained phases of a study YAML, for every model, then the report")
    sweep.add_argument("--study", type=Path, default=DEFAULT_STUDY, help="sweep YAML (default: the original study)")
    sweep.add_argument("--data", type=lambda text: Path(text) if text else None, default=None,
                       help="a data_prep folder (default: prepare the synthetic set into data/synthetic)")
    sweep.add_argument("--profile", default="smoke", choices=["full", "smoke", "tiny"],
                       help="smoke (default) on a CPU, full on a GPU")
    sweep.add_argument("--storage", default=None, help="Optuna storage URL (default: sqlite next to the tracking db)")
    sweep.add_argument("--repeats", type=int, default=1, help="seeds per configuration")
    sweep.add_argument("--dry-run", action="store_true", help="print the plan and an estimated duration, run nothing")
    sweep.set_defaults(handler=sweep_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)
