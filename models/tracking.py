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


class MissingModelError(LookupError):
    """No champion model in this work folder's registry: train first."""


def log_training(work: Path, churn: FittedModel, satisfaction: FittedModel | None, params: dict, model_card: dict) -> TrainingRecord:
    """One run holding the models' parameters, held-out metrics and model card; each registered as champion.

    Without a satisfaction model (too few surveys) the satisfaction champion alias is removed, so
    scoring never pairs this churn model with one trained on other data.
    """
    mlflow = use_store(work)
    fitted = {CHURN_MODEL: churn, SATISFACTION_MODEL: satisfaction}
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_params(flatten(params))
        mlflow.log_dict(model_card, "model_card.json")
        versions = {}
        for name, model in fitted.items():
            if model is not None:
                mlflow.log_metrics({f"{name.removeprefix('surveyless-')}_{k}": v for k, v in model.metrics.items()})
                versions[name] = log_model(mlflow, model, name)
    client = mlflow.MlflowClient()
    for name in fitted:
        if name in versions:
            client.set_registered_model_alias(name, CHAMPION, versions[name])
        elif champion_version(client, name):
            client.delete_registered_model_alias(name, CHAMPION)
    return TrainingRecord(run.info.run_id, versions[CHURN_MODEL], versions.get(SATISFACTION_MODEL, ""))


def champion_version(client, name: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def log_model(mlflow, fitted: FittedModel, name: str) -> str:
    """Logs the model with its signature and registers a new version (through the client, which prints nothing)."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    matrix = model_matrix(fitted.sample, fitted.feature_names)
    output = fitted.estimator.predict_proba(matrix)[:, 1] if hasattr(fitted.estimator, "predict_proba") else fitted.estimator.predict(matrix)
    signature = infer_signature(fitted.sample, output)
    info = mlflow.lightgbm.log_model(fitted.estimator, name=name, signature=signature, pip_requirements=MODEL_REQUIREMENTS)
    client = mlflow.MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    registered = client.create_model_version(name, source=info.model_uri, run_id=mlflow.active_run().info.run_id, model_id=info.model_id)
    return str(registered.version)


def load_champion(work: Path, name: str) -> ScoringModel | None:
    """The model version holding the `champion` alias in this work folder's registry (never another store), or None."""
    mlflow = use_store(work)
    version = champion_version(mlflow.MlflowClient(), name)
    if version is None:
        return None
    entry = mlflow.MlflowClient().get_model_version(name, version)
    return ScoringModel(mlflow.lightgbm.load_model(f"models:/{name}/{version}"), version, entry.run_id)


def load_churn_champion(work: Path) -> ScoringModel:
    champion = load_champion(work, CHURN_MODEL)
    if champion is None:
        raise MissingModelError(f"no champion churn model in {tracking_uri(work)}: run `surveyless train` first.")
    return champion


def flatten(params: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = json.dumps(value, default=str) if isinstance(value, (list, tuple)) else str(value)
    return flat
