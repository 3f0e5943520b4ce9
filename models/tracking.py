"""The only module that talks to MLflow: logs training runs, registers models, loads the champion.

The tracking store is a SQLite file inside the work folder, so no server has to run; point the
MLflow UI at it with `mlflow ui --backend-store-uri sqlite:///<work>/mlflow.db`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from models.scoring import ScoringModel
from models.training import FittedModel, model_matrix

EXPERIMENT = "surveyless"
CHURN_MODEL = "surveyless-churn"
SATISFACTION_MODEL = "surveyless-satisfaction"
CHAMPION = "champion"
MODEL_REQUIREMENTS = [f"lightgbm=={version('lightgbm')}", f"pandas=={version('pandas')}", f"scikit-learn=={version('scikit-learn')}"]


@dataclass(frozen=True)
class TrainingRecord:
    run_id: str
    churn_version: str
    satisfaction_version: str


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


def log_training(work: Path, churn: FittedModel, satisfaction: FittedModel, params: dict, model_card: dict, churn_sample: pd.DataFrame, satisfaction_sample: pd.DataFrame) -> TrainingRecord:
    """One run holding both models' parameters, held-out metrics and model card; both registered as champion."""
    mlflow = use_store(work)
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_params(flatten(params))
        mlflow.log_metrics({f"churn_{k}": v for k, v in churn.metrics.items()} | {f"satisfaction_{k}": v for k, v in satisfaction.metrics.items()})
        mlflow.log_dict(model_card, "model_card.json")
        churn_version = log_model(mlflow, churn, CHURN_MODEL, churn_sample, lambda m, x: m.predict_proba(x)[:, 1])
        satisfaction_version = log_model(mlflow, satisfaction, SATISFACTION_MODEL, satisfaction_sample, lambda m, x: m.predict(x))
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(CHURN_MODEL, CHAMPION, churn_version)
    client.set_registered_model_alias(SATISFACTION_MODEL, CHAMPION, satisfaction_version)
    return TrainingRecord(run.info.run_id, churn_version, satisfaction_version)


def log_model(mlflow, fitted: FittedModel, name: str, sample: pd.DataFrame, predict) -> str:
    """Logs the model with its signature and registers a new version (through the client, which prints nothing)."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    matrix = model_matrix(sample, fitted.feature_names)
    signature = infer_signature(sample[fitted.feature_names], predict(fitted.estimator, matrix))
    info = mlflow.lightgbm.log_model(fitted.estimator, name=name, signature=signature, pip_requirements=MODEL_REQUIREMENTS)
    client = mlflow.MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    registered = client.create_model_version(name, source=info.model_uri, run_id=mlflow.active_run().info.run_id, model_id=info.model_id)
    return str(registered.version)


def load_champion(work: Path, name: str) -> ScoringModel:
    """The model version holding the `champion` alias in this work folder's registry (never another store)."""
    mlflow = use_store(work)
    entry = mlflow.MlflowClient().get_model_version_by_alias(name, CHAMPION)
    estimator = mlflow.lightgbm.load_model(f"models:/{name}@{CHAMPION}")
    return ScoringModel(estimator, str(entry.version), entry.run_id)


def flatten(params: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = json.dumps(value, default=str) if isinstance(value, (list, tuple)) else str(value)
    return flat
