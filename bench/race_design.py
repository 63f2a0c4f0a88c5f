"""How often a reference race and its test at the incumbent find a real learning-rate effect, for
each number of race points confirmed (`RACE_CONFIRM`), from Gaussian noise of given σ's.

    python bench/race_design.py [--trials 300] [--race-sigma 0.025] [--sigma 0.011 0.0053]

The race: the reference with `--seeds` runs, three other points one run each (one truly better by
`--effect`, the same shift it keeps at the incumbent), the best points ahead brought to the
reference's runs, the confirmed leader carried; then its test at the incumbent, screening,
confirmation and looks as the sweep runs them. Every decision goes through the real
`decision.phase.decide_phase` (`bench/decision_power.simulate_race`), with the default settings.
Prints, per σ pair and RACE_CONFIRM: how often the effect is found (a switch to the better rate at
the incumbent), how often a switch happens with no effect anywhere, and the race's mean runs.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
from decision_power import INCUMBENT, simulate_race  # bench/decision_power.py, beside this file

import burgerfries.decision.phase as phase
from burgerfries.decision.settings import DecisionSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3, help="the reference's (the incumbent's) runs")
    parser.add_argument("--effect", type=float, default=0.03)
    parser.add_argument("--race-sigma", type=float, nargs="+", default=[0.025, 0.015])
    parser.add_argument("--sigma", type=float, nargs="+", default=[0.011, 0.0053], help="σ at the incumbent")
    args = parser.parse_args()
    settings = replace(DecisionSettings(), look_seeds=args.seeds)
    rng = np.random.default_rng(0)
    print(f"{args.trials} simulated lr phases per figure; effect +{args.effect} on one of 3 points")
    print("| race σ | incumbent σ | RACE_CONFIRM | effect found | false switch | race runs |")
    print("|---|---|---|---|---|---|")
    for race_sigma in args.race_sigma:
        for sigma in args.sigma:
            race_noise, noise = rng.normal(0, race_sigma, 20000), rng.normal(0, sigma, 20000)
            for confirm in (1, 2, 3):
                phase.RACE_CONFIRM = confirm
                shifted = {INCUMBENT: 0.0, "a": 0.0, "b": args.effect, "c": 0.0}
                found = sum(
                    simulate_race(
                        shifted, {INCUMBENT: 0.0, "b": args.effect}, args.seeds, race_noise, noise, settings, rng
                    )
                    == "b"
                    for _ in range(args.trials)
                )
                flat = dict.fromkeys(shifted, 0.0)
                false = sum(
                    simulate_race(flat, {INCUMBENT: 0.0}, args.seeds, race_noise, noise, settings, rng) != INCUMBENT
                    for _ in range(args.trials)
                )
                runs = args.seeds + 3 + confirm * (args.seeds - 1)  # at most
                print(
                    f"| {race_sigma} | {sigma} | {confirm} | {found / args.trials:.2f} | {false / args.trials:.3f} "
                    f"| ≤ {runs} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
