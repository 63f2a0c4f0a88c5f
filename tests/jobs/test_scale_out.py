"""Several sweep workers on one PostgreSQL-backed Optuna storage and one MLflow tracking server
(`mlflow server` on PostgreSQL), run for real as separate processes: each configuration trains
exactly once across workers, the next phase starts from the same winner in every worker, and a
worker killed with SIGKILL loses nothing. Also `sweep --workers 2` on the default sqlite stores: one
command's two worker processes, which stop when that command is killed.

PostgreSQL comes from Debian's packages (`.ci/run` installs it); the cluster is a throw-away one in
a temporary folder, run as the `postgres` user when the tests run as root (initdb refuses root).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import mlflow
import pytest
import yaml

BASE = {"batch_size": 2, "learning_rate": 0.04, "classification_weight": 1.0, "localization_weight": 1.0}
PHASES = [
    {
        "name": "weights",
        "grid": [
            {"classification_weight": 1.0, "localization_weight": 1.0},
            {"classification_weight": 0.5, "localization_weight": 1.0},
        ],
    },
    {"name": "lr", "grid": {"learning_rate": [0.03, 0.02]}},  # not 0.04: the carried-in point would be reused
]
CONFIGURATIONS = {("weights", "weights 1:1"), ("weights", "weights 0.5:1"), ("lr", "lr 0.03"), ("lr", "lr 0.02")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL cluster on 127.0.0.1 with databases `optuna` and `mlflow`."""
    pytest.importorskip("psycopg", reason="the postgres extra is not installed: pip install -e '.[postgres]'")
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb); .ci/run installs it from Debian's packages")
    as_postgres = []
    folder = Path(tempfile.mkdtemp(prefix="burgerfries-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = folder / "data"
    subprocess.run(
        [*as_postgres, bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder}"
    subprocess.run(
        [*as_postgres, bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        for database in ("optuna", "mlflow"):
            subprocess.run(
                [bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database],
                check=True,
                capture_output=True,
            )
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_postgres, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def tracking_server(postgres, tmp_path_factory):
    """`mlflow server` with its backend store on PostgreSQL and artifacts in a folder, on 127.0.0.1."""
    port = free_port()
    folder = tmp_path_factory.mktemp("mlflow_server")
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"{postgres}/mlflow",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                server.kill()
                pytest.fail(f"mlflow server did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
            time.sleep(1)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def on_server(tracking_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    # an earlier test's mlflow.set_experiment left its experiment id here; the workers would honour it
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    mlflow.set_tracking_uri(tracking_server)
    return tracking_server


def start_worker(study: Path, data: Path, storage: str, tracking: str, folder: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "burgerfries", "sweep", "--study", str(study), "--data", str(data)]
    command += ["--profile", "tiny", "--storage", storage, "--workers", "1"]  # one process per worker here
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking}
    env.pop("MLFLOW_RUN_ID", None)
    return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(worker: subprocess.Popen) -> str:
    out, err = worker.communicate(timeout=600)
    assert worker.returncode == 0, err[-3000:]
    return out


def write_study(folder: Path, name: str, num_steps: int) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "models": ["ssd_mobilenet_v2_320x320"],
                "base": BASE,
                "num_steps": num_steps,
                "phases": PHASES,
                "noise_seeds": 1,  # one run per configuration, so each phase has one trial per worker
            }
        )
    )
    return path


def sweep_runs(name: str) -> dict[str, list]:
    runs = mlflow.search_runs(experiment_names=[name], output_format="list")
    by_role: dict[str, list] = {}
    for run in runs:
        by_role.setdefault(run.data.tags.get("sweep_role", ""), []).append(run)
    return by_role


def assert_each_configuration_finished_once(name: str, said: str = "") -> dict[str, list]:
    """`said`: what the sweep printed, shown (its failure lines) when a configuration has no finished run."""
    by_role = sweep_runs(name)
    finished = Counter(
        (r.data.tags["phase"], r.data.tags["varied"]) for r in by_role["trial"] if r.info.status == "FINISHED"
    )
    others = [(r.data.tags.get("varied"), r.info.status) for r in by_role["trial"] if r.info.status != "FINISHED"]
    failures = "\n".join(line for line in said.splitlines() if "fail" in line.lower() or "error" in line.lower())
    assert finished == Counter(CONFIGURATIONS), (finished, others, failures[-4000:])  # nothing lost, nothing twice
    assert len(by_role["study"]) == 1 and by_role["study"][0].info.status == "FINISHED"
    parent = by_role["study"][0].info.run_id
    phases = by_role["phase"]
    assert sorted(r.data.tags["phase"] for r in phases) == ["lr", "weights"]
    assert all(r.data.tags["mlflow.parentRunId"] == parent for r in phases)
    phase_of = {r.info.run_id: r.data.tags["phase"] for r in phases}
    assert all(phase_of[r.data.tags["mlflow.parentRunId"]] == r.data.tags["phase"] for r in by_role["trial"])
    # the lr phase ran from the weights phase's winner, whoever trained it
    weights_phase = next(r for r in phases if r.data.tags["phase"] == "weights")
    winner = yaml.safe_load(weights_phase.data.tags["winner_config/ssd_mobilenet_v2_320x320"])
    for run in by_role["trial"]:
        if run.data.tags["phase"] == "lr":
            assert float(run.data.params["classification_weight"]) == winner["classification_weight"]
    return by_role


def test_workers_starting_together_on_an_empty_database_all_open_the_storage(postgres):
    import psycopg

    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as connection:
        connection.execute("CREATE DATABASE fresh")
    code = f"from burgerfries.sweep.storage import open_storage; open_storage('{postgres}/fresh')"
    starting = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for process in starting:  # each creates Optuna's tables unless another already has
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]


def test_two_workers_share_every_phase_and_a_late_worker_only_reports(postgres, on_server, synthetic_data, tmp_path):
    study = write_study(tmp_path, "two_workers", num_steps=8)
    storage = f"{postgres}/optuna"
    workers = [start_worker(study, synthetic_data, storage, on_server, tmp_path) for _ in range(2)]
    outputs = [finish(worker) for worker in workers]
    by_role = assert_each_configuration_finished_once("two_workers")
    # (which worker trained which trial is the scheduler's business: a slow machine may let one
    # worker claim them all; what each did is checked, not who was scheduled)
    assert all(r.data.tags.get("worker") for r in by_role["trial"])
    finals = [[line for line in out.splitlines() if line.startswith("final ")] for out in outputs]
    assert finals[0] and finals[0] == finals[1]
    assert outputs[0].splitlines()[-1] == outputs[1].splitlines()[-1]  # one report, the same path
    late = finish(start_worker(study, synthetic_data, storage, on_server, tmp_path))
    assert "is finished" in late and late.splitlines()[-1] == outputs[0].splitlines()[-1]
    assert len(sweep_runs("two_workers")["trial"]) == len(CONFIGURATIONS)  # the late worker trained nothing


def test_a_worker_killed_mid_trial_loses_nothing(postgres, on_server, synthetic_data, tmp_path):
    study = write_study(tmp_path, "killed_worker", num_steps=30)
    storage = f"{postgres}/optuna"
    workers = [start_worker(study, synthetic_data, storage, on_server, tmp_path) for _ in range(2)]
    client = mlflow.MlflowClient()
    deadline = time.time() + 300
    victim = None
    while victim is None and time.time() < deadline:
        time.sleep(1)
        if mlflow.get_experiment_by_name("killed_worker") is None:
            continue
        for run in sweep_runs("killed_worker").get("trial", []):
            if run.info.status == "RUNNING" and client.get_metric_history(run.info.run_id, "train/loss_total"):
                victim = run
                break
    assert victim is not None, "no trial reached its training steps"
    pid = int(victim.data.tags["worker"].rsplit(":", 1)[1])
    killed = next(worker for worker in workers if worker.pid == pid)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    survivor = next(worker for worker in workers if worker is not killed)
    newcomer = start_worker(study, synthetic_data, storage, on_server, tmp_path)
    finish(survivor)
    finish(newcomer)
    assert_each_configuration_finished_once("killed_worker")
    assert client.get_run(victim.info.run_id).info.status == "KILLED"


def test_two_local_workers_on_sqlite_share_every_phase(tracking_uri, synthetic_data, tmp_path):
    """`burgerfries sweep --workers 2`: the default stores (sqlite for MLflow and Optuna), two
    worker processes started by one command, one report."""
    study = write_study(tmp_path, "local_workers", num_steps=8)
    command = [sys.executable, "-m", "burgerfries", "sweep", "--study", str(study), "--data", str(synthetic_data)]
    sweep = subprocess.run(
        [*command, "--profile", "tiny", "--workers", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    assert sweep.returncode == 0, (sweep.stdout + sweep.stderr)[-4000:]
    assert_each_configuration_finished_once("local_workers", sweep.stdout + sweep.stderr)
    assert "[worker 1] " in sweep.stdout and "[worker 2] " in sweep.stdout  # both started and spoke
    assert (tmp_path / "optuna.db").is_file()  # the default storage, next to the tracking database
    report = Path(sweep.stdout.splitlines()[-1])
    assert report.name == "index.html" and report.is_file()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def test_killing_the_sweep_command_stops_its_local_workers(tracking_uri, synthetic_data, tmp_path):
    study = write_study(tmp_path, "killed_command", num_steps=200)
    command = [sys.executable, "-m", "burgerfries", "sweep", "--study", str(study), "--data", str(synthetic_data)]
    sweep = subprocess.Popen(
        [*command, "--profile", "tiny", "--workers", "2"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    pids: set[int] = set()
    try:  # every trial run's `worker` tag is HOST:PID of the worker process training it
        while len(pids) < 2 and time.time() < deadline:
            if mlflow.get_experiment_by_name("killed_command"):
                runs = mlflow.search_runs(experiment_names=["killed_command"], output_format="list")
                pids = {int(r.data.tags["worker"].rsplit(":", 1)[1]) for r in runs if "worker" in r.data.tags}
            time.sleep(0.5)
    finally:
        sweep.send_signal(signal.SIGKILL)
        sweep.wait()
    assert len(pids) == 2, "the two workers never both started a trial"
    deadline = time.time() + 60
    while any(alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.5)
    assert not any(alive(pid) for pid in pids), "a worker went on training after its sweep command was killed"
