"""Wall time of one small sweep run by 1 worker and by N workers at once, on services you started
as the README's "Scale out" section says (PostgreSQL for Optuna, an MLflow tracking server).

    python bench/sweep_workers.py --storage postgresql://USER@127.0.0.1/optuna \\
        --tracking-uri http://127.0.0.1:5000 [--workers 1,2,1] [--num-steps 30] [--profile tiny]

Each entry of --workers runs a fresh copy of the study (a new name, so nothing is resumed), the
workers started together as separate processes; it prints the wall time, the trial runs by
status and how many trials each worker trained. Repeat a count (1,2,1) to see the noise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import mlflow
import yaml

from burgerfries.machine import describe_machine

BASE = {"batch_size": 2, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}
PHASES = [
    {
        "name": "weights",
        "grid": [
            {"classification_weight": 1.0, "localization_weight": 1.0},
            {"classification_weight": 0.5, "localization_weight": 1.0},
        ],
    },
    {"name": "lr", "grid": {"learning_rate": [0.03, 0.02]}},  # not 0.04: the carried-in point would be reused
]


def run_study(name: str, workers: int, args: argparse.Namespace, data: Path, folder: Path) -> None:
    study = folder / f"{name}.yaml"
    study.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "models": ["ssd_mobilenet_v2_320x320"],
                "base": BASE,
                "num_steps": args.num_steps,
                "phases": PHASES,
                "noise_seeds": 1,  # one run per configuration: the count of trials stays 4
            }
        )
    )
    command = [sys.executable, "-m", "burgerfries", "sweep", "--study", str(study), "--data", str(data)]
    command += ["--profile", args.profile, "--storage", args.storage]
    env = {**os.environ, "MLFLOW_TRACKING_URI": args.tracking_uri}
    env.pop("MLFLOW_RUN_ID", None)
    start = time.perf_counter()
    processes = [
        subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    codes = [process.wait() for process in processes]
    seconds = time.perf_counter() - start
    runs = mlflow.search_runs(experiment_names=[name], output_format="list")
    trials = [run for run in runs if run.data.tags.get("sweep_role") == "trial"]
    statuses = Counter(run.info.status for run in trials)
    per_worker = sorted(Counter(run.data.tags.get("worker", "?") for run in trials).values(), reverse=True)
    print(
        f"{workers} worker(s): {seconds:.1f} s wall, exit codes {codes}, trial runs {dict(statuses)}, "
        f"trials per worker {per_worker}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True, help="Optuna storage URL shared by the workers")
    parser.add_argument("--tracking-uri", required=True, help="MLflow tracking server URL")
    parser.add_argument("--workers", default="1,2,1", help="worker counts to time, in order")
    parser.add_argument("--num-steps", type=int, default=30)
    parser.add_argument("--profile", default="tiny")
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    mlflow.set_tracking_uri(args.tracking_uri)
    folder = Path(tempfile.mkdtemp(prefix="sweep_workers_"))
    from burgerfries.data.prepare import prepare_dataset

    data = folder / "data"
    prepare_dataset("synthetic", data, num_images=12, seed=2, eval_images=0, progress=False)
    stamp = time.strftime("%Y%m%d%H%M%S")
    for index, workers in enumerate(int(n) for n in args.workers.split(",")):
        run_study(f"bench_workers_{stamp}_{index}_{workers}", workers, args, data, folder)


if __name__ == "__main__":
    main()
