"""How often the sweep's phase decision finds a real effect, switches on none, and repeats itself,
simulated from a finished sweep's own runs.

    python bench/decision_power.py --run-id PARENT [--tracking-uri sqlite:///mlflow.db] [--trials 500]

For each model and phase, the noise is the model's residuals (each finished run minus its
configuration's mean, pooled over the whole sweep, scaled by √(n/(n−1)) so their spread is σ's).
A simulated phase is drawn as the sweep runs one: the incumbent with as many seeds as it had, the
phase's other configurations one seed each (screening), the `confirm` best-looking challengers
brought to the incumbent's seed count, then the looks at a close call (more seeds for the leader
and the incumbent) while `decision.phase.decide_phase`, with the sweep's own settings, asks for
them. Prints per model and phase:
- power at Δ +0.02 and +0.03: one challenger truly better by Δ, the others equal to the
  incumbent; the share of simulated phases that switch to it;
- false switches at Δ 0: every configuration equal; the share that switch at all;
- same pick twice: with each configuration's observed mean as its truth, the share of pairs of
  simulated phases that carry on the same configuration.
A reference race (the lr phase: learning rates at batch 5 against the incumbent's own rate there)
is simulated with its test at the incumbent, as one row: the race from its own runs' residuals,
its leader then tested at the incumbent with the model's other residuals; a real effect is the
same shift in both, and the figures count switches at the incumbent.
The prior (earlier sweeps' runs) is left out: the figures are what one sweep's own runs give.
"""

from __future__ import annotations

import argparse

import mlflow
import numpy as np
import pandas as pd

from burgerfries.decision.chain import finished_runs
from burgerfries.decision.phase import chosen, decide_phase
from burgerfries.decision.settings import DecisionSettings
from burgerfries.decision.tables import decision_tables
from burgerfries.keys import CONFIG_KEY
from burgerfries.sweep.definition import CARRIED_SUFFIX
from burgerfries.tracking.reader import analysis_of, read_sweep

INCUMBENT = "incumbent"


def residuals(summaries: pd.DataFrame, column: str) -> np.ndarray:
    """Each finished run's value minus its configuration's mean, scaled to σ's spread."""
    parts = []
    unique = summaries[~summaries.index.duplicated(keep="first")]
    for _, members in unique.groupby(CONFIG_KEY):
        values = members[column].astype(float).dropna().to_numpy()
        if len(values) >= 2:
            parts.append((values - values.mean()) * np.sqrt(len(values) / (len(values) - 1)))
    return np.concatenate(parts) if parts else np.zeros(1)


def simulate(
    truths: dict[str, float],
    seeds: int,
    noise: np.ndarray,
    settings: DecisionSettings,
    rng: np.random.Generator,
    race: bool = False,
) -> str:
    """One phase drawn from `truths` ({configuration: true mean}, the incumbent first): the
    configuration it carries on (`race`: a reference race, the incumbent its reference)."""
    column = settings.metric.column
    rows = []

    def draw(key: str, count: int, start: int) -> None:
        for seed in range(start, start + count):
            value = truths[key] + rng.choice(noise)
            rows.append({CONFIG_KEY: key, "order": list(truths).index(key), "seed": seed, column: value})

    draw(INCUMBENT, seeds, 0)
    for key in list(truths)[1:]:
        draw(key, 1, 0)
    runs = pd.DataFrame(rows)
    runs.index = [f"{row[CONFIG_KEY]}#{row['seed']}" for _, row in runs.iterrows()]
    decision = decide_phase(runs, INCUMBENT, runs, settings, race=race)
    for key in decision.to_confirm:
        draw(key, seeds - 1, 1)
    while True:  # then the looks at a close call, as the sweep takes them
        runs = pd.DataFrame(rows)
        runs.index = [f"{row[CONFIG_KEY]}#{row['seed']}" for _, row in runs.iterrows()]
        decision = decide_phase(runs, INCUMBENT, runs, settings, race=race)
        if not decision.extend:
            return chosen(decision, settings)
        for key in decision.extend:
            have = int((runs[CONFIG_KEY] == key).sum())
            draw(key, decision.extend_to - have, have)


def simulate_race(
    race_truths: dict[str, float],
    carried_truths: dict[str, float],
    seeds: int,
    race_noise: np.ndarray,
    noise: np.ndarray,
    settings: DecisionSettings,
    rng: np.random.Generator,
) -> str:
    """A reference race (its points against the reference, `race_truths`, the reference first)
    and then its leader's test at the incumbent (`carried_truths`: each point's true mean there,
    the incumbent's under INCUMBENT; a point not listed is the incumbent's equal): the point the
    two switch to, or INCUMBENT."""
    leader = simulate(race_truths, seeds, race_noise, settings, rng, race=True)
    if leader == INCUMBENT:
        return INCUMBENT
    at_incumbent = carried_truths[INCUMBENT]
    truths = {INCUMBENT: at_incumbent, leader: carried_truths.get(leader, at_incumbent)}
    return simulate(truths, seeds, noise, settings, rng)


def race_row(tables, finished: pd.DataFrame, phase: str, model: str, trials: int, rng: np.random.Generator) -> str:
    """The figures of a reference race with its test at the incumbent (a real effect: the same
    shift at batch 5 and at the incumbent). The race draws from its own runs' residuals (they
    train with the race's fixed values, e.g. batch 5), the test from the model's other runs'."""
    settings = tables.settings
    column = settings.metric.column
    decision = tables.decisions[(phase, model)]
    own = finished[finished["model"] == model]
    here = own[own["phase"] == phase]
    race_noise = residuals(here, column)
    if len(race_noise) < 3:  # too few replicated runs in the race: the model's
        race_noise = residuals(own, column)
    noise = residuals(own[own["phase"] != phase], column)
    seeds = int((here[CONFIG_KEY] == decision.incumbent).sum())
    means = here.groupby(CONFIG_KEY)[column].mean()
    others = [key for key in means.index if key != decision.incumbent]
    flat_race = {INCUMBENT: 0.0, **dict.fromkeys(others, 0.0)}
    figures = []
    for effect in (0.02, 0.03):
        shifted = {**flat_race, others[0]: effect}
        hits = sum(
            simulate_race(shifted, {INCUMBENT: 0.0, others[0]: effect}, seeds, race_noise, noise, settings, rng)
            == others[0]
            for _ in range(trials)
        )
        figures.append(hits / trials)
    false = (
        sum(
            simulate_race(flat_race, {INCUMBENT: 0.0}, seeds, race_noise, noise, settings, rng) != INCUMBENT
            for _ in range(trials)
        )
        / trials
    )
    observed = {INCUMBENT: float(means[decision.incumbent]), **{key: float(means[key]) for key in others}}
    carried = tables.decisions.get((phase + CARRIED_SUFFIX, model))
    at_incumbent = {INCUMBENT: 0.0}
    if carried is not None:  # the carried point's observed lead at the incumbent
        tested = own[own["phase"] == phase + CARRIED_SUFFIX].groupby(CONFIG_KEY)[column].mean()
        lead = {key: float(tested[key] - tested[carried.incumbent]) for key in tested.index if key != carried.incumbent}
        at_incumbent.update({decision.winner: next(iter(lead.values()))} if lead else {})
    same = sum(
        simulate_race(observed, at_incumbent, seeds, race_noise, noise, settings, rng)
        == simulate_race(observed, at_incumbent, seeds, race_noise, noise, settings, rng)
        for _ in range(trials // 2)
    ) / (trials // 2)
    sigmas = f"{float(np.sqrt(np.mean(race_noise**2))):.4f} / {float(np.sqrt(np.mean(noise**2))):.4f}"
    return (
        f"| {model} | {phase} (race, then the test at the incumbent) | {len(observed)} | {seeds} | {sigmas} "
        f"| {figures[0]:.2f} | {figures[1]:.2f} | {false:.3f} | {same:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-id", required=True, help="the sweep's parent run")
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--trials", type=int, default=500)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    study = read_sweep(args.run_id)
    study.prior_runs = None  # what this sweep's own runs give
    analysis, settings = analysis_of(args.run_id)
    tables = decision_tables(study, settings, analysis)
    finished = finished_runs(tables.summaries)
    column = settings.metric.column
    rng = np.random.default_rng(0)
    print(f"metric {settings.metric.label}, α {settings.alpha}, {args.trials} simulated phases per figure")
    print("| model | phase | configs | incumbent seeds | σ | power Δ+0.02 | power Δ+0.03 | false switch | same pick |")
    print("|---|---|---|---|---|---|---|---|---|")
    races = {phase for (phase, _), decision in tables.decisions.items() if decision.race}
    for (phase, model), decision in tables.decisions.items():
        if decision.race:
            print(race_row(tables, finished, phase, model, args.trials, rng), flush=True)
            continue
        if phase.removesuffix(CARRIED_SUFFIX) in races:
            continue  # a race's test at the incumbent: simulated with its race
        own = finished[finished["model"] == model]
        noise = residuals(own, column)
        here = own[own["phase"] == phase]
        seeds = int((here[CONFIG_KEY] == decision.incumbent).sum())
        means = here.groupby(CONFIG_KEY)[column].mean()
        others = [key for key in means.index if key != decision.incumbent]
        observed = {INCUMBENT: float(means[decision.incumbent]), **{key: float(means[key]) for key in others}}
        flat = dict.fromkeys(observed, 0.0)
        figures = []
        for effect in (0.02, 0.03):
            shifted = {**flat, others[0]: effect} if others else flat
            hits = sum(simulate(shifted, seeds, noise, settings, rng) == others[0] for _ in range(args.trials))
            figures.append(hits / args.trials)
        false = sum(simulate(flat, seeds, noise, settings, rng) != INCUMBENT for _ in range(args.trials)) / args.trials
        same = sum(
            simulate(observed, seeds, noise, settings, rng) == simulate(observed, seeds, noise, settings, rng)
            for _ in range(args.trials // 2)
        ) / (args.trials // 2)
        sigma = float(np.sqrt(np.mean(noise**2)))
        print(
            f"| {model} | {phase} | {len(observed)} | {seeds} | {sigma:.4f} | {figures[0]:.2f} | {figures[1]:.2f} "
            f"| {false:.3f} | {same:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
