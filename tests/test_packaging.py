"""What installing and running the package promises: conda.yaml installs what pyproject.toml
declares, every third-party import is declared, the license and version are stated, and a
command ends in one line (not a traceback) on Ctrl-C or an unreachable tracking store."""

import ast
import importlib.metadata
import os
import re
import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import burgerfries

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
USER_ENV = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}


def distribution(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_conda_yaml_installs_what_pyproject_declares():
    environment = yaml.safe_load((ROOT / "conda.yaml").read_text())
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert pip == [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["postgres"], "-e ."]


def test_every_third_party_import_is_declared():
    declared = {distribution(r) for r in PROJECT["dependencies"]}
    declared |= {distribution(r) for extra in PROJECT["optional-dependencies"].values() for r in extra}
    providers = importlib.metadata.packages_distributions()
    undeclared = {}
    for path in (ROOT / "burgerfries").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "burgerfries":
                    continue
                if not {distribution(d) for d in providers.get(top, [])} & declared:
                    undeclared.setdefault(top, []).append(str(path.relative_to(ROOT)))
    assert not undeclared, undeclared


def test_license_and_version_are_stated(capsys):
    metadata = importlib.metadata.metadata("burgerfries")
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    assert metadata["Version"] == burgerfries.__version__
    completed = subprocess.run(
        [sys.executable, "-m", "burgerfries", "--version"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0 and completed.stdout.strip() == f"burgerfries {burgerfries.__version__}"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_an_unreachable_tracking_server_is_one_line(synthetic_data, tmp_path):
    uri = f"http://127.0.0.1:{closed_port()}"
    completed = subprocess.run(
        [sys.executable, "-m", "burgerfries", "train", "--data", str(synthetic_data), "--profile", "tiny"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**USER_ENV, "MLFLOW_TRACKING_URI": uri},
    )
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        f"burgerfries train: tracking store {uri} is not reachable ([Errno 111] Connection refused); "
        "check MLFLOW_TRACKING_URI"
    ]


def test_ctrl_c_ends_a_run_with_130_and_one_line(synthetic_data, tmp_path):
    command = [sys.executable, "-m", "burgerfries", "train", "--data", str(synthetic_data), "--profile", "tiny"]
    env = {**USER_ENV, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    # SIGINT's default action, whatever this process inherited: a runner started in the background
    # by a shell without job control ignores SIGINT, its children inherit that, and Python then
    # installs no KeyboardInterrupt handler (the run would train on and the test wait forever)
    process = subprocess.Popen(
        [*command, "--num-steps", "100000"],
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = b""
    while b"loss=" not in seen:  # the progress bar shows losses once steps run: training has started
        chunk = os.read(process.stderr.fileno(), 4096)
        if not chunk:
            pytest.fail(f"train ended before its first step: {seen.decode('utf-8', 'replace')[-2000:]}")
        seen += chunk
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read().decode("utf-8", "replace")
    assert process.wait(timeout=60) == 130
    assert "Traceback" not in rest
    assert rest.strip().splitlines()[-1] == "burgerfries train: interrupted"
