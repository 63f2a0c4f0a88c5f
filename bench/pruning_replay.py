"""Would stopping clearly-worse challengers early have changed a finished sweep's decisions, and
what would it have saved? The pruner's rule (`burgerfries/sweep/pruning.py`) replayed on every
finished screening trial of the sweep's Optuna studies, at each of its evaluations from two thirds
of its steps on, against the incumbent's finished trials and (after the first phase) the curves of
its runs that an earlier phase trained; the trials it would have stopped are then left out and the
decisions computed again.

    python bench/pruning_replay.py --run-id PARENT [--tracking-uri sqlite:///mlflow.db] [--storage sqlite:///optuna.db]

The replay sees every incumbent run of the phase, where the sweep saw those finished by then (with
two workers, the incumbent's seeds are queued first and usually finish first).
"""

from __future__ import annotations

import argparse

import mlflow
import optuna
from optuna.trial import TrialState, create_trial

from burgerfries.decision.phase import chosen
from burgerfries.decision.tables import decision_tables
from burgerfries.keys import CONFIG_KEY
from burgerfries.sweep.pruning import ClearlyWorse, curves
from burgerfries.sweep.storage import ENTRY, STEPS
from burgerfries.sweep.trials import INCUMBENT
from burgerfries.tracking.reader import analysis_of, read_sweep


def stopped_at(pruner: ClearlyWorse, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> int | None:
    """The first evaluation step at which the rule would have stopped `trial`, or None. A trial
    stored before the sweep recorded its steps (STEPS) gets its last evaluation's step: a run's
    last evaluation is at its last step."""
    attrs = {STEPS: max(trial.intermediate_values, default=0), **trial.user_attrs}
    for step in sorted(trial.intermediate_values):
        partial = create_trial(
            state=TrialState.PRUNED,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=attrs,
            intermediate_values={s: v for s, v in trial.intermediate_values.items() if s <= step},
        )
        if pruner.prune(study, partial):
            return step
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-id", required=True, help="the sweep's parent run")
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--storage", default="sqlite:///optuna.db")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    sweep = read_sweep(args.run_id)
    analysis, settings = analysis_of(args.run_id)
    before = decision_tables(sweep, settings, analysis)
    summaries = before.summaries
    stopped: dict[str, tuple[int, int]] = {}  # run id → (step stopped at, steps it had)
    for summary in optuna.get_all_study_summaries(args.storage):
        study = optuna.load_study(study_name=summary.study_name, storage=args.storage)
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        runs = [t.user_attrs.get("mlflow_run_id") for t in trials]
        known = [run for run in runs if run in summaries.index]
        if not known:
            continue
        first = summaries.loc[known].iloc[0]
        decision = before.decisions.get((first["phase"], first["model"]))
        if decision is None:
            continue
        here = summaries[(summaries["phase"] == first["phase"]) & (summaries["model"] == first["model"])]
        home = {int(float(p)) for p in here.loc[here[CONFIG_KEY] == decision.incumbent, "point"] if str(p) != ""}
        # the incumbent's steps (its trials' last evaluation; a later phase's: its reused runs' curves)
        incumbent = [t for t in trials if t.user_attrs.get(ENTRY, {}).get("point") in home | {INCUMBENT}]
        # the incumbent's runs an earlier phase trained (reused here): their curves, as the sweep reads them
        reused = here[(here[CONFIG_KEY] == decision.incumbent) & (here["reused_from"] != "")].index
        earlier = curves(sweep.metrics[sweep.metrics["run_id"].isin(reused)], settings.metric.eval_key)
        ends = [max(t.intermediate_values, default=0) for t in incumbent] + [max(c, default=0) for c in earlier]
        steps = int(max(ends, default=0))
        pruner = ClearlyWorse(home | {INCUMBENT}, args.repeats, steps, settings.metric.higher_is_better, earlier)
        for trial in trials:
            step = stopped_at(pruner, study, trial)
            if step is not None and trial.user_attrs.get(ENTRY) is not None:
                stopped[trial.user_attrs["mlflow_run_id"]] = (step, max(trial.intermediate_values))
    kept_runs = sweep.runs[~sweep.runs.index.isin(list(stopped))]
    sweep.runs = kept_runs
    after = decision_tables(sweep, settings, analysis)
    saved = sum(total - step for step, total in stopped.values())
    runs_read = len(set(summaries.index))
    print(f"{len(stopped)} of {runs_read} runs would have stopped early, saving {saved} of their steps")
    for key, decision in before.decisions.items():
        new = after.decisions.get(key)
        same = new is not None and chosen(new, settings) == chosen(decision, settings)
        print(f"{key[0]} · {key[1]}: {'same decision' if same else 'DIFFERENT decision'}")


if __name__ == "__main__":
    main()
