"""Where a training step's time goes, op by op: TensorFlow's profiler over a few steps of the
base configuration (batch 10), summed per op type, and how close each kind of work comes to what
this CPU can do.

    python bench/step_profile.py [--models ...] [--profile smoke] [--input-sizes 160 224 320] [--steps 5]
    TF_ENABLE_ONEDNN_OPTS=0 python bench/step_profile.py   # TensorFlow's Eigen kernels instead of oneDNN's

Steps run on batches already in memory, after three warm-up steps; the profile is the host plane of
the profiler's XSpace (TensorFlow's own op events, `name:type`), read with the protobuf TensorFlow
ships. Op types renamed by the oneDNN graph rewrite show as `_MklNative…`. Also prints the median
step time without the profiler and, per op type, milliseconds per step and calls per step.

Then the same time per kind of work (convolutions, their gradients, depthwise convolutions and
theirs, batch norm, ReLU6, the rest) beside the FLOPs that work does: counted from the shapes of the
traced step's own Conv2D / DepthwiseConv2dNative ops and their gradient ops (2 multiply-adds per
kernel tap and output element). Its achieved GFLOP/s is read against `burgerfries.machine`'s
calibration, printed first: the dense matmul's figure for convolutions (most of ours are
1 × 1: a matrix product), the depthwise figure for depthwise ones. Batch norm and ReLU6 do a few FLOPs per
element and are bounded by memory, not arithmetic: no fraction is given for them.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import burgerfries  # noqa: F401  (before TensorFlow: it sets TF_ENABLE_ONEDNN_OPTS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from burgerfries.data.prepare import prepare_dataset  # noqa: E402
from burgerfries.machine import achieved_gflops, calibration, describe_machine  # noqa: E402
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


# kinds of work, matched on the profiled op type in this order (oneDNN's names carry TF's)
WORK_KINDS = (
    ("depthwise gradients", ("DepthwiseConv2dNativeBackprop",)),
    ("depthwise, forward", ("DepthwiseConv2dNative",)),
    ("convolution gradients", ("Conv2DBackprop",)),
    ("convolutions, forward", ("Conv2D",)),
    ("batch norm, forward + gradient", ("BatchNorm",)),
    ("ReLU6, forward + gradient", ("Relu6",)),
)
CALIBRATION_OF = {
    "depthwise gradients": "depthwise_gflops",
    "depthwise, forward": "depthwise_gflops",
    "convolution gradients": "matmul_gflops",
    "convolutions, forward": "matmul_gflops",
}


def work_kind(op_type: str) -> str:
    for kind, patterns in WORK_KINDS:
        if any(pattern in op_type for pattern in patterns):
            return kind
    return "everything else"


def _dims(shape: tf.TensorShape) -> list[int]:
    if shape.rank is None or None in shape.as_list():
        raise ValueError(f"the step's shapes must be static to count FLOPs; got {shape}")
    return shape.as_list()


def op_flops(op: tf.Operation) -> float:
    """FLOPs of one convolution-like op of the traced step: 2 × (kernel taps per output) × outputs.
    A gradient op does the multiply-adds of its forward op: read from the output gradient's shape."""
    kind = op.type
    if kind in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"):
        kernel = _dims(op.inputs[1].shape) if kind != "Conv2DBackpropFilter" else _dims(op.outputs[0].shape)
        outputs = _dims(op.outputs[0].shape) if kind == "Conv2D" else _dims(op.inputs[2].shape)
        height, width, channels_in, _ = kernel
        return 2.0 * height * width * channels_in * float(np.prod(outputs))
    if kind.startswith("DepthwiseConv2dNative"):
        kernel = _dims(op.outputs[0].shape) if kind.endswith("BackpropFilter") else _dims(op.inputs[1].shape)
        outputs = _dims(op.outputs[0].shape) if kind == "DepthwiseConv2dNative" else _dims(op.inputs[2].shape)
        return 2.0 * kernel[0] * kernel[1] * float(np.prod(outputs))
    return 0.0


def traced_ops(graph: tf.Graph) -> list[tf.Operation]:
    """The ops of the traced step's graph and of the functions it calls."""
    ops, graphs, seen = [], [graph], set()
    while graphs:
        current = graphs.pop()
        ops.extend(current.get_operations())
        for function in getattr(current, "_functions", {}).values():
            if function.name not in seen and hasattr(function, "graph"):
                seen.add(function.name)
                graphs.append(function.graph)
    return ops


def step_flops(ops: list[tf.Operation]) -> collections.Counter:
    """FLOPs per kind of work in the traced step."""
    flops: collections.Counter = collections.Counter()
    for op in ops:
        flops[work_kind(op.type)] += op_flops(op)
    return flops


def convolution_products(ops: list[tf.Operation]) -> list[tuple[int, int, int]]:
    """Each forward convolution as the matrix product it amounts to: (outputs, kernel taps × input
    channels, output channels) — what oneDNN multiplies, less the gathering of the taps."""
    products = []
    for op in ops:
        if op.type == "Conv2D":
            height, width, channels_in, channels_out = _dims(op.inputs[1].shape)
            outputs = int(np.prod(_dims(op.outputs[0].shape)[:3]))
            products.append((outputs, height * width * channels_in, channels_out))
    return products


def matmul_rate(products: list[tuple[int, int, int]]) -> float:
    """GFLOP/s of plain float32 `tf.matmul`s of exactly these shapes, in one traced function: what
    this CPU does on the forward convolutions' own matrix sizes, which are far from the calibration's 1024²."""
    pairs = [(tf.random.normal((m, k)), tf.random.normal((k, n))) for m, k, n in products]
    run = tf.function(lambda: tf.add_n([tf.reduce_sum(tf.matmul(a, b)) for a, b in pairs]))
    return achieved_gflops(run, sum(2.0 * m * k * n for m, k, n in products))


def print_work_kinds(step_ops: dict, steps: int, flops: collections.Counter, machine: dict) -> None:
    seconds: collections.Counter = collections.Counter()
    for op_type, spent in step_ops.items():
        seconds[work_kind(op_type)] += spent / steps
    total = sum(seconds.values())
    print("| kind of work | ms/step | share | GFLOP/step | achieved GFLOP/s | of the calibration |")
    print("|---|---|---|---|---|---|")
    for kind in [kind for kind, _ in WORK_KINDS] + ["everything else"]:
        spent, work = seconds[kind], flops[kind] / 1e9
        rate = work / spent if spent and work else None
        reference = machine.get(CALIBRATION_OF.get(kind, ""))
        print(
            f"| {kind} | {spent * 1000:.1f} | {spent / total:.0%} | {work:.2f} | "
            f"{f'{rate:.1f}' if rate else '—'} | {f'{rate / reference:.0%}' if rate and reference else '—'} |"
        )


def profile_model(
    model: str, profile: str, input_size: int | None, data: Path, steps: int, workdir: Path, machine: dict
) -> None:
    knobs = {**BASE, "input_size": input_size}
    # the length does not matter to a step; the profile may give it in passes over the 63 scenes
    setup = assemble(build_config(model, profile, 2, knobs, num_train_images=63), data / "train.record")
    pipeline = iter(setup.batches())
    batches = [next(pipeline) for _ in range(8)]
    ops = traced_ops(setup.train_step.get_concrete_function(*batches[0]).graph)
    flops, products = step_flops(ops), convolution_products(ops)
    for batch in batches[:WARM_UP_STEPS]:
        setup.train_step(*batch)
    times = []
    for index in range(TIMED_STEPS):
        started = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), setup.train_step(*batches[index % len(batches)]))
        times.append(time.perf_counter() - started)
    logdir = workdir / f"profile_{model}_{profile}_{input_size}"
    tf.profiler.experimental.start(str(logdir))
    for index in range(steps):
        tf.nest.map_structure(lambda t: t.numpy(), setup.train_step(*batches[index % len(batches)]))
    tf.profiler.experimental.stop()
    seconds, calls = op_seconds(logdir)
    # the traced function's own event spans its ops; "Run"/"Process" are the executor's
    step_ops = {k: v for k, v in seconds.items() if not k.startswith("__inference") and k not in ("Run", "Process")}
    total = sum(step_ops.values())
    size = setup.config["model"]["ssd"]["image_resizer"]["fixed_shape_resizer"]["width"]
    print(
        f"\n{model}, {profile}, {size} px, batch {BASE['batch_size']}: median step {statistics.median(times):.3f} s "
        f"(no profiler, {TIMED_STEPS} steps); ops {total / steps * 1000:.1f} ms/step under the profiler"
    )
    print("| op type | ms/step | share | calls/step |")
    print("|---|---|---|---|")
    for op_type, spent in sorted(step_ops.items(), key=lambda item: -item[1])[:14]:
        print(f"| {op_type} | {spent / steps * 1000:.1f} | {spent / total:.0%} | {calls[op_type] // steps} |")
    print()
    print_work_kinds(step_ops, steps, flops, machine)
    forward = sum(spent for op_type, spent in step_ops.items() if work_kind(op_type) == "convolutions, forward") / steps
    shaped = matmul_rate(products)
    print(
        f"its {len(products)} forward convolutions as plain matmuls of their own shapes: {shaped:.1f} GFLOP/s "
        f"({shaped / machine['matmul_gflops']:.0%} of the calibration); the convolutions achieve "
        f"{flops['convolutions, forward'] / 1e9 / forward / shaped:.0%} of that"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--profile", default="smoke")
    parser.add_argument(
        "--input-sizes", type=int, nargs="+", default=[None], help="input sizes in px (default: the profile's)"
    )
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    print(describe_machine(calibrate=False))
    machine = calibration()
    matmul, depthwise = machine["matmul_gflops"], machine["depthwise_gflops"]
    print(f"calibration (all threads): matmul {matmul:.1f} GFLOP/s, depthwise 3×3 {depthwise:.1f} GFLOP/s")
    print(
        f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS')}, "
        f"intra-op threads {tf.config.threading.get_intra_op_parallelism_threads() or 'default'}"
    )
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        prepare_dataset("synthetic", workdir / "data", num_images=63, seed=0, eval_images=0, progress=False)
        for model in args.models.split(","):
            for input_size in args.input_sizes:
                profile_model(model, args.profile, input_size, workdir / "data", args.steps, workdir, machine)


if __name__ == "__main__":
    main()
