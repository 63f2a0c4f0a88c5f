"""Does a moving average of the weights make a run quieter? Paired, seed for seed: each seed trains
once with the average on (`burgerfries train --data FOLDER --seed S --set
train_config.optimizer.use_moving_average=true --set ...moving_average_decay=D`, the real command in
its own process); the average does not change the training path, so the same run's *training*
weights are exactly what the same command without the average would end with. Both are evaluated
on the folder's eval split at the run's last two evaluations (the checkpoints a run keeps): the
averaged detector by the run itself, the training weights here, from the checkpoint's
`weight_average/raw`.

Prints, per arm, mAP@0.5 per seed at the last evaluation and the mean of the last two, and the
seed-to-seed σ of each (n − 1 degrees of freedom) with its 95 % interval (χ²), and the ratio of σ's
with an F-interval; writes the rows as JSON with --out.

    python bench/weight_average.py --data ../shared/datasets/cards --seeds 0 1 2 3 4 5 6 7 [--decay 0.995]
        [--workers 2] [--out F.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy import stats

from burgerfries.machine import describe_machine


def train_one(data: Path, seed: int, decay: float, extra: list[str], work: Path, threads: int) -> dict:
    """One seed: train with the average, then evaluate its training weights (a second process)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["TF_NUM_INTRAOP_THREADS"] = str(threads)
    env["TF_NUM_INTEROP_THREADS"] = "1"
    flags = ["--set", "train_config.optimizer.use_moving_average=true"]
    flags += ["--set", f"train_config.optimizer.moving_average_decay={decay}"]
    command = [sys.executable, "-m", "burgerfries", "train", "--data", str(data), "--seed", str(seed), *flags, *extra]
    started = time.perf_counter()
    trained = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, check=False)
    if trained.returncode:
        raise RuntimeError(f"seed {seed}: {trained.stderr[-2000:]}")
    seconds = time.perf_counter() - started
    run_id = trained.stdout.strip().splitlines()[-1]
    evaluated = subprocess.run(
        [sys.executable, __file__, "--evaluate-raw", run_id, "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        check=True,
    )
    return {
        "seed": seed,
        "run_id": run_id,
        "seconds": round(seconds, 1),
        **json.loads(evaluated.stdout.splitlines()[-1]),
    }


def evaluate_raw(run_id: str, data: Path) -> dict:
    """The run's averaged mAP@0.5 (as it logged it) and its training weights' at the steps of its
    kept checkpoints."""
    import mlflow
    import tensorflow as tf

    from burgerfries.evaluation.evaluator import Evaluation
    from burgerfries.jobs.data_prep import resolve_data
    from burgerfries.jobs.trained_run import load_trained_run
    from burgerfries.training.checkpoints import checkpoint_step, make_checkpoint
    from burgerfries.training.weight_average import WeightAverage

    client = mlflow.MlflowClient()
    averaged = {m.step: m.value for m in client.get_metric_history(run_id, "eval/mAP_50")}
    folder = Path(client.get_run(run_id).data.tags["checkpoint_dir"])
    evaluation = Evaluation(resolve_data(data))
    raw = {}
    for prefix in tf.train.get_checkpoint_state(str(folder)).all_model_checkpoint_paths:
        step = checkpoint_step(prefix)
        trained = load_trained_run(run_id, step)
        model = trained.detector.model
        average = WeightAverage(model.trainable_variables, 0.0)
        make_checkpoint(model, None, tf.Variable(0, dtype=tf.int64), average).restore(
            trained.checkpoint
        ).expect_partial()
        average.swap_out()  # the checkpoint holds the averages in the model and the training weights in raw
        raw[step] = float(evaluation(trained.detector)["eval/mAP_50"])
    steps = sorted(raw)
    return {
        "steps": steps,
        "averaged": [averaged[s] for s in steps],
        "raw": [raw[s] for s in steps],
        "averaged_curve": [(s, round(v, 4)) for s, v in sorted(averaged.items())],
    }


def sigma_row(name: str, values: list[float]) -> str:
    values = np.asarray(values, dtype=float)
    n = len(values)
    sigma = values.std(ddof=1)
    low = sigma * np.sqrt((n - 1) / stats.chi2.ppf(0.975, n - 1))
    high = sigma * np.sqrt((n - 1) / stats.chi2.ppf(0.025, n - 1))
    return f"| {name} | {values.mean():.4f} | {sigma:.4f} ({low:.4f} … {high:.4f}), {n - 1} dof |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/cards"))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(8)))
    parser.add_argument("--decay", type=float, default=0.995)
    parser.add_argument("--workers", type=int, default=2, help="runs at a time, the cores shared equally")
    parser.add_argument("--train-args", default="", help="more flags for every `burgerfries train` command")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--evaluate-raw", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluate_raw:
        print(json.dumps(evaluate_raw(args.evaluate_raw, args.data.resolve())))
        return
    print(describe_machine(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="weight-average-"))
    data = args.data.resolve()
    subprocess.run(  # prepare the folder once, before the workers race to
        [sys.executable, "-m", "burgerfries", "data-prep", str(data), "--out", str(work / "prepared")],
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"},
        cwd=work,
        check=True,
        capture_output=True,
    )
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    extra = args.train_args.split()
    with ThreadPoolExecutor(args.workers) as pool:
        rows = list(
            pool.map(lambda seed: train_one(work / "prepared", seed, args.decay, extra, work, threads), args.seeds)
        )
    for row in rows:
        print(json.dumps(row), flush=True)
    print("| arm | mean mAP@0.5 | σ (95 % interval) |\n|---|---|---|")
    arms = {
        "training weights, last evaluation (= the average off)": [r["raw"][-1] for r in rows],
        "training weights, mean of the last two": [float(np.mean(r["raw"][-2:])) for r in rows],
        f"averaged (decay {args.decay}), last evaluation": [r["averaged"][-1] for r in rows],
        f"averaged (decay {args.decay}), mean of the last two": [float(np.mean(r["averaged"][-2:])) for r in rows],
    }
    for name, values in arms.items():
        print(sigma_row(name, values))
    raw, averaged = np.asarray(arms[list(arms)[0]]), np.asarray(arms[list(arms)[2]])
    n = len(raw)
    ratio = averaged.std(ddof=1) / raw.std(ddof=1)
    f_low, f_high = stats.f.ppf(0.025, n - 1, n - 1), stats.f.ppf(0.975, n - 1, n - 1)
    print(
        f"σ averaged / σ training weights: {ratio:.2f} (95 % interval {ratio / np.sqrt(f_high):.2f} … "
        f"{ratio / np.sqrt(f_low):.2f}, F on {n - 1}, {n - 1} dof, treating the arms as independent); "
        f"paired mean difference {np.mean(averaged - raw):+.4f} "
        f"(t {stats.ttest_rel(averaged, raw).statistic:.2f}, p {stats.ttest_rel(averaged, raw).pvalue:.3f})"
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
