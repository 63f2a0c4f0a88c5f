"""The `burgerfries` command. Each subcommand parses its arguments and calls one job; the
MLproject entry points (pipelines/*.py) call the same `main`.

Flags that set a study knob default to unset (None), which means the model YAML's value. An empty
string — what MLproject passes for a parameter left at its default "" — is unset too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from burgerfries.jobs.local_workers import CPU_WORKERS, default_workers
from burgerfries.model import MODEL_NAMES, RESTORE_MODES
from burgerfries.model.config import PROFILES
from burgerfries.tf_startup import start_tensorflow


def _unset(text: str | None) -> bool:
    return text is None or str(text).strip() == ""


def _number(convert: Callable[[str], Any], check: Callable[[Any], bool], valid: str) -> Callable[[str], Any]:
    """An optional number: '' → None; otherwise it must convert and pass `check`, or argparse
    answers 'argument --flag: …' naming the flag and the valid range."""

    def parse(text: str) -> Any:
        if _unset(text):
            return None
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number; {valid}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; {valid}")
        return value

    return parse


POSITIVE_INT = _number(int, lambda v: v >= 1, "expected a whole number ≥ 1")
NON_NEGATIVE_INT = _number(int, lambda v: v >= 0, "expected a whole number ≥ 0")
POSITIVE_FLOAT = _number(float, lambda v: 0 < v < float("inf"), "expected a number > 0")
FRACTION = _number(float, lambda v: 0 <= v < 1, "expected a number in [0, 1)")


def _optional_path(text: str) -> Path | None:
    return None if _unset(text) else Path(text)


def _optional_text(text: str) -> str | None:
    return None if _unset(text) else text


def _flag(text: str) -> bool:
    """`--strict` alone is true; MLproject passes `--strict true|false|''`."""
    if _unset(text):
        return False
    value = str(text).strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected true or false")
    return value in ("true", "1", "yes")


def _switch(parser: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    """An on/off flag: `--flag` alone is on; `--flag true|false|''` is what MLproject passes."""
    parser.add_argument(flag, type=_flag, nargs="?", const=True, default=False, help=help_text)


def _choice(choices: list[str]) -> Callable[[str], str | None]:
    def parse(text: str) -> str | None:
        if _unset(text):
            return None
        if text not in choices:
            raise argparse.ArgumentTypeError(f"{text!r}: choose one of {', '.join(choices)}")
        return text

    return parse


def _csv_list(text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    return names or None


def _overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"--set expects FIELD=VALUE (dotted OD-API field names), got {pair!r}")
        key, value = pair.split("=", 1)
        overrides[key.strip()] = value.strip()
    return overrides


def _experiment_argument(parser: argparse.ArgumentParser, default_name: str) -> None:
    parser.add_argument(
        "--experiment",
        type=_optional_text,
        default=None,
        help=f"MLflow experiment (default: MLFLOW_EXPERIMENT_NAME/ID when set, else {default_name!r})",
    )


# ---------------------------------------------------------------------------------------------- data-prep
def add_data_prep_arguments(parser: argparse.ArgumentParser) -> None:
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
        type=_optional_text,
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
    parser.add_argument("--eval-fraction", type=FRACTION, default=0.2, help="share of images for eval (default 0.2)")
    _switch(parser, "--resplit", "ignore train/ and test|eval|val/ folders and split by --seed instead")
    _switch(parser, "--strict", "exit non-zero if anything was repaired or skipped")
    _experiment_argument(parser, "data_prep")


def data_prep_command(args: argparse.Namespace) -> int:
    from burgerfries.data.prepare import StrictModeError
    from burgerfries.jobs.data_prep import run_data_prep

    given = {
        key: getattr(args, key)
        for key in ("seed", "num_images", "eval_fraction", "eval_images")
        if getattr(args, key) is not None
    }
    try:
        prepared = run_data_prep(
            args.source,
            args.out,
            _csv_list(args.classes),
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
        f"images: {summary['num_images']['train']} train, {summary['num_images']['eval']} eval "
        f"({sum(summary['num_negative_images'].values())} without objects); {summary['num_skipped']} skipped"
    )
    print(f"problems: {report.summary()}" + (f" — see {prepared.out / 'skip_report.csv'}" if len(report) else ""))
    lines = report.itemised().splitlines()
    for line in lines[:20]:
        print(line)
    if len(lines) > 20:
        print(f"  … {len(lines) - 20} more in skip_report.csv")
    print(f"dataset hash: {summary['hash']}")
    print(prepared.out)
    return 0


# ---------------------------------------------------------------------------------------------- train
def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", type=Path, default=Path("data/prepared"), help="a data_prep output folder (default data/prepared)"
    )
    parser.add_argument("--model", type=_choice(list(MODEL_NAMES)), default=None, help=f"default {MODEL_NAMES[0]}")
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
    parser.add_argument("--num-steps", type=POSITIVE_INT, default=None, help="default: the profile's, else the YAML's")
    parser.add_argument(
        "--profile",
        type=_choice(list(PROFILES)),
        default=None,
        help="full (default): the YAML's sizes (GPU scale); smoke: 160 px, depth 0.35 (CPU); tiny: tests",
    )
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=None, help="default 0")
    parser.add_argument(
        "--weights",
        type=_optional_path,
        default=None,
        help="initial weights: pretrained (the shipped ones for the profile, made by `burgerfries pretrain`), "
        "none (from scratch, the default), a .weights.h5 file, a checkpoint (prefix or folder) of an earlier run, "
        "or an OD-API checkpoint or zoo archive",
    )
    parser.add_argument(
        "--restore",
        type=_choice(list(RESTORE_MODES)),
        default=None,
        help="how much of an OD-API checkpoint --weights restores: detection (default; the feature extractor, "
        "as the OD API's fine_tune_checkpoint_type: detection), detection_and_box_predictor (also the box "
        "predictor but its class heads), full (everything whose shape matches)",
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
    parser.add_argument(
        "--run-id", type=_optional_text, default=None, help="resume this run from its latest checkpoint"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override any config field, e.g. model.ssd.loss.classification_loss.weighted_sigmoid_focal.gamma=1.5",
    )
    _experiment_argument(parser, "train")


def train_command(args: argparse.Namespace) -> int:
    from burgerfries.evaluation.evaluator import Evaluation
    from burgerfries.jobs.train import TrainSettings, train

    given = {
        key: getattr(args, key)
        for key in ("model", "profile", "seed", "checkpoint_every", "restore")
        if getattr(args, key) is not None
    }
    try:
        settings = TrainSettings(
            data=args.data,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            classification_weight=args.classification_weight,
            localization_weight=args.localization_weight,
            num_steps=args.num_steps,
            weights=args.weights,
            eval_every=args.eval_every,
            overrides=_overrides(args.overrides),
            experiment=args.experiment,
            **given,
        )
        result = train(settings, evaluator=Evaluation(args.data), run_id=args.run_id)
    except (FileNotFoundError, ValueError, KeyError) as error:
        print(f"train: {error}", file=sys.stderr)
        return 1
    losses = ", ".join(f"{k} {v:.4f}" for k, v in result.final_losses.items())
    print(f"step {result.step}: {losses}")
    print(result.run_id)
    return 0


# ---------------------------------------------------------------------------------------------- pretrain


def add_pretrain_arguments(parser: argparse.ArgumentParser) -> None:
    from burgerfries.data.pretraining_scenes import PRETRAINING_EVAL_IMAGES, PRETRAINING_IMAGES

    parser.add_argument("--model", type=_choice(list(MODEL_NAMES)), default=None, help=f"default {MODEL_NAMES[0]}")
    parser.add_argument(
        "--profile", type=_choice(list(PROFILES)), default=None, help="default full; the shipped weights are smoke"
    )
    parser.add_argument(
        "--out", type=_optional_path, default=None, help="output folder (default pretrained/PROFILE/MODEL)"
    )
    parser.add_argument(
        "--data",
        type=_optional_path,
        default=None,
        help="where the pretraining set is drawn (default data/pretraining; reused while seed and sizes match)",
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
    _experiment_argument(parser, "pretrain")


def pretrain_command(args: argparse.Namespace) -> int:
    from burgerfries.jobs.pretrain import PretrainSettings, pretrain

    names = ("model", "profile", "out", "data", "num_images", "eval_images", "data_seed", "num_steps")
    names += ("batch_size", "learning_rate", "seed", "experiment")
    given = {key: getattr(args, key) for key in names if getattr(args, key) is not None}
    try:
        pretrain(PretrainSettings(**given))
    except (FileNotFoundError, ValueError) as error:
        print(f"pretrain: {error}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------------------------- evaluate
def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-id", required=True)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data/prepared"),
        help="a data_prep output folder, its eval.record (default data/prepared)",
    )
    parser.add_argument("--step", type=NON_NEGATIVE_INT, default=None, help="checkpoint step (default: the latest)")
    _switch(parser, "--new-run", "log to a new run linked by tag evaluated_run_id")
    _experiment_argument(parser, "evaluate")


def evaluate_command(args: argparse.Namespace) -> int:
    from burgerfries.jobs.evaluate import evaluate_run
    from burgerfries.jobs.trained_run import RunError

    try:
        target, step, metrics = evaluate_run(args.run_id, args.data, args.step, args.new_run, args.experiment)
    except (RunError, FileNotFoundError, ValueError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 1
    for key in (
        "eval/mAP_50",
        "eval/mAP",
        "eval/AR_1",
        "eval/AR_10",
        "eval/AR_100",
        "eval/loss_total",
        "eval/loss_total_unweighted",
        "eval/wrong_detections",
    ):
        print(f"{key}: {metrics[key]:.4f}" if key in metrics else f"{key}: undefined (no ground truth)")
    print(f"step {step} logged to run {target}")
    print(target)
    return 0


# ---------------------------------------------------------------------------------------------- report
def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--experiment", type=_optional_text, default=None, help="an MLflow experiment name (all its training runs)"
    )
    parser.add_argument("--run-id", type=_optional_text, default=None, help="a sweep's parent run id")
    parser.add_argument("--out", type=_optional_path, default=None, help="output folder (default reports/out/<name>)")


def report_command(args: argparse.Namespace) -> int:
    from burgerfries.jobs.report import report
    from burgerfries.tracking import configure_tracking

    if bool(args.experiment) == bool(args.run_id):
        print("report: give exactly one of --experiment NAME or --run-id SWEEP_PARENT_RUN_ID", file=sys.stderr)
        return 1
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


# ---------------------------------------------------------------------------------------------- sweep
def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--study",
        type=_optional_path,
        default=None,
        help="sweep YAML (default: the original study, burgerfries/studies/original_study.yaml)",
    )
    parser.add_argument(
        "--data",
        type=_optional_path,
        default=None,
        help="a data_prep folder (default: prepare the synthetic set into data/synthetic)",
    )
    parser.add_argument(
        "--profile",
        type=_choice(list(PROFILES)),
        default=None,
        help="default: the study YAML's (smoke, CPU scale, in the original study); full on a GPU",
    )
    parser.add_argument(
        "--storage",
        type=_optional_text,
        default=None,
        help="Optuna storage URL (default: sqlite next to the tracking db)",
    )
    parser.add_argument("--repeats", type=POSITIVE_INT, default=None, help="seeds per configuration (default 1)")
    parser.add_argument(
        "--noise-seeds",
        type=POSITIVE_INT,
        default=None,
        help="seeds of each phase's carried-in configuration, its noise floor (default: the study's, 3; 1: none)",
    )
    parser.add_argument(
        "--workers",
        type=POSITIVE_INT,
        default=None,
        help=f"worker processes on this machine sharing each phase's trials (default: {CPU_WORKERS} without a GPU, "
        "1 with one; each gets an equal share of the cores)",
    )
    _switch(parser, "--dry-run", "print the plan and an estimated duration, run nothing")
    _switch(parser, "--quiet", "no plan and no progress bars, a line per trial (what local workers run with)")


def sweep_command(args: argparse.Namespace) -> int:
    from burgerfries.jobs.sweep import SweepReportError, SweepSettings, SweepWorkersError, run_sweep
    from burgerfries.sweep.definition import DefinitionError
    from burgerfries.sweep.storage import StorageError

    given = {
        key: getattr(args, key)
        for key in ("study", "data", "profile", "storage", "repeats", "noise_seeds")
        if getattr(args, key) is not None
    }
    workers = args.workers or default_workers()
    settings = SweepSettings(dry_run=args.dry_run, progress=not args.quiet, workers=workers, **given)
    try:
        result = run_sweep(settings)
    except (DefinitionError, FileNotFoundError, ValueError, SweepReportError, SweepWorkersError, StorageError) as error:
        print(f"sweep: {error}", file=sys.stderr)
        return 1
    if result.report_path is not None:
        for model, config in result.winners.items():
            print(f"final {model}: {config}")
        print(result.report_path.resolve())
    return 0


# ---------------------------------------------------------------------------------------------- export, predict
def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--out", type=Path, default=Path("export"), help="output folder (default export)")
    parser.add_argument(
        "--register", type=_optional_text, default=None, help="also register the MLflow model under this name"
    )
    parser.add_argument(
        "--data",
        type=_optional_path,
        default=None,
        help="data_prep folder whose eval split checks the export (default: the run's)",
    )
    parser.add_argument(
        "--space",
        type=_optional_path,
        default=None,
        help="also write a Hugging Face Space folder here (needs the demo extra)",
    )


def export_command(args: argparse.Namespace) -> int:
    from burgerfries.export.loading import ExportError
    from burgerfries.jobs.demo import DemoError
    from burgerfries.jobs.export import export_run
    from burgerfries.jobs.trained_run import RunError
    from burgerfries.tracking import configure_tracking

    configure_tracking()
    try:
        written = export_run(args.run_id, args.out, args.register, args.data, args.space)
    except (RunError, ExportError, DemoError, FileNotFoundError) as error:
        print(f"export: {error}", file=sys.stderr)
        return 1
    for key in ("saved_model", "tflite", "label_map"):
        print(f"{key}: {written[key]}")
    scores = ", ".join(f"{k} {'undefined' if v is None else f'{v:.3f}'}" for k, v in written["mAP_50"].items())
    print(f"mAP@0.5 on the eval split: {scores}")
    if "space" in written:
        print(f"Hugging Face Space folder: {written['space']}")
    print(f"MLflow model: {written['model_uri']}" + (f" (registered as {args.register})" if args.register else ""))
    print(Path(args.out).resolve())
    return 0


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--model", required=True, help="an export folder, a saved_model folder, or runs:/RUN_ID/...")
    parser.add_argument("--out", type=Path, default=Path("predictions"))
    parser.add_argument("--threshold", type=FRACTION, default=None, help="lowest score drawn (default 0.5)")


def predict_command(args: argparse.Namespace) -> int:
    from burgerfries.evaluation import SCORE_THRESHOLD
    from burgerfries.export.loading import ExportError
    from burgerfries.jobs.predict import predict_images
    from burgerfries.tracking import configure_tracking

    configure_tracking()
    try:
        written = predict_images(
            args.images, args.model, args.out, SCORE_THRESHOLD if args.threshold is None else args.threshold
        )
    except (ExportError, FileNotFoundError) as error:
        print(f"predict: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="an export folder, a saved_model folder, or an MLflow model URI (runs:/RUN_ID/model)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=POSITIVE_INT, default=7860)
    parser.add_argument("--threshold", type=FRACTION, default=None, help="initial score threshold (default 0.5)")


def demo_command(args: argparse.Namespace) -> int:
    from burgerfries.evaluation import SCORE_THRESHOLD
    from burgerfries.export.loading import ExportError
    from burgerfries.jobs.demo import DemoError, serve_demo
    from burgerfries.tracking import configure_tracking

    configure_tracking()
    try:
        serve_demo(
            args.model, args.host, args.port or 7860, SCORE_THRESHOLD if args.threshold is None else args.threshold
        )
    except (DemoError, ExportError, FileNotFoundError) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {
    "data-prep": (
        add_data_prep_arguments,
        data_prep_command,
        "LabelImg folder or synthetic scenes → TFRecords + label map",
    ),
    "pretrain": (
        add_pretrain_arguments,
        pretrain_command,
        "train on the everyday-object pretraining set; write fine-tuning weights + provenance",
    ),
    "train": (add_train_arguments, train_command, "train one configuration, tracked in MLflow"),
    "evaluate": (add_evaluate_arguments, evaluate_command, "evaluate a run's checkpoint on a data folder"),
    "report": (add_report_arguments, report_command, "plateau points, winners and tables as one offline HTML page"),
    "export": (add_export_arguments, export_command, "SavedModel, TFLite and an MLflow model from a run's checkpoint"),
    "predict": (add_predict_arguments, predict_command, "draw detections on images into PNG files"),
    "demo": (add_demo_arguments, demo_command, "a web page (Gradio) to try an exported model on photos"),
    "sweep": (
        add_sweep_arguments,
        sweep_command,
        "the chained phases of a study YAML, for every model, then the report",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="burgerfries", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (add_arguments, handler, help_text) in COMMANDS.items():
        subparser = commands.add_parser(name, help=help_text)
        add_arguments(subparser)
        subparser.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start_tensorflow()
    return args.handler(args)
