"""Seconds per training step for both models, batch 5/10/15, full and smoke profiles, and the
cost of tracking every step in MLflow.

    python bench/train_step.py [--steps 10] [--profiles full,smoke] [--batches 5,10,15]

Steps are timed after two warm-up steps (tracing), on batches from the real input pipeline of a
synthetic data_prep folder; the figure is the median step time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import burgerfries  # noqa: F401  (before TensorFlow: it sets TF_ENABLE_ONEDNN_OPTS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mlflow  # noqa: E402
import tensorflow as tf  # noqa: E402

from burgerfries.data.prepare import prepare_dataset  # noqa: E402
from burgerfries.jobs.train import TrainSettings, train  # noqa: E402
from burgerfries.machine import describe_machine  # noqa: E402
from burgerfries.model import MODEL_NAMES  # noqa: E402
from burgerfries.model.config import build_config  # noqa: E402
from burgerfries.training.assemble import assemble  # noqa: E402
from burgerfries.training.loop import run_steps  # noqa: E402


def time_steps(data: Path, model: str, profile: str, batch_size: int, steps: int) -> float:
    # (a length in steps: the smoke profile's is in epochs, which need the training split's size)
    config = build_config(model, profile, num_classes=2, knobs={"batch_size": batch_size, "num_steps": steps + 2})
    results = run_steps(assemble(config, data / "train.record"), 0, steps + 2)
    durations = [result.seconds for result in results][2:]  # the first two trace the step
    return statistics.median(durations)


def tracking_overhead(data: Path, workdir: Path) -> tuple[float, float, float]:
    """(fraction of training time spent in MLflow, mean seconds per metric batch, seconds per log_metric)."""
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'bench.db'}")
    os.environ["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
    result = train(TrainSettings(data=data, profile="smoke", num_steps=100, checkpoint_root=workdir), progress=False)
    metrics = mlflow.MlflowClient().get_run(result.run_id).data.metrics
    with mlflow.start_run():
        started = time.perf_counter()
        for index in range(50):
            mlflow.log_metric("probe", float(index), step=index)
        per_call = (time.perf_counter() - started) / 50
    return metrics["train/tracking_overhead_fraction"], metrics["train/tracking_seconds"], per_call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--profiles", default="full,smoke")
    parser.add_argument("--batches", default="5,10,15")
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--skip-tracking", action="store_true")
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    devices = [d.device_type for d in tf.config.list_physical_devices()]
    print(
        f"# {platform.node()} {os.cpu_count()} CPUs, devices {devices}, TF {tf.__version__}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    with tempfile.TemporaryDirectory() as workdir:
        data = Path(workdir) / "data"
        prepare_dataset("synthetic", data, num_images=63, eval_images=0, progress=False)
        print("| model | profile | batch | s/step | images/s |")
        print("|---|---|---|---|---|")
        for model in args.models.split(","):
            for profile in args.profiles.split(","):
                for batch in (int(b) for b in args.batches.split(",")):
                    seconds = time_steps(data, model, profile, batch, args.steps)
                    print(f"| {model} | {profile} | {batch} | {seconds:.3f} | {batch / seconds:.1f} |", flush=True)
        if not args.skip_tracking:
            fraction, seconds, per_call = tracking_overhead(data, Path(workdir))
            print(
                f"tracking: {fraction * 100:.2f} % of 100 smoke training steps ({seconds:.3f} s in log_batch); "
                f"one log_metric call: {per_call * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()
