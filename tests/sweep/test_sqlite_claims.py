"""Two processes asking one sqlite Optuna storage for queued trials at the same time: each trial
goes to exactly one of them (what lets `burgerfries sweep --workers 2` share a phase on one machine)."""

import json
import subprocess
import sys
import textwrap

import optuna

from burgerfries.sweep.storage import QUEUED, open_storage, queue_trials

TRIALS = 120

CLAIMER = textwrap.dedent(
    """
    import json, os, random, sys, time
    from pathlib import Path
    import optuna
    from optuna.trial import TrialState
    from burgerfries.sweep.storage import open_storage, quiet_optuna
    quiet_optuna()
    study = optuna.load_study(study_name="claims", storage=open_storage(sys.argv[1]))
    barrier = Path(sys.argv[2])
    (barrier / f"ready-{os.getpid()}").touch()
    while len(list(barrier.glob("ready-*"))) < 2:  # start asking together
        time.sleep(0.01)
    claimed = []
    while study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        trial = study.ask()
        if trial.user_attrs.get("queued"):
            claimed.append(trial.suggest_int("x", 0, 10**6))
        study.tell(trial, 0.0)
        # A worker trains between asks. Asking again at once can take the lock back before the
        # other process's busy handler (which backs off up to 100 ms) retries, so that one process
        # claims every trial (CI saw it).
        time.sleep(random.uniform(0.0, 0.05))
    print(json.dumps(claimed))
    """
)


def test_two_processes_claim_each_queued_trial_once_from_one_sqlite_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="claims", storage=open_storage(url))
    entries = [{"x": index} for index in range(TRIALS)]
    queue_trials(study, entries, entries)
    assert all(t.user_attrs[QUEUED] for t in study.get_trials())
    workers = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, url, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    claimed = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    everything = claimed[0] + claimed[1]
    assert sorted(everything) == list(range(TRIALS)), "a queued trial was claimed twice or not at all"
    # (whether both processes got trials is the scheduler's business: on a slow machine one may
    # claim them all; that no trial is claimed twice or lost is what the storage promises)
