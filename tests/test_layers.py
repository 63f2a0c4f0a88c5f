"""The import rules of the repo's ARCHITECTURE.md (at its root), checked on the source: only the jobs
and `tracking/` talk to MLflow; the library never imports the jobs or the command line; `runs/`
sits below `decision/`; only the report job imports the report that renders the decisions."""

import ast
from pathlib import Path

import pytest

import burgerfries

PACKAGE = Path(burgerfries.__file__).parent
ARCHITECTURE = PACKAGE.parent / "ARCHITECTURE.md"
LIBRARY = ("data", "scenes", "model", "training", "evaluation", "export", "runs", "decision", "report", "sweep")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def module_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_only_the_jobs_and_tracking_import_mlflow():
    offenders = [
        relative(path)
        for path in module_files()
        if not relative(path).startswith(("jobs/", "tracking/"))
        and any(name == "mlflow" or name.startswith("mlflow.") for name in imported_modules(path))
    ]
    assert offenders == []


@pytest.mark.parametrize("package", LIBRARY)
def test_the_library_imports_neither_the_jobs_nor_the_command_line(package):
    offenders = {
        relative(path): sorted(
            name for name in imported_modules(path) if name.startswith(("burgerfries.jobs", "burgerfries.cli"))
        )
        for path in (PACKAGE / package).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_report_job_imports_the_report():
    """The report renders what `runs/` and `decision/` computed; the sweep decides without it."""
    offenders = {
        relative(path): sorted(name for name in imported_modules(path) if name.startswith("burgerfries.report"))
        for path in module_files()
        if not relative(path).startswith("report/") and relative(path) != "jobs/report.py"
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_runs_sit_below_the_decisions():
    """`runs/` summarises runs; `decision/` decides from its tables, never the other way round."""
    offenders = {
        relative(path): sorted(name for name in imported_modules(path) if name.startswith("burgerfries.decision"))
        for path in (PACKAGE / "runs").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import mlflow.tracking\n    from mlflow import log_metric\n")
    assert {"mlflow.tracking", "mlflow"} <= imported_modules(sample)


LIMITS = {"module": 400, "class": 150, "function": 80}  # lines


def test_no_module_class_or_function_outgrows_its_size_target():
    too_long = []
    for path in module_files():
        source = path.read_text(encoding="utf-8")
        if len(source.splitlines()) > LIMITS["module"]:
            too_long.append(f"{relative(path)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > LIMITS[kind]:
                    too_long.append(f"{relative(path)}: {kind} {node.name} {length} lines")
    assert too_long == []


def test_the_architecture_note_names_every_package():
    """The note the rules above come from is in the repo and lists each package of the source."""
    note = ARCHITECTURE.read_text(encoding="utf-8")
    packages = sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py"))
    missing = [
        name for name in packages if f"`{name}/`" not in note and name not in ("configs", "studies", "pretrained")
    ]
    assert missing == []
