"""What each lever does to mAP@0.5 on a real set: arms of `burgerfries train` flags, several seeds
each, every run the real command in its own process on one prepared folder.

An arm is `NAME=FLAGS` (FLAGS: more `burgerfries train` flags; `default=` is the defaults). Prints,
per arm, mAP@0.5 on the folder's test photos (`test/mAP_50`, the weights the run kept: its
validation peak, `--keep peak`) and on its validation photos at the last evaluation
(`eval/mAP_50`), their means and seed-to-seed σ (n − 1
degrees of freedom) with the χ² 95 % interval, the seconds per run, and each arm against the first
one: the difference of means with a Welch 95 % interval and one-sided p; then, per arm, what
keeping the peak did on the test photos (kept − last weights, seed for seed: `test_last_weights/*`
where a run kept an earlier peak, else 0). Rows go to --out as JSON.

    python bench/levers.py --data ../shared/datasets/cards --seeds 0 1 2 \
        --arm default= --arm "epochs 71.4=--epochs 71.4" [--workers 2] [--out F.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy import stats

from burgerfries.machine import describe_machine

VALIDATION_KEY, TEST_KEY, LAST_WEIGHTS_TEST_KEY = "eval/mAP_50", "test/mAP_50", "test_last_weights/mAP_50"


def train_one(data: Path, arm: str, flags: list[str], seed: int, work: Path, threads: int) -> dict:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["TF_NUM_INTRAOP_THREADS"] = str(threads)
    env["TF_NUM_INTEROP_THREADS"] = "1"
    command = [sys.executable, "-m", "burgerfries", "train", "--data", str(data), "--seed", str(seed), *flags]
    started = time.perf_counter()
    trained = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, check=False)
    if trained.returncode:
        raise RuntimeError(f"{arm}, seed {seed}: {trained.stderr[-2000:]}")
    run_id = trained.stdout.strip().splitlines()[-1]
    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    logged = mlflow.MlflowClient().get_run(run_id).data
    metrics = logged.metrics
    return {
        "arm": arm,
        "seed": seed,
        "run_id": run_id,
        "seconds": round(time.perf_counter() - started, 1),
        "validation": metrics.get(VALIDATION_KEY, float("nan")),
        "test": metrics.get(TEST_KEY, float("nan")),
        # the last weights on the test photos: logged apart only where the run kept an earlier peak
        "test_last_weights": metrics.get(LAST_WEIGHTS_TEST_KEY, metrics.get(TEST_KEY, float("nan"))),
        "kept": logged.tags.get("kept_weights", ""),
    }


def summary_row(name: str, values: list[float]) -> str:
    values = np.asarray(values, dtype=float)
    n = len(values)
    sigma = values.std(ddof=1) if n > 1 else float("nan")
    low = sigma * np.sqrt((n - 1) / stats.chi2.ppf(0.975, n - 1)) if n > 1 else float("nan")
    high = sigma * np.sqrt((n - 1) / stats.chi2.ppf(0.025, n - 1)) if n > 1 else float("nan")
    return f"{values.mean():.4f} | {sigma:.4f} ({low:.4f} … {high:.4f}), {n - 1} dof"


def against(first: list[float], other: list[float]) -> str:
    """other − first: difference of means, Welch 95 % interval (Welch–Satterthwaite dof), one-sided p."""
    a, b = np.asarray(first, dtype=float), np.asarray(other, dtype=float)
    test = stats.ttest_ind(b, a, equal_var=False, alternative="greater")
    interval = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    return f"{b.mean() - a.mean():+.4f} ({interval.low:+.4f} … {interval.high:+.4f}), p {test.pvalue:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/cards"))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--arm", action="append", required=True, help="NAME=FLAGS (repeat; the first is compared to)")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time, the cores shared equally")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(describe_machine(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="levers-"))
    subprocess.run(  # prepare the folder once, before the workers race to
        [sys.executable, "-m", "burgerfries", "data-prep", str(args.data.resolve()), "--out", str(work / "prepared")],
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"},
        cwd=work,
        check=True,
        capture_output=True,
    )
    arms = dict(arm.split("=", 1) for arm in args.arm)
    jobs = [(name, shlex.split(flags), seed) for seed in args.seeds for name, flags in arms.items()]
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    rows = []

    def run(job: tuple[str, list[str], int]) -> dict:
        row = train_one(work / "prepared", *job, work, threads)
        print(json.dumps(row), flush=True)
        rows.append(row)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=1))
        return row

    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(run, jobs))
    first = next(iter(arms))
    print("| arm | test mAP@0.5: mean | σ (95 %) | validation mAP@0.5: mean | σ (95 %) | s/run | test vs first |")
    print("|---|---|---|---|---|---|---|")
    for name in arms:
        mine = [r for r in rows if r["arm"] == name]
        test = [r["test"] for r in mine]
        base = [r["test"] for r in rows if r["arm"] == first]
        compared = "—" if name == first else against(base, test)
        seconds = np.mean([r["seconds"] for r in mine])
        print(
            f"| {name} | {summary_row(name, test)} | {summary_row(name, [r['validation'] for r in mine])} "
            f"| {seconds:.0f} | {compared} |"
        )
    print("| arm | runs that kept an earlier peak | test mAP@0.5, kept − last weights, per seed |")
    print("|---|---|---|")
    for name in arms:
        mine = [r for r in rows if r["arm"] == name]
        earlier = sum(r["kept"].startswith("kept the weights of step") for r in mine)
        differences = ", ".join(f"{r['test'] - r['test_last_weights']:+.3f}" for r in mine)
        print(f"| {name} | {earlier} of {len(mine)} | {differences} |")


if __name__ == "__main__":
    main()
