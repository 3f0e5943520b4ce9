"""Model versions in the work folder's registry: registered with what they are and what the gate decided, the
`champion` and `challenger` aliases, and loading a version back as the `TrainedModel` a training run returned."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pandas as pd

from models.artifact import TrainedModel
from models.gate import ChampionStanding, Decision
from models.tracking.store import store_access, tracking_uri, use_store
from models.training import model_matrix

CHURN_MODEL = "surveyless-churn"
SATISFACTION_MODEL = "surveyless-satisfaction"
REGISTERED = {"churn": CHURN_MODEL, "satisfaction": SATISFACTION_MODEL}
"""Each kind of model (`Recipe.kind`) and the name its versions are registered under."""
CHAMPION = "champion"
CHALLENGER = "challenger"
MODEL_REQUIREMENTS = [f"lightgbm=={version('lightgbm')}", f"pandas=={version('pandas')}"]
HEADLINE_METRIC = {"churn": "roc_auc", "satisfaction": "spearman"}


class MissingModelError(LookupError):
    """No champion model in this work folder's registry: train first."""


def short(name: str) -> str:
    return name.removeprefix("surveyless-")


def sidecar_name(name: str) -> str:
    """The run artefact holding everything of a model but its booster (`TrainedModel.sidecar`)."""
    return f"{short(name)}_model.json"


def verdict(decision: Decision) -> str:
    return CHAMPION if decision.promote else CHALLENGER


def description(model: TrainedModel, decision: Decision) -> str:
    """What a person browsing the registry needs to know about a version, in two sentences."""
    metric = HEADLINE_METRIC[model.recipe.kind]
    held_out = model.metrics.get(metric, float("nan"))
    churn = model.recipe.churn.describe()
    return (
        f"{model.recipe.kind.capitalize()} model on {len(model.feature_names)} features from "
        f"{', '.join(model.recipe.sources) or 'customer attributes'}; churn: {churn}. Held out: {metric} "
        f"{held_out:.3f} ({model.validation}). Gate: {verdict(decision)} ({decision.reason})."
    )


def register(mlflow, model: TrainedModel, sample: pd.DataFrame, decision: Decision) -> str:
    """Logs the booster (LightGBM's own format, with a signature) and its sidecar to the active run, and registers
    a new version described and tagged with its metrics and the gate's decision (through the client, which prints
    nothing)."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    name = REGISTERED[model.recipe.kind]
    signature = infer_signature(sample, model.booster.predict(model_matrix(sample, model.feature_names)))
    text = [c for c in sample.columns if not pd.api.types.is_numeric_dtype(sample[c])]
    # A JSON serving example cannot carry pandas categories, which LightGBM needs; scoring goes through
    # `model_matrix`, so MLflow's serving round-trip check is skipped rather than failing noisily.
    info = mlflow.lightgbm.log_model(
        model.booster,
        name=name,
        signature=signature,
        input_example=sample.head(5).astype(dict.fromkeys(text, object)),
        pip_requirements=MODEL_REQUIREMENTS,
        validate_serving_input=False,
    )
    mlflow.log_dict(model.sidecar(), sidecar_name(name))
    client = mlflow.MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    tags = {"decision": verdict(decision), "reason": decision.reason, "validation": model.validation}
    tags |= {k: f"{v:.4f}" for k, v in model.metrics.items() if not k.endswith(("_low", "_high"))}
    registered = client.create_model_version(
        name,
        source=info.model_uri,
        run_id=mlflow.active_run().info.run_id,
        model_id=info.model_id,
        description=description(model, decision),
        tags=tags,
    )
    return str(registered.version)


def point_aliases(client, versions: dict[str, str], decisions: dict[str, Decision]) -> None:
    """Each new version (by model kind) becomes `champion` or `challenger` as the gate decided. A model this run
    could not train (too few surveys) loses its champion alias, so scoring never pairs the new churn model with one
    trained on other data."""
    for kind, name in REGISTERED.items():
        if kind in versions:
            client.set_registered_model_alias(name, verdict(decisions[kind]), versions[kind])
        elif champion_version(client, name):
            client.delete_registered_model_alias(name, CHAMPION)


def champion_version(client, name: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


@store_access
def load_model_version(work: Path, name: str, model_version: str) -> TrainedModel:
    """One registered version of a model, as a training run returned it."""
    mlflow = use_store(work)
    entry = mlflow.MlflowClient().get_model_version(name, model_version)
    sidecar = mlflow.artifacts.load_dict(f"runs:/{entry.run_id}/{sidecar_name(name)}")
    booster = mlflow.lightgbm.load_model(f"models:/{name}/{model_version}")
    return TrainedModel.from_sidecar(booster, sidecar, str(model_version), entry.run_id)


@store_access
def load_champion(work: Path, name: str) -> TrainedModel | None:
    """The model version holding the `champion` alias in this work folder's registry (never another store), or
    None."""
    model_version = champion_version(use_store(work).MlflowClient(), name)
    return None if model_version is None else load_model_version(work, name, model_version)


@store_access
def load_churn_champion(work: Path) -> TrainedModel:
    champion = load_champion(work, CHURN_MODEL)
    if champion is None:
        raise MissingModelError(
            f"no champion churn model in {tracking_uri(work)}: train one that passes the promotion gate "
            f"(`surveyless train`; {Path(work) / 'promotion_log.csv'} says why earlier ones did not)."
        )
    return champion


@store_access
def champion_standing(work: Path, name: str) -> ChampionStanding | None:
    model = load_champion(work, name)
    if model is None:
        return None
    run = use_store(work).MlflowClient().get_run(model.run_id)
    prefix = f"{short(name)}_"
    metrics = {k.removeprefix(prefix): v for k, v in run.data.metrics.items() if k.startswith(prefix)}
    last = run.data.tags.get("last_training_cutoff")
    return ChampionStanding(model, metrics, pd.Timestamp(last) if last else None)
