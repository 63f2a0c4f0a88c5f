"""Data-prep throughput on the real macncheese set (154 photos): images/s, ingestion and writing.

python bench/data_prep.py [--source ../shared/datasets/macncheese] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from burgerfries.data.prepare import prepare_dataset
from burgerfries.machine import describe_machine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/macncheese"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    timings = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            prepared = prepare_dataset(args.source, Path(out), progress=False)
            timings.append(time.perf_counter() - started)
    images = sum(prepared.summary["num_images"].values())
    best, median = min(timings), sorted(timings)[len(timings) // 2]
    print(
        f"{platform.node()} {platform.processor() or platform.machine()}: {images} images, "
        f"best {best:.2f} s ({images / best:.0f} img/s), median {median:.2f} s ({images / median:.0f} img/s)"
    )


if __name__ == "__main__":
    main()
