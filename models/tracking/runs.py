"""The runs surveyless leaves in MLflow, each named by what it did and when:

- a training run: settings, the datasets it learned from, held-out metrics with intervals, baselines, the model
  card, figures and both models (registered by `registry`);
- a scoring run: how many customers, how many at high risk, drift, and which model versions scored;
- an evaluation run: how a past date's predictions turned out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from models.artifact import TrainedModel
from models.gate import Decision
from models.tracking.registry import point_aliases, register, verdict
from models.tracking.store import EXPERIMENT, store_access, use_store
from models.training import Evaluation

KIND = "kind"  # run tag: training, scoring or evaluation


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
    baselines: dict[str, dict]
    decisions: dict[str, Decision]
    datasets: dict[str, pd.DataFrame]
    source: str
    fingerprint: str
    figures: dict[str, object] = field(default_factory=dict)


SCHEMA_ROWS = 1000


def run_name(action: str, as_of: pd.Timestamp) -> str:
    """'train on data to 2025-12-28, 2026-12-03 10:15 UTC': what the run did and when."""
    return f"{action} {as_of.date()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


@contextmanager
def training_run(work: Path, fingerprint: str, config_hash: str, data_end: pd.Timestamp) -> Iterator[str]:
    """The MLflow run of one training, open from its first step, so an interrupted training shows as FAILED.

    A crash, Ctrl-C or SIGTERM marks it FAILED here; a run a killed process left RUNNING is marked
    FAILED when the next training starts (the caller holds the training lock, so none is still alive).
    The registry's aliases change only at the end of `log_training`: the champion stays until then.
    """
    run_id = open_training_run(work, fingerprint, config_hash, data_end)
    try:
        yield run_id
    except BaseException:
        fail_run(work, run_id)
        raise


@store_access
def open_training_run(work: Path, fingerprint: str, config_hash: str, data_end: pd.Timestamp) -> str:
    mlflow = use_store(work)
    client = mlflow.MlflowClient()
    experiment = mlflow.get_experiment_by_name(EXPERIMENT).experiment_id
    for abandoned in client.search_runs([experiment], f"attributes.status = 'RUNNING' AND tags.{KIND} = 'training'"):
        client.set_terminated(abandoned.info.run_id, "FAILED")
    tags = {KIND: "training", "data_fingerprint": fingerprint, "config_hash": config_hash}
    last_day = data_end - pd.Timedelta(days=1)
    return client.create_run(experiment, run_name=run_name("train on data to", last_day), tags=tags).info.run_id


@store_access
def fail_run(work: Path, run_id: str) -> None:
    use_store(work).MlflowClient().set_terminated(run_id, "FAILED")


@store_access
def log_training(work: Path, run_id: str, run: TrainingRun) -> dict[str, str]:
    """One run with config, the training rows as datasets, cutoffs, metrics with intervals, baselines, model card,
    figures and models; each model is registered as a new version and the gate's decision sets its alias.
    Returns the registered versions."""
    mlflow = use_store(work)
    fitted = {
        "churn": (run.churn, run.churn_evaluation),
        "satisfaction": (run.satisfaction, run.satisfaction_evaluation),
    }
    with mlflow.start_run(run_id=run_id):
        mlflow.log_params(flatten(run.params))
        mlflow.set_tags({"last_training_cutoff": str(run.cutoffs[-1].date())})
        for name, rows in run.datasets.items():
            dataset = mlflow.data.from_pandas(rows, source=run.source, name=name, digest=f"{run.fingerprint}-{name}")
            # MLflow infers the schema by reading every row (8 s for 100,000 x 80); the first rows have the same types.
            dataset.__dict__["schema"] = mlflow.data.from_pandas(rows.head(SCHEMA_ROWS)).schema
            mlflow.log_input(dataset, context="training")
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
        for kind, (model, evaluation) in fitted.items():
            if model is not None:
                decision = run.decisions[kind]
                mlflow.log_metrics({f"{kind}_{k}": v for k, v in model.metrics.items()})
                versions[kind] = register(mlflow, model, evaluation.sample, decision)
                mlflow.set_tags({f"{kind}_decision": verdict(decision), f"{kind}_reason": decision.reason})
        point_aliases(mlflow.MlflowClient(), versions, run.decisions)
    return versions


def flatten(params: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = json.dumps(value, default=str) if isinstance(value, list | tuple) else str(value)
    return flat


@store_access
def finished_training(work: Path, fingerprint: str, config_hash: str) -> dict | None:
    """The last completed training run on this very data and config, with its summary, or None."""
    mlflow = use_store(work)
    runs = mlflow.search_runs(
        filter_string=(
            f"tags.data_fingerprint = '{fingerprint}' AND tags.config_hash = '{config_hash}' "
            f"AND attributes.status = 'FINISHED' AND tags.{KIND} = 'training'"
        ),
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
def log_scoring(work: Path, as_of: pd.Timestamp, counts: dict[str, int], drift: dict, provenance: dict) -> str:
    """One scoring date as its own run: how many customers by status and risk, drift against training, and which
    model versions, data and config produced it."""
    mlflow = use_store(work)
    with mlflow.start_run(run_name=run_name("score", as_of)) as active:
        mlflow.set_tags({KIND: "scoring", "as_of": str(as_of.date())} | {k: str(v) for k, v in provenance.items()})
        mlflow.log_metrics({f"customers_{name}": float(count) for name, count in counts.items()})
        mlflow.log_metrics(
            {"prediction_psi": drift["prediction_psi"], "drifted_features": float(len(drift["flagged_features"]))}
        )
        mlflow.log_metrics({f"psi_{name}": value for name, value in drift["feature_psi"].items()})
        mlflow.log_dict(drift, "drift.json")
    return active.info.run_id


@store_access
def log_evaluation(
    work: Path, as_of: pd.Timestamp, model_version: str, training_run_id: str, realised: dict, alert: str | None
) -> str:
    """Realised performance of one scoring date as its own run, tagged with the model version that scored it."""
    mlflow = use_store(work)
    with mlflow.start_run(run_name=run_name("evaluate predictions of", as_of)) as active:
        mlflow.set_tags(
            {
                KIND: "evaluation",
                "as_of": str(as_of.date()),
                "churn_model_version": model_version,
                "training_run_id": training_run_id,
                "alert": alert or "",
                "in_sample": str(realised["in_sample"]).lower(),
            }
        )
        mlflow.log_metrics({f"realised_{k}": v for k, v in realised["churn"].items()})
        if "satisfaction" in realised:
            mlflow.log_metrics({f"realised_satisfaction_{k}": v for k, v in realised["satisfaction"].items()})
        mlflow.log_dict(realised, "realised.json")
    return active.info.run_id
