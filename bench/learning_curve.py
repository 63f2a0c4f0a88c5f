"""Training fidelity: our SSD-MobileNet-v2 trained from scratch on the OD API's learning-curve
fixture with the same settings, beside the curve the OD API reached (curve.json).

    python bench/learning_curve.py [--seeds 3] [--fixture ../shared/fixtures/odapi_learning_curve]
    python bench/learning_curve.py --profile full --steps 1000 --seeds 1
    python bench/learning_curve.py --model ssd_mobilenet_v2_fpnlite_320x320 --seeds 2

The OD API reference (curve.json) is SSD-MobileNet-v2's; FPNLite runs on the same data and
settings have no OD API curve beside them and compare against our own earlier figures.

Smoke settings as in the fixture's smoke.config: 160 px, depth multiplier 0.35, batch 10,
learning_rate_base 0.04, warm-up 0.013333 over steps/10, 600 steps, evaluated every 100 steps.
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

from burgerfries.evaluation.evaluator import Evaluation  # noqa: E402
from burgerfries.jobs.train import TrainSettings, train  # noqa: E402
from burgerfries.machine import describe_machine  # noqa: E402

COSINE = "train_config.optimizer.momentum_optimizer.learning_rate.cosine_decay_learning_rate."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--model", default="ssd_mobilenet_v2_320x320")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument(
        "--profile",
        choices=["smoke", "full"],
        default="smoke",
        help="smoke: 160 px, depth 0.35 (curve.json 'smoke'); full: 300 px, depth 1.0 ('full', 1000 steps)",
    )
    parser.add_argument(
        "--fixture", type=Path, default=Path(__file__).resolve().parents[2] / "shared/fixtures/odapi_learning_curve"
    )
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    reference = json.loads((args.fixture / "curve.json").read_text())[args.profile]
    with tempfile.TemporaryDirectory() as workdir:
        mlflow.set_tracking_uri(f"sqlite:///{workdir}/curve.db")
        os.environ["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
        evaluation = Evaluation(args.fixture)
        curves, walls = [], []
        for seed in range(args.seeds):
            settings = TrainSettings(
                data=args.fixture,
                model=args.model,
                profile=args.profile,
                num_steps=args.steps,
                batch_size=10,
                learning_rate=0.04,
                seed=seed,
                eval_every=100,
                checkpoint_root=Path(workdir),
                overrides={COSINE + "warmup_steps": str(args.steps // 10), COSINE + "warmup_learning_rate": "0.013333"},
            )
            started = time.perf_counter()
            result = train(settings, evaluation, progress=False)
            walls.append(time.perf_counter() - started - sum(m["eval/seconds"] for m in result.eval_metrics.values()))
            curves.append(result.eval_metrics)
            print(
                f"seed {seed}: "
                + ", ".join(f"{s}: {m['eval/mAP_50']:.3f}" for s, m in sorted(result.eval_metrics.items())),
                flush=True,
            )
    print(
        f"\n| step | OD API mAP@0.5 | ours mAP@0.5 (mean of {args.seeds}; min–max) "
        "| OD API eval loss | ours eval loss |"
    )
    print("|---|---|---|---|---|")
    for step in range(100, args.steps + 1, 100):
        ours = [curve[step]["eval/mAP_50"] for curve in curves]
        losses = [curve[step]["eval/loss_total"] for curve in curves]
        theirs = reference["eval_at_step"].get(str(step), {})
        print(
            f"| {step} | {theirs.get('mAP_50', float('nan')):.3f} "
            f"| {statistics.mean(ours):.3f} ({min(ours):.3f}–{max(ours):.3f}) "
            f"| {theirs.get('eval_loss_total', float('nan')):.3f} | {statistics.mean(losses):.3f} |"
        )
    print(
        f"\ntraining wall time (evaluation excluded): ours {statistics.mean(walls):.0f} s per run "
        f"(min {min(walls):.0f}), OD API {reference['train_wall_s']} s"
    )


if __name__ == "__main__":
    main()
