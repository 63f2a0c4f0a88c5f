"""Where a training step's time goes, op by op: TensorFlow's profiler over a few steps of the
base configuration (batch 10), summed per op type.

    python bench/step_profile.py [--models ...] [--profile smoke] [--steps 5]
    TF_ENABLE_ONEDNN_OPTS=0 python bench/step_profile.py   # TensorFlow's Eigen kernels instead of oneDNN's

Steps run on batches already in memory, after three warm-up steps; the profile is the host plane of
the profiler's XSpace (TensorFlow's own op events, `name:type`), read with the protobuf TensorFlow
ships. Op types renamed by the oneDNN graph rewrite show as `_MklNative…`. Also prints the median
step time without the profiler and, per op type, milliseconds per step and calls per step.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import tempfile
import time
from pathlib import Path

import burgerfries  # noqa: F401  (before TensorFlow: it sets TF_ENABLE_ONEDNN_OPTS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from burgerfries.data.prepare import prepare_dataset  # noqa: E402
from burgerfries.model import MODEL_NAMES  # noqa: E402
from burgerfries.model.config import build_config  # noqa: E402
from burgerfries.training.assemble import assemble  # noqa: E402

BASE = {"batch_size": 10, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}
WARM_UP_STEPS = 3
TIMED_STEPS = 20


def op_seconds(logdir: Path) -> tuple[collections.Counter, collections.Counter]:
    """Seconds and calls per op type on the host plane of the newest profile under `logdir`."""
    path = sorted(logdir.glob("**/*.xplane.pb"))[-1]
    space = xplane_pb2.XSpace()
    space.ParseFromString(path.read_bytes())
    seconds: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" in name:  # a TensorFlow op: "op name:op type"
                    op_type = name.rsplit(":", 1)[1].strip()
                    seconds[op_type] += event.duration_ps / 1e12
                    calls[op_type] += 1
    return seconds, calls


def profile_model(model: str, profile: str, data: Path, steps: int, workdir: Path) -> None:
    setup = assemble(build_config(model, profile, 2, BASE), data / "train.record")
    pipeline = iter(setup.batches())
    batches = [next(pipeline) for _ in range(8)]
    for batch in batches[:WARM_UP_STEPS]:
        setup.train_step(*batch)
    times = []
    for index in range(TIMED_STEPS):
        started = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), setup.train_step(*batches[index % len(batches)]))
        times.append(time.perf_counter() - started)
    logdir = workdir / f"profile_{model}_{profile}"
    tf.profiler.experimental.start(str(logdir))
    for index in range(steps):
        tf.nest.map_structure(lambda t: t.numpy(), setup.train_step(*batches[index % len(batches)]))
    tf.profiler.experimental.stop()
    seconds, calls = op_seconds(logdir)
    # the traced function's own event spans its ops; "Run"/"Process" are the executor's
    step_ops = {k: v for k, v in seconds.items() if not k.startswith("__inference") and k not in ("Run", "Process")}
    total = sum(step_ops.values())
    print(
        f"\n{model}, {profile}, batch {BASE['batch_size']}: median step {statistics.median(times):.3f} s "
        f"(no profiler, {TIMED_STEPS} steps); ops {total / steps * 1000:.1f} ms/step under the profiler"
    )
    print("| op type | ms/step | share | calls/step |")
    print("|---|---|---|---|")
    for op_type, spent in sorted(step_ops.items(), key=lambda item: -item[1])[:14]:
        print(f"| {op_type} | {spent / steps * 1000:.1f} | {spent / total:.0%} | {calls[op_type] // steps} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    print(
        f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS')}, "
        f"intra-op threads {tf.config.threading.get_intra_op_parallelism_threads() or 'default'}"
    )
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        prepare_dataset("synthetic", workdir / "data", num_images=63, seed=0, eval_images=0, progress=False)
        for model in args.models.split(","):
            profile_model(model, args.profile, workdir / "data", args.steps, workdir)


if __name__ == "__main__":
    main()
