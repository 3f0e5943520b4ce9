"""Imports go one way: features and models know nothing of the orchestrator; only tracking knows MLflow."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["features", "models"])
def test_core_packages_do_not_import_the_orchestrator(package):
    for path in (ROOT / package).rglob("*.py"):
        assert not imported_modules(path) & {"prefect", "pipelines"}, path


def test_only_the_tracking_package_imports_mlflow():
    users = {
        path.relative_to(ROOT).as_posix()
        for package in ("features", "models", "pipelines")
        for path in (ROOT / package).rglob("*.py")
        if "mlflow" in imported_modules(path)
    }
    assert users and all(user.startswith("models/tracking/") for user in users), users


def test_print_is_only_used_by_the_cli():
    for package in ("features", "models", "pipelines"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "pipelines" / "cli.py":
                continue
            calls = [
                n
                for n in ast.walk(ast.parse(path.read_text()))
                if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"
            ]
            assert not calls, path
