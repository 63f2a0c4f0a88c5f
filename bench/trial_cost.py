"""Where a sweep trial's time goes, per model, at the smoke profile and the base configuration
(batch 10, lr 0.04, 1:1): the first step (tracing and graph optimisation), the median step, one
evaluation of the eval split, and the trial's wall time against its training steps.

    python bench/trial_cost.py [--eval-images 90] [--num-steps 300] [--models ...] [--profiles smoke,full]

The step breakdown times, on batches already in memory: the forward pass alone, forward + target
assignment + loss, + gradients, and the whole step (+ the SGD update); and the input pipeline alone.
The trial is a real `train()` call with six evaluations on a data_prep folder with `--eval-images`
held-out scenes; overhead = wall time − the steps' own time (each step as measured, the first
one as a median step: the rest of it is tracing). Two trials per model, as a
sweep runs them (one `TrainingSetups`, one `Evaluation`): the first builds and traces, the second
(seed 1) reuses the traced step and eval step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import burgerfries  # noqa: F401  (before TensorFlow: it sets TF_ENABLE_ONEDNN_OPTS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mlflow  # noqa: E402
import tensorflow as tf  # noqa: E402
from sweep_trials import step_rates, step_seconds  # noqa: E402  (bench/sweep_trials.py, beside this file)

from burgerfries.data.prepare import prepare_dataset  # noqa: E402
from burgerfries.evaluation.evaluator import Evaluation  # noqa: E402
from burgerfries.jobs.train import TrainSettings, train  # noqa: E402
from burgerfries.machine import describe_machine  # noqa: E402
from burgerfries.model import MODEL_NAMES  # noqa: E402
from burgerfries.model.config import build_config  # noqa: E402
from burgerfries.training.assemble import assemble  # noqa: E402
from burgerfries.training.setups import TrainingSetups  # noqa: E402
from burgerfries.training.step import batch_losses  # noqa: E402

BASE = {"batch_size": 10, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}


def median_seconds(function, batches, repeats: int = 8) -> float:
    function(*batches[0])  # trace
    times = []
    for index in range(repeats):
        started = time.perf_counter()
        output = function(*batches[index % len(batches)])
        tf.nest.map_structure(lambda t: t.numpy(), output)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def breakdown(model: str, profile: str, data: Path) -> dict[str, float]:
    config = build_config(model, profile, 2, BASE)
    setup = assemble(config, data / "train.record")
    pipeline = iter(setup.batches())
    started = time.perf_counter()
    batches = [next(pipeline) for _ in range(8)]
    input_seconds = (time.perf_counter() - started) / 8
    detector, variables = setup.detector, setup.detector.model.trainable_variables

    @tf.function(autograph=False)
    def forward(images, boxes, labels, valid):
        return detector.model(images, training=True)

    @tf.function(autograph=False)
    def forward_loss(images, boxes, labels, valid):
        return batch_losses(detector, images, boxes, labels, valid, training=True)[0]["loss_total"]

    @tf.function(autograph=False)
    def gradients(images, boxes, labels, valid):
        with tf.GradientTape() as tape:
            loss = batch_losses(detector, images, boxes, labels, valid, training=True)[0]["loss_total"]
        return tape.gradient(loss, variables)

    started = time.perf_counter()
    setup.train_step.get_concrete_function(*batches[0])
    trace = time.perf_counter() - started
    started = time.perf_counter()
    setup.train_step(*batches[0])
    first_call = time.perf_counter() - started
    return {
        "input (batch from the pipeline)": input_seconds,
        "forward": median_seconds(forward, batches),
        "forward + targets + loss": median_seconds(forward_loss, batches),
        "+ gradients": median_seconds(gradients, batches),
        "whole step (+ SGD update)": median_seconds(setup.train_step, batches),
        "trace of the step": trace,
        "first call after tracing": first_call,
    }


def trial(
    model: str, data: Path, workdir: Path, num_steps: int, evaluation: Evaluation, setups: TrainingSetups, seed: int
) -> dict[str, float]:
    settings = TrainSettings(
        data=data,
        model=model,
        profile="smoke",
        num_steps=num_steps,
        seed=seed,
        checkpoint_root=workdir / "ck",
        **BASE,
    )
    started = time.perf_counter()
    result = train(settings, evaluation, progress=False, setups=setups)
    wall = time.perf_counter() - started
    client = mlflow.MlflowClient()
    first_step, median_step, steps = step_seconds(step_rates(client, result.run_id))
    run = client.get_run(result.run_id)
    evaluations = [m.value for m in client.get_metric_history(result.run_id, "eval/seconds")]
    started = time.perf_counter()
    evaluation(result.detector)  # traced and cached already: the cost of one more evaluation
    one_evaluation = time.perf_counter() - started
    return {
        "wall": wall,
        "median step": median_step,
        "steps": steps,  # their own time, as bench/sweep_trials.py counts it
        "first step": first_step,
        "setup": run.data.metrics["train/setup_seconds"],
        "evaluations": sum(evaluations),
        "one evaluation": one_evaluation,
        "num_steps": num_steps,
        "traced_step": run.data.tags["traced_step"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-images", type=int, default=90)
    parser.add_argument("--num-steps", type=int, default=300)
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--profiles", default="smoke,full", help="profiles of the step breakdown ('' for none)")
    parser.add_argument("--skip-trial", action="store_true")
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    print(f"# TF {tf.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        data = workdir / "data"
        prepare_dataset("synthetic", data, eval_images=args.eval_images, progress=False)
        mlflow.set_tracking_uri(f"sqlite:///{workdir / 'bench.db'}")
        os.environ["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
        evaluation, setups = Evaluation(data), TrainingSetups()
        for model in args.models.split(","):
            for profile in filter(None, args.profiles.split(",")):
                parts = breakdown(model, profile, data)
                print(f"\n{model}, {profile}, batch 10 (seconds)")
                for name, seconds in parts.items():
                    print(f"  {name}: {seconds:.3f}")
            if args.skip_trial:
                continue
            for seed in (0, 1):
                cost = trial(model, data, workdir, args.num_steps, evaluation, setups, seed)
                overhead = cost["wall"] - cost["steps"]
                rest = overhead - cost["setup"] - (cost["first step"] - cost["median step"]) - cost["evaluations"]
                print(
                    f"  {model} trial seed {seed}, traced step {cost['traced_step']} ({cost['num_steps']} smoke steps, "
                    f"6 evaluations of {args.eval_images} images): wall {cost['wall']:.1f} s, "
                    f"steps {cost['steps']:.1f} s (median step {cost['median step']:.3f} s), "
                    f"overhead {overhead:.1f} s ({overhead / cost['wall']:.0%} of the trial): setup "
                    f"{cost['setup']:.1f} s, first step {cost['first step']:.1f} s, evaluations "
                    f"{cost['evaluations']:.1f} s, the rest (checkpoint, tracking, artifacts) {rest:.1f} s; "
                    f"one more evaluation {cost['one evaluation']:.2f} s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
