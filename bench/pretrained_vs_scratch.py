"""Does the shipped pretrained start help? Per model, the base configuration (batch 10, lr 0.04,
1:1) trained for the smoke profile's 300 steps on the default synthetic set (63 training scenes,
90 held-out), from scratch (`none`) and from `pretrained` restored as each named mode says, with
several seeds; mAP@0.5 and the unweighted eval loss at every evaluation, and each pretrained
start's gain at the last step over scratch against the seed-to-seed spread.

    python bench/pretrained_vs_scratch.py [--seeds 3] [--models ...] [--starts none detection ...] [--out F.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mlflow  # noqa: E402

from burgerfries.data.prepare import prepare_dataset  # noqa: E402
from burgerfries.evaluation.evaluator import Evaluation  # noqa: E402
from burgerfries.jobs.train import TrainSettings, train  # noqa: E402
from burgerfries.model import MODEL_NAMES, RESTORE_MODES  # noqa: E402

BASE = {"batch_size": 10, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}
SCRATCH = "none"


def spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES))
    parser.add_argument(
        "--starts",
        nargs="+",
        choices=[SCRATCH, *RESTORE_MODES],
        default=[SCRATCH, RESTORE_MODES[0]],
        help="none: from scratch; a restore mode: from pretrained, restored that way",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write every curve as JSON")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pretrained-vs-scratch-"))
    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    data = work / "data"
    prepare_dataset("synthetic", data, progress=False)  # the main job's set: 63 + 90 scenes, seed 0
    evaluation = Evaluation(data)
    curves: dict[str, dict[str, list[dict[int, dict[str, float]]]]] = {}
    for model in args.models:
        curves[model] = {start: [] for start in args.starts}
        for seed in range(args.seeds):
            for start in args.starts:
                started = time.monotonic()
                result = train(
                    TrainSettings(
                        data=data,
                        model=model,
                        profile="smoke",
                        seed=seed,
                        weights=Path(SCRATCH if start == SCRATCH else "pretrained"),
                        restore=RESTORE_MODES[0] if start == SCRATCH else start,
                        checkpoint_root=work / "checkpoints",
                        experiment="pretrained_vs_scratch",
                        **BASE,
                    ),
                    evaluation,
                    progress=False,
                )
                curves[model][start].append(result.eval_metrics)
                final = result.eval_metrics[result.step]
                print(
                    f"{model} seed {seed} {start}: mAP@0.5 {final['eval/mAP_50']:.3f}, "
                    f"eval loss {final['eval/loss_total_unweighted']:.3f} ({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
    print("\n| model | start | step | mAP@0.5 per seed | mean | eval loss (unweighted) mean |")
    print("|---|---|---|---|---|---|")
    for model, by_start in curves.items():
        for start, runs in by_start.items():
            for step in sorted(runs[0]):
                maps = [run[step]["eval/mAP_50"] for run in runs]
                losses = [run[step]["eval/loss_total_unweighted"] for run in runs]
                print(
                    f"| {model} | {start} | {step} | {', '.join(f'{m:.3f}' for m in maps)} | "
                    f"{statistics.mean(maps):.3f} | {statistics.mean(losses):.3f} |"
                )
    if SCRATCH not in args.starts:
        return
    print("\n| model | start | mAP@0.5 at the last step, mean ± sd | scratch | gain | gain > spread |")
    print("|---|---|---|---|---|---|")
    for model, by_start in curves.items():
        last = max(by_start[SCRATCH][0])
        scratch = [run[last]["eval/mAP_50"] for run in by_start[SCRATCH]]
        for start in args.starts:
            if start == SCRATCH:
                continue
            pretrained = [run[last]["eval/mAP_50"] for run in by_start[start]]
            gain = statistics.mean(pretrained) - statistics.mean(scratch)
            larger = gain > max(spread(scratch), spread(pretrained))
            print(
                f"| {model} | {start} | {statistics.mean(pretrained):.3f} ± {spread(pretrained):.3f} | "
                f"{statistics.mean(scratch):.3f} ± {spread(scratch):.3f} | {gain:+.3f} | {larger} |"
            )
    if args.out:
        args.out.write_text(json.dumps(curves, indent=1))


if __name__ == "__main__":
    main()
