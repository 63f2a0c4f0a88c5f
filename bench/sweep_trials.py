"""Where a finished sweep's time went, trial by trial, read back from its MLflow runs: each
trial's wall time, its training steps' own time and the rest (building or resetting, tracing,
evaluations, checkpoints, tracking), and how long each worker held trials.

    python bench/sweep_trials.py [--tracking-uri sqlite:///mlflow.db] [--experiment original_study]

A step's own time is 1 / `train/steps_per_sec` as the training loop logs it; the first step counts
as a median step (the rest of it is tracing). The study's workers overlap, so the wall time of
the whole sweep is less than the sum of its trials.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

import mlflow
from mlflow.entities import Metric


def step_rates(client: mlflow.MlflowClient, run_id: str) -> list[Metric]:
    """A run's logged `train/steps_per_sec`, one per step."""
    return client.get_metric_history(run_id, "train/steps_per_sec")


def step_seconds(rates: list[Metric]) -> tuple[float, float, float]:
    """From a run's `step_rates` (two steps or more): (first step, median later step, the steps'
    own time), each step as the training loop measured it, the first counted as a median one (the
    rest of it is tracing, overhead)."""
    history = sorted(rates, key=lambda m: m.step)
    later = [1.0 / m.value for m in history[1:]]
    median = statistics.median(later)
    return 1.0 / history[0].value, median, sum(later) + median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--experiment", default="original_study")
    args = parser.parse_args()
    client = mlflow.MlflowClient(args.tracking_uri)
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        raise SystemExit(f"{args.tracking_uri}: no experiment {args.experiment!r}")
    runs = client.search_runs(
        [experiment.experiment_id], "tags.sweep_role = 'trial' and attributes.status = 'FINISHED'", max_results=5000
    )
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    busy: dict[str, float] = defaultdict(float)
    starts, ends = [], []
    print(
        "| trial | worker | traced step | wall s | steps s | overhead s (%) | setup | first step | evaluations | rest |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in sorted(runs, key=lambda r: r.info.start_time):
        rates = step_rates(client, run.info.run_id)
        if len(rates) < 2:
            continue
        first_step, median_step, steps = step_seconds(rates)
        wall = (run.info.end_time - run.info.start_time) / 1000
        kind = run.data.tags.get("traced_step", "?")
        total = totals[f"{run.data.tags.get('model', '?')}, {kind}"]
        total[0] += wall
        total[1] += steps
        total[2] += 1
        busy[run.data.tags.get("worker", "?")] += wall
        starts.append(run.info.start_time)
        ends.append(run.info.end_time)
        setup = run.data.metrics.get("train/setup_seconds", 0.0)
        first = first_step - median_step  # tracing, or the input pipeline filling
        evaluations = sum(m.value for m in client.get_metric_history(run.info.run_id, "eval/seconds"))
        rest = wall - steps - setup - first - evaluations
        print(
            f"| {run.data.tags.get('mlflow.runName', run.info.run_id)} | {run.data.tags.get('worker', '?')} | "
            f"{kind} | {wall:.1f} | {steps:.1f} | {wall - steps:.1f} ({(wall - steps) / wall:.0%}) | {setup:.1f} | "
            f"{first:.1f} | {evaluations:.1f} | {rest:.1f} |"
        )
    print("\n| model, traced step | trials | wall s | steps s | overhead |")
    print("|---|---|---|---|---|")
    for key, (wall, steps, count) in sorted(totals.items()):
        print(f"| {key} | {count} | {wall:.0f} | {steps:.0f} | {(wall - steps) / wall:.0%} |")
    wall = sum(t[0] for t in totals.values())
    steps = sum(t[1] for t in totals.values())
    print(f"| all | {sum(t[2] for t in totals.values())} | {wall:.0f} | {steps:.0f} | {(wall - steps) / wall:.0%} |")
    if starts:
        span = (max(ends) - min(starts)) / 1000
        print(f"\nfirst trial start to last trial end: {span:.0f} s")
        for worker, seconds in sorted(busy.items()):
            print(f"worker {worker}: in trials {seconds:.0f} s ({seconds / span:.0%} of that span)")


if __name__ == "__main__":
    main()
