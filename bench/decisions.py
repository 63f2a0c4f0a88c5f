"""What a finished sweep decided and on what evidence, read back from its MLflow runs through
the report's tables: trials trained, each phase's decision per model (kept or switched, with p),
how many runs were read before their last evaluation, and the base against the final pick.

    python bench/decisions.py [--tracking-uri sqlite:///mlflow.db] [--run-id SWEEP_PARENT_RUN_ID]

Without --run-id: the newest sweep parent run in the store.
"""

from __future__ import annotations

import argparse

import mlflow
import pandas as pd

from burgerfries.jobs.sweep.job import sweep_tables
from burgerfries.keys import SweepRole, Tag


def newest_parent(client: mlflow.MlflowClient) -> str:
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(
        experiments,
        f"tags.{Tag.SWEEP_ROLE} = '{SweepRole.STUDY}'",
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    if not runs:
        raise SystemExit("no sweep parent run in this store")
    return runs[0].info.run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--run-id", default=None)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    parent = args.run_id or newest_parent(mlflow.MlflowClient())
    study, tables = sweep_tables(parent)
    summaries = tables.summaries
    own = summaries[summaries["reused_from"] == ""]  # each trial once
    finished = own[own["status"] == "FINISHED"]
    before_last = finished["read_step"].astype(float) < finished["num_steps"].astype(float)  # the last evaluation
    print(f"sweep {parent}: {len(own)} trials, {len(finished)} finished")
    print(
        f"read point before the last evaluation: {int(before_last.sum())} of {len(finished)} runs "
        f"({before_last.mean():.0%}); statuses {finished['flatten_status'].value_counts().to_dict()}"
    )
    print("\n| phase | model | outcome | carried on | challengers | α | best challenger Δ (95 % interval), p |")
    print("|---|---|---|---|---|---|---|")
    for (phase, model), decision in tables.decisions.items():
        table = tables.ranked[(phase, model)]
        carried = table.loc[table["config_key"] == decision.winner, "varied"]
        best = max(decision.comparisons.values(), key=lambda c: c.delta if c.delta == c.delta else -1e9, default=None)
        evidence = (
            "—" if best is None else f"{best.delta:+.3f} ({best.low:+.3f} … {best.high:+.3f}), p {best.p_better:.2g}"
        )
        print(
            f"| {phase} | {model} | {decision.outcome} | {carried.iloc[0] if len(carried) else '—'} | "
            f"{len(decision.comparisons)} | {decision.alpha:.3g} | {evidence} |"
        )
    print()
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(tables.base_final.to_string(index=False))


if __name__ == "__main__":
    main()
