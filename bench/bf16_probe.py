"""Would bfloat16 make our training step faster on this CPU? The detector's forward and backward
pass (the step's compute: convolutions, batch norm, the heads), float32 against Keras'
`mixed_bfloat16` policy (bf16 compute, float32 variables), same model, batch and images.

    python bench/bf16_probe.py [--models ...] [--batch 10] [--steps 20] [--rounds 3]

Rounds alternate float32 and bfloat16 (A-B-A-B…) so drift of the machine hits both; the figure is
each policy's median seconds per pass over all rounds, and their ratio. The machine line printed
first (`describe_machine`) names the CPU flags that oneDNN's bf16 kernels need (avx512_bf16, amx_bf16).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import burgerfries  # noqa: F401  (before TensorFlow: it sets TF_ENABLE_ONEDNN_OPTS)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from burgerfries.machine import describe_machine  # noqa: E402
from burgerfries.model import MODEL_NAMES  # noqa: E402
from burgerfries.model.config import build_config  # noqa: E402
from burgerfries.model.ssd import build_detector  # noqa: E402


def pass_seconds(model_name: str, policy: str, batch: int, steps: int) -> list[float]:
    keras.mixed_precision.set_global_policy(policy)
    try:
        detector = build_detector(build_config(model_name, "smoke", num_classes=6, knobs={"num_steps": 1}))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    size = detector.image_size
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (batch, *size, 3)).astype(np.float32))
    variables = detector.model.trainable_variables

    @tf.function
    def forward_backward(images: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            box_encodings, class_logits = detector.model(images, training=True)
            loss = tf.reduce_mean(tf.cast(box_encodings, tf.float32) ** 2) + tf.reduce_mean(
                tf.cast(class_logits, tf.float32) ** 2
            )
        gradients = tape.gradient(loss, variables)
        return loss + tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) * 0 for g in gradients if g is not None])

    forward_backward(images)  # trace
    durations = []
    for _ in range(steps):
        started = time.perf_counter()
        forward_backward(images).numpy()
        durations.append(time.perf_counter() - started)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES))
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    print(f"# TF {tf.__version__}")
    print("| model | float32 s/pass | mixed_bfloat16 s/pass | bf16 speed-up |")
    print("|---|---|---|---|")
    for model_name in args.models:
        seconds: dict[str, list[float]] = {"float32": [], "mixed_bfloat16": []}
        for _ in range(args.rounds):
            for policy in seconds:
                seconds[policy] += pass_seconds(model_name, policy, args.batch, args.steps)
        fp32, bf16 = (statistics.median(seconds[policy]) for policy in seconds)
        print(f"| {model_name} | {fp32:.4f} | {bf16:.4f} | {fp32 / bf16:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
