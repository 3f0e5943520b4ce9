"""The only module that talks to MLflow: logs training runs, registers models, loads the champion.

The tracking store is a SQLite file inside the work folder, so no server has to run; point the
MLflow UI at it with `mlflow ui --backend-store-uri sqlite:///<work>/mlflow.db`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from models.artifact import TrainedModel
from models.baselines import applicable
from models.evaluation import churn_scores_report
from models.gate import Decision, GateSettings, champion_metric, gate_decision
from models.training import Evaluation, churn_log_odds, model_matrix

EXPERIMENT = "surveyless"
CHURN_MODEL = "surveyless-churn"
SATISFACTION_MODEL = "surveyless-satisfaction"
CHAMPION = "champion"
CHALLENGER = "challenger"
MODEL_REQUIREMENTS = [
    f"lightgbm=={version('lightgbm')}",
    f"pandas=={version('pandas')}",
    f"scikit-learn=={version('scikit-learn')}",
]


@dataclass(frozen=True)
class TrainingRun:
    """Everything a training run logs."""

    churn: TrainedModel
    churn_evaluation: Evaluation
    satisfaction: TrainedModel | None
    satisfaction_evaluation: Evaluation | None
    params: dict
    cutoffs: list[pd.Timestamp]
    card: dict
    card_markdown: str
    baselines: dict[str, dict[str, float]]
    decisions: dict[str, Decision]
    figures: dict[str, object] = field(default_factory=dict)


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


class StoreUnavailable(RuntimeError):
    """The work folder's MLflow store failed underneath us: locked by another process, unreadable or corrupt."""


STORE_MODULES = ("mlflow", "sqlalchemy", "sqlite3")


def store_access(function):
    """Failures raised by MLflow or its database become StoreUnavailable, naming the store, so callers can retry or report them."""

    @functools.wraps(function)
    def guarded(work, *args, **kwargs):
        try:
            return function(work, *args, **kwargs)
        except Exception as error:
            if type(error).__module__.startswith(STORE_MODULES):
                raise StoreUnavailable(f"the MLflow store {tracking_uri(work)} failed: {error}") from error
            raise

    return guarded


@contextmanager
def training_run(work: Path, fingerprint: str, config_hash: str) -> Iterator[str]:
    """The MLflow run of one training, open from its first step, so an interrupted training shows as FAILED.

    A crash, Ctrl-C or SIGTERM marks it FAILED here; a run a killed process left RUNNING is marked
    FAILED when the next training starts (the caller holds the training lock, so none is still alive).
    The registry's aliases change only at the end of `log_training`: the champion stays until then.
    """
    run_id = open_training_run(work, fingerprint, config_hash)
    try:
        yield run_id
    except BaseException:
        fail_run(work, run_id)
        raise


@store_access
def open_training_run(work: Path, fingerprint: str, config_hash: str) -> str:
    mlflow = use_store(work)
    client = mlflow.MlflowClient()
    experiment = mlflow.get_experiment_by_name(EXPERIMENT).experiment_id
    for abandoned in client.search_runs(
        [experiment], "attributes.status = 'RUNNING' AND attributes.run_name = 'train'"
    ):
        client.set_terminated(abandoned.info.run_id, "FAILED")
    return client.create_run(
        experiment, run_name="train", tags={"data_fingerprint": fingerprint, "config_hash": config_hash}
    ).info.run_id


@store_access
def fail_run(work: Path, run_id: str) -> None:
    use_store(work).MlflowClient().set_terminated(run_id, "FAILED")


@store_access
def log_training(work: Path, run_id: str, run: TrainingRun) -> None:
    """One run with config, data fingerprint, cutoffs, metrics with intervals, baselines, model card and models.

    Each new model version is registered; the gate's decision makes it `champion` or `challenger`,
    recorded as run tags and appended to `OUT/promotion_log.csv`. Without a satisfaction model (too
    few surveys) the satisfaction champion alias is removed, so scoring never pairs this churn model
    with one trained on other data.
    """
    mlflow = use_store(work)
    fitted = {
        CHURN_MODEL: (run.churn, run.churn_evaluation),
        SATISFACTION_MODEL: (run.satisfaction, run.satisfaction_evaluation),
    }
    with mlflow.start_run(run_id=run_id):
        mlflow.log_params(flatten(run.params))
        mlflow.set_tags({"last_training_cutoff": str(run.cutoffs[-1].date())})
        mlflow.log_dict({"cutoffs": [str(c.date()) for c in run.cutoffs]}, "cutoffs.json")
        mlflow.log_dict(run.card, "model_card.json")
        mlflow.log_text(run.card_markdown, "model_card.md")
        for baseline, metrics in run.baselines.items():
            if "not_applicable" in metrics:
                mlflow.set_tag(f"baseline_{baseline}", f"not applicable: {metrics['not_applicable']}")
            else:
                mlflow.log_metrics({f"baseline_{baseline}_{k}": v for k, v in metrics.items()})
        for name, figure in run.figures.items():
            mlflow.log_figure(figure, name)
        if "churn_reason_stability" in run.card:
            mlflow.log_metric("churn_reason_stability", run.card["churn_reason_stability"])
        versions = {}
        for name, (model, evaluation) in fitted.items():
            if model is not None:
                mlflow.log_metrics({f"{short(name)}_{k}": v for k, v in model.metrics.items()})
                versions[name] = log_model(mlflow, model, evaluation.sample, name)
                mlflow.log_dict(model.sidecar(), sidecar_name(name))
                mlflow.set_tags(
                    {
                        f"{short(name)}_decision": "champion" if run.decisions[name].promote else "challenger",
                        f"{short(name)}_reason": run.decisions[name].reason,
                    }
                )
        client = mlflow.MlflowClient()
        for name in fitted:
            if name in versions:
                client.set_registered_model_alias(
                    name, CHAMPION if run.decisions[name].promote else CHALLENGER, versions[name]
                )
            elif champion_version(client, name):
                client.delete_registered_model_alias(name, CHAMPION)
    append_promotion_log(work, run_id, versions, run.decisions)


def short(name: str) -> str:
    return name.removeprefix("surveyless-")


def sidecar_name(name: str) -> str:
    """The run artefact holding everything of a model but its booster (`TrainedModel.sidecar`)."""
    return f"{short(name)}_model.json"


def append_promotion_log(work: Path, run_id: str, versions: dict[str, str], decisions: dict) -> None:
    """Appends one row per model to the promotion log."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    append_log(
        Path(work) / "promotion_log.csv",
        [
            {
                "at": now,
                "model": name,
                "version": version,
                "run_id": run_id,
                "decision": "champion" if decisions[name].promote else "challenger",
                "reason": decisions[name].reason,
            }
            for name, version in versions.items()
        ],
    )


def append_log(path: Path, rows: list[dict]) -> None:
    """Appends rows to a CSV log, written whole to a temporary file and renamed (a crash keeps the old log)."""
    new = pd.DataFrame(rows).astype(str)
    log = (
        pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False), new], ignore_index=True)
        if path.exists()
        else new
    )
    temporary = path.with_suffix(".csv.tmp")
    log.to_csv(temporary, index=False)
    os.replace(temporary, path)


@dataclass(frozen=True)
class ChampionStanding:
    """The current champion and what it scored when it was trained."""

    model: TrainedModel
    metrics: dict[str, float]
    last_training_cutoff: pd.Timestamp | None


@store_access
def champion_standing(work: Path, name: str) -> ChampionStanding | None:
    mlflow = use_store(work)
    model = load_champion(work, name)
    if model is None:
        return None
    run = mlflow.MlflowClient().get_run(model.run_id)
    prefix = f"{short(name)}_"
    metrics = {k.removeprefix(prefix): v for k, v in run.data.metrics.items() if k.startswith(prefix)}
    last = run.data.tags.get("last_training_cutoff")
    return ChampionStanding(model, metrics, pd.Timestamp(last) if last else None)


def champion_version(client, name: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def log_model(mlflow, fitted: TrainedModel, sample: pd.DataFrame, name: str) -> str:
    """Logs the model with its signature and registers a new version (through the client, which prints nothing)."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    output = fitted.booster.predict(model_matrix(sample, fitted.feature_names))
    signature = infer_signature(sample, output)
    example = sample.head(5).astype({c: object for c in sample.columns if not pd.api.types.is_numeric_dtype(sample[c])})
    # A JSON serving example cannot carry pandas categories, which LightGBM needs; scoring goes through
    # `model_matrix`, so MLflow's serving round-trip check is skipped rather than failing noisily.
    info = mlflow.lightgbm.log_model(
        fitted.booster,
        name=name,
        signature=signature,
        input_example=example,
        pip_requirements=MODEL_REQUIREMENTS,
        validate_serving_input=False,
    )
    client = mlflow.MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    registered = client.create_model_version(
        name, source=info.model_uri, run_id=mlflow.active_run().info.run_id, model_id=info.model_id
    )
    return str(registered.version)


@store_access
def load_champion(work: Path, name: str) -> TrainedModel | None:
    """The model version holding the `champion` alias in this work folder's registry (never another store), or None."""
    mlflow = use_store(work)
    version = champion_version(mlflow.MlflowClient(), name)
    return None if version is None else load_model_version(work, name, version)


@store_access
def load_model_version(work: Path, name: str, version: str) -> TrainedModel:
    """One registered version of a model, as a training run returned it."""
    mlflow = use_store(work)
    entry = mlflow.MlflowClient().get_model_version(name, version)
    sidecar = mlflow.artifacts.load_dict(f"runs:/{entry.run_id}/{sidecar_name(name)}")
    return TrainedModel.from_sidecar(
        mlflow.lightgbm.load_model(f"models:/{name}/{version}"), sidecar, str(version), entry.run_id
    )


@store_access
def load_churn_champion(work: Path) -> TrainedModel:
    champion = load_champion(work, CHURN_MODEL)
    if champion is None:
        raise MissingModelError(
            f"no champion churn model in {tracking_uri(work)}: train one that passes the promotion gate "
            f"(`surveyless train`; {Path(work) / 'promotion_log.csv'} says why earlier ones did not)."
        )
    return champion


def flatten(params: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = json.dumps(value, default=str) if isinstance(value, (list, tuple)) else str(value)
    return flat


@store_access
def promotion_decisions(
    work: Path,
    churn: TrainedModel,
    churn_evaluation: Evaluation,
    satisfaction: TrainedModel | None,
    churn_rows: pd.DataFrame,
    baselines: dict[str, dict],
    gate: GateSettings,
) -> dict[str, Decision]:
    """The gate's verdict per model, against the current champions and (for churn) every applicable baseline."""
    decisions = {}
    standing = champion_standing(work, CHURN_MODEL)
    metric = gate.churn_metric
    on_rows = champion_on_validation_rows(standing, churn, churn_rows, churn_evaluation.split.valid, metric)
    reference = champion_metric(standing.metrics if standing else None, on_rows, metric)
    decisions[CHURN_MODEL] = gate_decision(
        metric,
        churn.metrics.get(metric, float("nan")),
        reference,
        {n: m[metric] for n, m in applicable(baselines).items() if metric in m},
        gate,
    )
    if satisfaction is not None:
        standing = champion_standing(work, SATISFACTION_MODEL)
        reference = champion_metric(standing.metrics if standing else None, None, gate.satisfaction_metric)
        decisions[SATISFACTION_MODEL] = gate_decision(
            gate.satisfaction_metric,
            satisfaction.metrics.get(gate.satisfaction_metric, float("nan")),
            reference,
            {},
            gate,
        )
    return decisions


def champion_on_validation_rows(
    standing: ChampionStanding | None, new: TrainedModel, rows: pd.DataFrame, valid, metric: str
) -> float | None:
    """The champion's score on the new validation rows, when it never trained on them, means the same churn and can read their features."""
    if standing is None or standing.last_training_cutoff is None or standing.model.recipe.churn != new.recipe.churn:
        return None
    validation = rows[valid]
    if validation.index.get_level_values("as_of").min() <= standing.last_training_cutoff or not set(
        standing.model.feature_names
    ) <= set(rows.columns):
        return None
    log_odds = churn_log_odds(standing.model, validation)
    return churn_scores_report(validation["churned"].to_numpy(), log_odds, seed=0, probabilities=False).get(metric)


@store_access
def finished_training(work: Path, fingerprint: str, config_hash: str) -> dict | None:
    """The last completed training run on this very data and config, with its summary, or None."""
    mlflow = use_store(work)
    runs = mlflow.search_runs(
        filter_string=f"tags.data_fingerprint = '{fingerprint}' AND tags.config_hash = '{config_hash}' AND attributes.status = 'FINISHED' AND attributes.run_name = 'train'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    if not runs:
        return None
    return {"run_id": runs[0].info.run_id, **mlflow.artifacts.load_dict(f"runs:/{runs[0].info.run_id}/summary.json")}


@store_access
def log_summary(work: Path, run_id: str, summary: dict) -> None:
    """What `surveyless train` printed, kept with the run so an unchanged rerun can print it again."""
    mlflow = use_store(work)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_dict(summary, "summary.json")


@store_access
def model_card_of(work: Path, model: TrainedModel) -> dict:
    return use_store(work).artifacts.load_dict(f"runs:/{model.run_id}/model_card.json")


@store_access
def training_record(work: Path, run_id: str) -> tuple[dict[str, float], pd.Timestamp]:
    """The churn metrics a training run measured on its validation rows, and its last training cutoff."""
    run = use_store(work).MlflowClient().get_run(run_id)
    metrics = {k.removeprefix("churn_"): v for k, v in run.data.metrics.items() if k.startswith("churn_")}
    return metrics, pd.Timestamp(run.data.tags["last_training_cutoff"])


@store_access
def log_evaluation(
    work: Path, as_of: pd.Timestamp, version: str, training_run_id: str, realised: dict, alert: str | None
) -> str:
    """Realised performance of one scoring date as its own run, tagged with the model version that scored it."""
    mlflow = use_store(work)
    with mlflow.start_run(run_name=f"evaluate {as_of.date()}") as active:
        mlflow.set_tags(
            {
                "kind": "evaluation",
                "as_of": str(as_of.date()),
                "churn_model_version": version,
                "training_run_id": training_run_id,
                "alert": alert or "",
                "in_sample": str(realised["in_sample"]).lower(),
            }
        )
        mlflow.log_metrics({f"realised_{k}": v for k, v in realised["churn"].items()})
        if "satisfaction" in realised:
            mlflow.log_metrics({f"realised_satisfaction_{k}": v for k, v in realised["satisfaction"].items()})
        mlflow.log_dict(realised, "realised.json")
    append_log(
        Path(work) / EVALUATION_LOG,
        [
            {
                "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "as_of": str(as_of.date()),
                "churn_model_version": version,
                "roc_auc": realised["churn"].get("roc_auc", ""),
                "ece": realised["churn"].get("ece", ""),
                "satisfaction_mae": realised.get("satisfaction", {}).get("mae", ""),
                "in_sample": realised["in_sample"],
                "alert": alert or "",
                "mlflow_run_id": active.info.run_id,
            }
        ],
    )
    return active.info.run_id


EVALUATION_LOG = "evaluations.csv"


def evaluation_history(work: Path) -> pd.DataFrame:
    """Every realised-performance check so far, oldest scoring date first (empty before the first)."""
    path = Path(work) / EVALUATION_LOG
    if not path.exists():
        return pd.DataFrame(
            columns=["as_of", "churn_model_version", "roc_auc", "ece", "satisfaction_mae", "in_sample", "alert"]
        )
    log = pd.read_csv(path, dtype=str, keep_default_na=False)
    return log.drop_duplicates("as_of", keep="last").sort_values("as_of")
