"""The README's "Your own photos" command on a real LabelImg folder, against a run four times as
long and against today's 300-step run: `burgerfries train --data FOLDER [--model M] --seed S`
(the laptop default: smoke profile, 47.6 passes, the shipped weights with each model's measured
restore), the same with `--epochs 190.4`, and the same with `--num-steps 300`. Each is the real
command in its own process, timed from start to exit; mAP@0.5 on the folder's eval split at each
run's last evaluation, and its best over the six evaluations.

    python bench/own_photos.py [--data ../shared/datasets/macncheese] [--models ...] [--seeds 0 1] [--out F.json]
        [--train-args "--weights DIR --restore detection_and_box_predictor"]

`--train-args` are added to every command (e.g. other starting weights, to compare them).
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

import mlflow

from burgerfries.machine import describe_machine
from burgerfries.model import MODEL_NAMES

VARIANTS = {"default": [], "4x long": ["--epochs", str(47.6 * 4)], "300 steps": ["--num-steps", "300"]}


def run_command(data: Path, model: str, seed: int, extra: list[str], env: dict[str, str], cwd: Path) -> dict:
    command = [sys.executable, "-m", "burgerfries", "train", "--data", str(data), "--model", model, "--seed", str(seed)]
    started = time.perf_counter()
    completed = subprocess.run([*command, *extra], capture_output=True, text=True, env=env, cwd=cwd, check=True)
    seconds = time.perf_counter() - started
    run_id = completed.stdout.strip().splitlines()[-1]
    client = mlflow.MlflowClient()
    history = sorted(client.get_metric_history(run_id, "eval/mAP_50"), key=lambda m: m.step)
    params = client.get_run(run_id).data.params
    return {
        "run_id": run_id,
        "seconds": round(seconds, 1),
        "num_steps": int(params["num_steps"]),
        "mAP_50_last": history[-1].value,
        "mAP_50_best": max(m.value for m in history),
        "curve": [(m.step, round(m.value, 4)) for m in history],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/macncheese"))
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--train-args", default="", help="more flags for every `burgerfries train` command")
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    work = Path(tempfile.mkdtemp(prefix="own-photos-"))
    uri = f"sqlite:///{work / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    data = args.data.resolve()
    results = []
    for model in args.models:
        for variant in args.variants:
            for seed in args.seeds:
                measured = run_command(data, model, seed, [*VARIANTS[variant], *args.train_args.split()], env, work)
                results.append({"model": model, "variant": variant, "seed": seed, **measured})
                print(json.dumps(results[-1]), flush=True)
    print("| model | command | seed | steps | wall s | mAP@0.5 last | best of 6 evaluations |")
    print("|---|---|---|---|---|---|---|")
    for row in results:
        print(
            f"| {row['model']} | {row['variant']} | {row['seed']} | {row['num_steps']} | {row['seconds']:.0f} "
            f"| {row['mAP_50_last']:.3f} | {row['mAP_50_best']:.3f} |"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
