"""Where the work folder's MLflow store is, and what a failure of it becomes."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

EXPERIMENT = "surveyless"
STORE_MODULES = ("mlflow", "sqlalchemy", "sqlite3")


class StoreUnavailable(RuntimeError):
    """The work folder's MLflow store failed underneath us: locked by another process, unreadable or corrupt."""


def tracking_uri(work: Path) -> str:
    return f"sqlite:///{(Path(work) / 'mlflow.db').resolve()}"


def use_store(work: Path):
    """Points MLflow at the work folder's store and experiment (artefacts stay inside the work folder)."""
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(tracking_uri(work))
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        mlflow.create_experiment(EXPERIMENT, artifact_location=(Path(work) / "mlartifacts").resolve().as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return mlflow


def store_access(function):
    """Failures raised by MLflow or its database become StoreUnavailable, naming the store, so callers can retry or
    report them."""

    @functools.wraps(function)
    def guarded(work, *args, **kwargs):
        try:
            return function(work, *args, **kwargs)
        except Exception as error:
            if type(error).__module__.startswith(STORE_MODULES):
                raise StoreUnavailable(f"the MLflow store {tracking_uri(work)} failed: {error}") from error
            raise

    return guarded
