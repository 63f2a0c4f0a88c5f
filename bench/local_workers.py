"""Training steps per second of one machine: one process with all its cores against N processes at
once, each with cores ÷ N TensorFlow intra-op threads — what `burgerfries sweep --workers N` does.

    python bench/local_workers.py [--processes 1,2] [--steps 60] [--models ...] [--profile smoke]

Each process builds the base configuration (batch 10) on a synthetic data_prep folder, runs
warm-up steps (tracing), waits at a barrier file until every process of its round is ready, then
times `--steps` steps from the real input pipeline. The figure is the sum over processes of
steps ÷ seconds; the rounds run one after another, so repeat a count (1,2,1) to see the noise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from burgerfries.data.prepare import prepare_dataset
from burgerfries.jobs.sweep.workers import threads_per_worker, usable_cores
from burgerfries.machine import describe_machine

WARM_UP_STEPS = 8

ONE_PROCESS = """
import json, sys, time
from pathlib import Path
import burgerfries
from burgerfries.model.config import build_config
from burgerfries.training.assemble import assemble
from burgerfries.training.loop import run_steps
data, model, profile, steps, barrier = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
knobs = {"batch_size": 10, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}
results = run_steps(assemble(build_config(model, profile, 2, knobs), data / "train.record"), 0, WARM_UP + steps)
for _ in range(WARM_UP):
    next(results)
(barrier / f"ready-{sys.argv[6]}").touch()
while not (barrier / "go").exists():
    time.sleep(0.01)
started = time.perf_counter()
for _ in range(steps):
    next(results)
print(json.dumps({"steps_per_second": steps / (time.perf_counter() - started)}))
"""


def round_of(processes: int, model: str, args: argparse.Namespace, data: Path, folder: Path) -> float:
    barrier = Path(tempfile.mkdtemp(dir=folder))
    threads = str(threads_per_worker(processes))  # as `burgerfries sweep --workers` splits the cores
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_NUM_INTRAOP_THREADS": threads}
    code = ONE_PROCESS.replace("WARM_UP", str(WARM_UP_STEPS))
    command = [sys.executable, "-c", code, str(data), model, args.profile, str(args.steps), str(barrier)]
    running = [
        subprocess.Popen([*command, str(index)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for index in range(processes)
    ]
    while len(list(barrier.glob("ready-*"))) < processes:
        if any(p.poll() not in (None, 0) for p in running):
            raise RuntimeError("a timing process failed")
        time.sleep(0.05)
    (barrier / "go").touch()
    outputs = [p.communicate()[0] for p in running]
    return sum(json.loads(out.strip().splitlines()[-1])["steps_per_second"] for out in outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--models", default="ssd_mobilenet_v2_320x320,ssd_mobilenet_v2_fpnlite_320x320")
    parser.add_argument("--profile", default="smoke")
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    print(f"# {usable_cores()} usable cores, profile {args.profile}, batch 10")
    print("| model | processes × threads | steps/s, all processes | vs one process |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        prepare_dataset("synthetic", data, num_images=63, seed=0, eval_images=0, progress=False)
        for model in args.models.split(","):
            single = None
            for processes in [int(n) for n in args.processes.split(",")]:
                rate = round_of(processes, model, args, data, Path(folder))
                single = rate if processes == 1 and single is None else single
                versus = f"{rate / single:.2f}×" if single else "—"
                split = f"{processes} × {threads_per_worker(processes)}"
                print(f"| {model} | {split} | {rate:.2f} | {versus} |", flush=True)


if __name__ == "__main__":
    main()
