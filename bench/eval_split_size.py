"""How many eval images resolve a 0.05 difference in mAP@0.5: the resampling noise of one
detector's mAP@0.5 for eval splits of different sizes.

    python bench/eval_split_size.py [--pool 200] [--sizes 13,30,60,90,120] [--resamples 200]

Trains the smoke SSD at the base configuration (300 steps, 63 synthetic training scenes),
predicts `--pool` held-out scenes once, then for each size n draws n of them with replacement
`--resamples` times and computes mAP@0.5 with pycocotools. The 95 % half-width 1.96 · sd is the
difference a split of n images cannot tell from noise.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402

from burgerfries.data.prepare import prepare_dataset  # noqa: E402
from burgerfries.evaluation.coco import coco_metrics  # noqa: E402
from burgerfries.evaluation.evaluator import Evaluation  # noqa: E402
from burgerfries.jobs.train import TrainSettings, train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=200)
    parser.add_argument("--sizes", default="13,30,60,90,120")
    parser.add_argument("--resamples", type=int, default=200)
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        data = workdir / "data"
        prepare_dataset("synthetic", data, eval_images=args.pool, progress=False)
        mlflow.set_tracking_uri(f"sqlite:///{workdir / 'bench.db'}")
        os.environ["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
        settings = TrainSettings(
            data=data, profile="smoke", eval_every=0, checkpoint_root=workdir / "ck", batch_size=10
        )
        detector = train(settings, progress=False).detector
        evaluation = Evaluation(data)
        started = time.perf_counter()
        _, detections = evaluation.predict(detector)
        whole = coco_metrics(evaluation.truths, detections, evaluation.class_names)["eval/mAP_50"]
        print(f"mAP@0.5 on all {len(detections)} held-out scenes: {whole:.3f} ({time.perf_counter() - started:.1f} s)")
        generator = np.random.default_rng(0)
        print("| eval images | sd of mAP@0.5 | 1.96 · sd |\n|---|---|---|")
        for size in (int(s) for s in args.sizes.split(",")):
            values = []
            for _ in range(args.resamples):
                picked = generator.integers(0, len(detections), size)
                truths = [evaluation.truths[i] for i in picked]
                found = [detections[i] for i in picked]
                values.append(coco_metrics(truths, found, evaluation.class_names).get("eval/mAP_50", np.nan))
            sd = float(np.nanstd(values, ddof=1))
            print(f"| {size} | {sd:.4f} | {1.96 * sd:.4f} |", flush=True)


if __name__ == "__main__":
    main()
