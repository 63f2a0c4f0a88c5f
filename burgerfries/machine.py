"""The machine a timing ran on, measured: the date, cores and CPU flags, and a calibration figure —
the GFLOP/s TensorFlow achieves here on a dense matmul and on a depthwise convolution at our smoke
shapes, with this process's threads — so that a timing (a benchmark's, `sweep --dry-run`'s
estimate) can be read against what this CPU can do, not against another machine's number.

    python -m burgerfries.machine [--threads N]
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

MATMUL = 1024  # a square float32 matmul: 2 n³ FLOPs
DEPTHWISE = (10, 80, 80, 96)  # batch 10, a 160 px input at stride 2, MobileNetV2's 6 × 16 channels; 3 × 3
SECONDS = 1.5  # each figure's timing loop


def cpu_flags() -> str:
    """The vector extensions that decide our kernels' speed: AVX-512 (and its bf16), AMX, else AVX2."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    found = sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|amx[a-z_0-9]*)\b", text)))
    if found:
        return " ".join(found)
    return "AVX2 only" if re.search(r"\bavx2\b", text) else "no AVX2"


def achieved_gflops(run: Callable[[], object], flops: float) -> float:
    """GFLOP/s of `run()` doing `flops`, timed over SECONDS after one call that traces and allocates."""
    run()  # the first call traces and allocates
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        run()
        calls += 1
    return flops * calls / (time.perf_counter() - started) / 1e9


def calibration() -> dict[str, float]:
    """Achieved GFLOP/s of a dense matmul and of a depthwise 3 × 3 convolution, float32, with this
    process's TensorFlow threads (TF_NUM_INTRAOP_THREADS when set)."""
    import tensorflow as tf

    a = tf.random.normal((MATMUL, MATMUL))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
    images = tf.random.normal(DEPTHWISE)
    kernel = tf.random.normal((3, 3, DEPTHWISE[3], 1))
    depthwise = tf.function(lambda: tf.reduce_sum(tf.nn.depthwise_conv2d(images, kernel, (1, 1, 1, 1), "SAME")))
    n, (b, h, w, c) = MATMUL, DEPTHWISE
    return {
        "matmul_gflops": achieved_gflops(matmul, 2 * n**3),
        "depthwise_gflops": achieved_gflops(depthwise, 2 * 9 * b * h * w * c),
    }


def describe_machine(calibrate: bool = True) -> str:
    """One line for a benchmark's output: date, cores, CPU model and flags, and the calibration."""
    model = ""
    if Path("/proc/cpuinfo").is_file():
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        model = match.group(1).strip() if match else ""
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS", "all")
    line = f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs ({model}), {cpu_flags()}"
    if calibrate:
        figures = calibration()
        line += (
            f"; calibration ({threads} thread(s)): matmul {figures['matmul_gflops']:.1f} GFLOP/s, "
            f"depthwise 3×3 {figures['depthwise_gflops']:.1f} GFLOP/s"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow intra-op threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
    print(describe_machine())


if __name__ == "__main__":
    main()
