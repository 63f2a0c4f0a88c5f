"""A study's runs as the sweep would store them, built from a plan of phases and per-seed mAPs: the
decision and report tests read the same small study."""

import numpy as np
import pandas as pd

from burgerfries.runs.run_set import RunSet

MODEL = "ssd_mobilenet_v2_320x320"
STEPS = [50, 100, 150, 200, 250, 300]


def study(plan: list[tuple[str, dict, list[float], int, bool]], test_shift: dict | None = None) -> RunSet:
    """plan: (phase, knobs, final mAP per seed, grid point, is_base); `test_shift` {knobs as a
    sorted tuple: shift, default 0}: each run also logs its test photos' mAP@0.5, its final mAP plus the shift
    (and COCO's mAP of small and large objects there, a quarter and a half of that)."""
    runs, metrics, trained = [], [], {}
    for phase, knobs, maps, point, is_base in plan:
        for seed, final_map in enumerate(maps):
            config = {"batch_size": 10, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}
            config.update(knobs)
            key = (tuple(sorted(config.items())), seed)
            reused_from = trained[key][1] if key in trained else ""  # as a sweep reuses a run: same id, two phases
            run_id = trained[key][0] if key in trained else f"r{len(runs):03d}"
            trained.setdefault(key, (run_id, phase))
            runs.append(
                {
                    "run_id": run_id,
                    "name": run_id,
                    "status": "FINISHED",
                    "phase": phase,
                    "model": MODEL,
                    **{key: str(value) for key, value in config.items()},
                    "num_steps": "300",
                    "seed": str(seed),
                    "is_base": is_base,
                    "varied": ",".join(f"{v:g}" for v in knobs.values()) or "base",
                    "point": point,
                    "start_time": len(runs),
                    "reused_from": reused_from,
                }
            )
            if reused_from:
                continue
            for i, step in enumerate(STEPS):
                metrics.append((run_id, "eval/loss_total_unweighted", step, 0.9 + 1.5 * np.exp(-i)))
                metrics.append((run_id, "eval/mAP_50", step, final_map * (1 - np.exp(-i - 1))))
            if test_shift is not None:
                shift = test_shift.get(tuple(sorted(knobs.items())), 0.0)
                metrics.append((run_id, "test/mAP_50", STEPS[-1], final_map + shift + 0.01 * seed))
                # COCO's mAP by object size: small and large objects only (no medium one on the test photos)
                metrics.append((run_id, "test/mAP_small", STEPS[-1], (final_map + shift) / 4))
                metrics.append((run_id, "test/mAP_large", STEPS[-1], (final_map + shift) / 2))
    return RunSet(
        "s", pd.DataFrame(runs).set_index("run_id"), pd.DataFrame(metrics, columns=["run_id", "key", "step", "value"])
    )


PLAN = [
    ("weights", {}, [0.60, 0.62, 0.58], -1, True),
    ("weights", {"classification_weight": 0.5}, [0.80, 0.82, 0.79], 1, False),  # clearly better, confirmed
    ("weights", {"localization_weight": 0.5}, [0.55], 0, False),
    ("batch", {"classification_weight": 0.5}, [0.80, 0.82, 0.79], -1, False),  # the new incumbent, reused
    ("batch", {"classification_weight": 0.5, "batch_size": 5}, [0.70], 0, False),
]
