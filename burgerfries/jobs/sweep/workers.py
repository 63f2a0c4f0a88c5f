"""`burgerfries sweep --workers N`: N sweep workers as processes on this machine, sharing its cores.

Each worker is an ordinary sweep worker (`sweep/storage.py`: they share each phase's queued
trials through the sweep's Optuna storage, sqlite by default); this process starts them, passes
their output on with a `[worker i]` prefix, and waits for them. Each gets an equal share of the
cores as TensorFlow's intra-op threads (TF_NUM_INTRAOP_THREADS): on 2 cores, two one-thread
processes ran more smoke training steps per second than one two-thread process (bench/RESULTS.md,
"Two worker processes on one machine").
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading

# Without a GPU: more than one process per machine (measured on 2 cores, bench/RESULTS.md). With
# a GPU, one: TensorFlow maps (nearly) all of a GPU's memory into the first process that uses it.
CPU_WORKERS = 2
PR_SET_PDEATHSIG = 1  # prctl(2)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_per_worker(count: int) -> int:
    """Each of `count` workers' TensorFlow intra-op threads: an equal share of the cores."""
    return max(1, usable_cores() // count)


def default_workers() -> int:
    """CPU_WORKERS on a machine without a GPU (and with as many cores), else 1."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return 1
    return max(1, min(CPU_WORKERS, usable_cores()))


def _pass_on(stream, prefix: str) -> None:
    for line in stream:
        sys.stdout.write(prefix + line)
        sys.stdout.flush()


def _stop_with_this_process() -> None:
    """In the worker, before it starts: Linux sends it SIGTERM when the process that started it
    dies, even by SIGKILL, so no worker trains on unseen after the sweep command was killed."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: Ctrl-C still reaches the whole process group
        pass


def run_local_workers(count: int, sweep_arguments: list[str], tracking_uri: str) -> list[int]:
    """Run `burgerfries sweep <sweep_arguments> --workers 1 --quiet` in `count` processes at once;
    their exit codes. The tracking URI is passed as resolved here, so every worker logs to one store.
    A SIGTERM to this process is passed on to the workers; a killed worker's trial is retried by
    the others once its heartbeat is stale (sweep/storage.py), or by the next run of the command."""
    from burgerfries.tracking import USER_EXPERIMENT_ENV  # (here: the CLI imports this module before any mlflow)

    # MLflow's set_experiment writes MLFLOW_EXPERIMENT_ID into this process's environment: the
    # workers get what the user set instead (the plan's --experiment names the experiment anyway).
    env = {
        **{key: value for key, value in os.environ.items() if key not in USER_EXPERIMENT_ENV},
        **{key: value for key, value in USER_EXPERIMENT_ENV.items() if value is not None},
        "MLFLOW_TRACKING_URI": tracking_uri,
        "TF_NUM_INTRAOP_THREADS": str(threads_per_worker(count)),
    }
    command = [sys.executable, "-m", "burgerfries", "sweep", *sweep_arguments, "--workers", "1", "--quiet"]
    print(f"starting {count} sweep workers on this machine, {env['TF_NUM_INTRAOP_THREADS']} thread(s) each", flush=True)
    workers = [  # all started before the output threads: preexec_fn is unsafe once threads run
        subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            preexec_fn=_stop_with_this_process,
        )
        for _ in range(count)
    ]
    printers = [
        threading.Thread(target=_pass_on, args=(worker.stdout, f"[worker {index + 1}] "), daemon=True)
        for index, worker in enumerate(workers)
    ]
    for printer in printers:
        printer.start()

    def stop_workers(signum, frame) -> None:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop_workers)
    try:
        codes = [worker.wait() for worker in workers]
    except BaseException:  # Ctrl-C reaches the workers too (one process group); wait for them to stop
        for worker in workers:
            worker.wait()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    for printer in printers:
        printer.join()
    return codes
