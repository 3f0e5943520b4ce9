"""Prefect flows: they wire tasks around the pure functions of `features` and `models`, nothing more.

Flows take only simple parameters (paths, dates) so deployments and schedules stay trivial; the
same flow runs from the CLI, a test, a notebook or a deployment.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.settings import get_current_settings

from features.builders import FeatureSettings, unused_attributes
from features.contract import ContractError, Problem
from features.labels import churn_labels, survey_answers
from features.loaders import load_sentiment_scorer, load_tables
from features.registry import churn_directions
from features.sentiment import scorer_name, with_sentiment
from features.tables import Tables, instant
from features.training_sets import build_training_set, churn_rows, labelled_cutoffs
from models.artifact import ModelMismatch, Recipe, TrainedModel, recipe_differences, recipe_warnings
from models.baselines import churn_baselines
from models.bias import fit_satisfaction_corrected
from models.card import model_card, model_card_markdown
from models.drift import drift_summary
from models.monitoring import NotYetKnown, performance_alert, realised_performance
from models.plots import training_figures
from models.scoring import score_customers
from models.tracking import (
    CHURN_MODEL,
    SATISFACTION_MODEL,
    MissingModelError,
    TrainingRun,
    evaluation_history,
    finished_training,
    load_champion,
    load_churn_champion,
    load_model_version,
    log_evaluation,
    log_summary,
    log_training,
    model_card_of,
    promotion_decisions,
    training_record,
    training_run,
)
from models.training import churn_reason_stability, feature_columns, fit_churn
from pipelines.cache import cached_frame, config_hash, digest
from pipelines.config import Config, ConfigError, load_config
from pipelines.distributed import dask_client, rows_by_partition, scored_by_chunk, training_sets_by_partition
from pipelines.progress import durations, staged
from pipelines.report import report_context, write_report
from pipelines.writers import (
    complete_dates,
    exclusive,
    prediction_folder_name,
    previous_predictions,
    read_manifest,
    write_predictions,
)

USER_ERRORS = (ContractError, ConfigError, MissingModelError, NotYetKnown, ModelMismatch)
LOG = logging.getLogger(__name__)
TRAINING_LOCK = ".training.lock"
SCORING_LOCK = ".scoring.lock"


def retry_unless_user_error(task, task_run, state) -> bool:
    """Retry I/O hiccups, never bad input or a missing model: those fail the same way every time."""
    return not isinstance(state.result(raise_on_failure=False), USER_ERRORS)


class Step:
    """One step of a flow, shown on the progress display. Inside a Prefect flow run it is a Prefect task (seen in
    the UI, retried by Prefect); outside one it is the plain function with the same retries, so a command run
    without a Prefect API starts no temporary server. Frames pass between steps, so nothing is cached."""

    def __init__(self, label: str, function, retries: int = 0, retry_delay_seconds: tuple[int, ...] = ()):
        self.label, self.function, self.retries, self.delays = label, function, retries, tuple(retry_delay_seconds)
        self.run = staged(label, function)
        retrying = (
            {
                "retries": retries,
                "retry_delay_seconds": list(self.delays),
                "retry_condition_fn": retry_unless_user_error,
            }
            if retries
            else {}
        )
        self.task = task(self.run, name=function.__name__, cache_policy=NO_CACHE, **retrying)

    def with_options(self, **options) -> Step:
        return Step(
            self.label, self.function, **{"retries": self.retries, "retry_delay_seconds": self.delays} | options
        )

    def __call__(self, *args, **kwargs):
        if FlowRunContext.get() is not None:
            return self.task(*args, **kwargs)
        for delay in self.delays[: self.retries]:
            try:
                return self.run(*args, **kwargs)
            except USER_ERRORS:
                raise
            except Exception:
                time.sleep(delay)
        return self.run(*args, **kwargs)


step = Step


def run_flow(flow, **parameters):
    """A flow run through Prefect when there is a Prefect to report to (an API is configured, or this is inside
    another flow run), else its plain function: the same steps, without starting a temporary Prefect server."""
    if FlowRunContext.get() is not None or get_current_settings().api.url:
        return flow(**parameters)
    return flow.fn(**parameters)


load_tables_task = step("Loading and validating tables", load_tables, retries=2, retry_delay_seconds=[2, 10])
score_mentions_task = step("Scoring mention sentiment", with_sentiment)
build_training_set_task = step("Building training sets over cutoffs and survey answers", build_training_set)
fit_churn_task = step("Training churn model", fit_churn)
fit_satisfaction_task = step("Training satisfaction model, correcting survey response bias", fit_satisfaction_corrected)
churn_baselines_task = step("Scoring churn baselines on the same rows", churn_baselines)
promotion_decisions_task = step(
    "Comparing with the champion (promotion gate)", promotion_decisions, retries=2, retry_delay_seconds=[2, 10]
)
reason_stability_task = step("Checking reason stability across seeds", churn_reason_stability)
figures_task = step("Drawing SHAP and reliability plots", training_figures)
log_training_task = step(
    "Logging to MLflow and registering champions", log_training, retries=2, retry_delay_seconds=[2, 10]
)
load_churn_champion_task = step(
    "Loading champion churn model", load_churn_champion, retries=2, retry_delay_seconds=[2, 10]
)
load_champion_task = step("Loading champion satisfaction model", load_champion, retries=2, retry_delay_seconds=[2, 10])
churn_rows_task = step("Building features", churn_rows)
score_customers_task = step("Scoring customers and explaining scores", score_customers)
write_predictions_task = step("Writing predictions", write_predictions, retries=2, retry_delay_seconds=[2, 10])
write_report_task = step("Writing report", write_report, retries=2, retry_delay_seconds=[2, 10])
training_sets_by_partition_task = step(
    "Building training sets per customer partition on the Dask cluster", training_sets_by_partition
)
rows_by_partition_task = step("Building features per customer partition on the Dask cluster", rows_by_partition)
scored_by_chunk_task = step("Scoring customers and explaining scores on the Dask cluster", scored_by_chunk)


@flow(name="train")
def train_flow(config_path: str | None = None, data: str | None = None, out: str | None = None) -> dict:
    """Trains both models out of time, scores baselines, logs everything to MLflow; the gate picks champions.

    One training at a time per work folder. Unchanged data and config since the last finished
    training run: nothing to learn, the run is skipped.
    """
    config = load_config(config_path, data, out)
    durations()
    with exclusive(Path(config.out) / TRAINING_LOCK, "training"):
        scorer = load_sentiment_scorer(config.out)
        tables = score_mentions_task(input_tables(config), scorer)
        fingerprint, settings_hash = tables.fingerprint, config_hash(config)
        if previous := finished_training(config.out, fingerprint, settings_hash):
            return previous | {"skipped": True}
        with training_run(config.out, fingerprint, settings_hash) as run_id, cluster(config) as client:
            summary = train_and_log(config, tables, scorer, run_id, fingerprint, client) | {"steps": durations()}
            log_summary(config.out, run_id, summary)
    return {"run_id": run_id, "skipped": False, **summary}


def train_and_log(config: Config, tables: Tables, scorer, run_id: str, fingerprint: str, client) -> dict:
    definition = config.churn.resolved(tables)
    cutoffs = labelled_cutoffs(tables, config.cutoffs, definition)
    warn_unused_attributes(tables, config.features)
    if client is None:
        rows = build_training_set_task(tables, cutoffs, definition, config.features)
    else:
        rows = training_sets_by_partition_task(
            client, tables, cutoffs, definition, config.features, config.executor.partitions
        )
    recipe = Recipe(
        kind="churn",
        churn=definition,
        features=config.features,
        sources=tables.event_sources,
        feature_names=tuple(feature_columns(rows.churn)),
        survey_scale=config.satisfaction.scale,
    )
    directions = churn_directions(recipe.catalogue)
    churn, evaluation = fit_churn_task(rows.churn, recipe, config.model, directions)
    now = scoring_rows(config, tables, recipe, tables.data_end, client)
    satisfaction_fit, segment_nps = fit_satisfaction_task(
        rows,
        tables,
        now,
        recipe.model_copy(update={"kind": "satisfaction"}),
        cutoffs[-1],
        config.model,
        config.satisfaction,
    )
    satisfaction, satisfaction_evaluation = satisfaction_fit or (None, None)
    baselines = churn_baselines_task(
        rows.churn,
        churn.feature_names,
        evaluation.split.train,
        evaluation.split.valid,
        definition.horizon_days,
        config.model.seed,
    )
    decisions = promotion_decisions_task(
        config.out, churn, evaluation, satisfaction, rows.churn, baselines, config.promotion
    )
    stability = reason_stability_task(rows.churn, churn, evaluation, config.model, directions)
    card = model_card(tables.event_sources, scorer_name(scorer), cutoffs, churn, satisfaction) | {
        "segment_nps": segment_nps,
        "churn_reason_stability": stability,
    }
    figures = figures_task(churn, evaluation, satisfaction, rows.churn, rows.satisfaction, config.model.seed)
    run = TrainingRun(
        churn,
        evaluation,
        satisfaction,
        satisfaction_evaluation,
        config.model_dump(mode="json"),
        cutoffs,
        card,
        model_card_markdown(card, baselines, decisions, fingerprint),
        baselines,
        decisions,
        figures,
    )
    log_training_task(config.out, run_id, run)
    return {"card": card, "baselines": baselines, "decisions": {k: d.__dict__ for k, d in decisions.items()}}


def warn_unused_attributes(tables: Tables, settings: FeatureSettings) -> None:
    """A source of customers alone learns only from their attributes: say which ones the config leaves out."""
    unused = unused_attributes(tables, settings)
    if not tables.event_sources and unused:
        LOG.warning(
            "customers has %d columns not used as features (%s): the source has no events, so list the ones to learn from in features.customer_attributes.",
            len(unused),
            ", ".join(unused[:20]),
        )


def input_tables(config: Config) -> Tables:
    return load_tables_task(config.data, config.satisfaction.scale, config.unknown_customers, config.sql_options)


def cluster(config: Config):
    """A Dask client when the config says `executor: dask`, else a context holding None (one process)."""
    return (
        dask_client(config.executor.address, config.executor.workers)
        if config.executor.kind == "dask"
        else nullcontext()
    )


def scoring_rows(config: Config, tables: Tables, recipe: Recipe, as_of: pd.Timestamp, client=None) -> pd.DataFrame:
    """Features, status and churn kind of every customer who can churn at `as_of`, under the model's recipe;
    reused from the cache when data and recipe are unchanged."""
    key = digest(
        tables.fingerprint, recipe.churn.model_dump(mode="json"), recipe.features.model_dump(mode="json"), str(as_of)
    )

    def compute() -> pd.DataFrame:
        if client is None:
            return churn_rows_task(tables, as_of, recipe.churn, recipe.features)
        return rows_by_partition_task(client, tables, as_of, recipe.churn, recipe.features, config.executor.partitions)

    return cached_frame(Path(config.out) / "cache" / "features", key, compute)


def configured_recipe(config: Config, tables: Tables) -> Recipe:
    """The recipe a model trained now on these tables would carry (features need no model)."""
    definition = config.churn.resolved(tables)
    return Recipe(
        kind="churn",
        churn=definition,
        features=config.features,
        sources=tables.event_sources,
        feature_names=(),
        survey_scale=config.satisfaction.scale,
    )


@flow(name="build_features")
def build_features_flow(
    as_of: str | None = None, config_path: str | None = None, data: str | None = None, out: str | None = None
) -> dict:
    """Features of every active customer at `as_of` (default: the day after the data's last event), cached."""
    config = load_config(config_path, data, out)
    tables = score_mentions_task(input_tables(config), load_sentiment_scorer(config.out))
    scoring_date = instant(as_of) if as_of else tables.data_end
    with cluster(config) as client:
        rows = scoring_rows(config, tables, configured_recipe(config, tables), scoring_date, client)
    return {"as_of": str(scoring_date.date()), "customers": len(rows), "features": len(feature_columns(rows))}


@flow(name="score")
def score_flow(
    as_of: str | None = None, config_path: str | None = None, data: str | None = None, out: str | None = None
) -> dict:
    """Scores every active customer with the champions at `as_of`, or, by default, at the dates the catch-up
    policy picks (the day after the data's last event, plus any missed calendar dates when `catch_up: all`).
    One scoring run at a time per work folder: a second one stops at once and changes nothing."""
    config = load_config(config_path, data, out)
    root = Path(config.out) / "predictions"
    with exclusive(root / SCORING_LOCK, "scoring"):
        tables = score_mentions_task(input_tables(config), load_sentiment_scorer(config.out))
        churn = load_churn_champion_task(config.out)
        satisfaction = load_champion_task(config.out, SATISFACTION_MODEL)
        checked_models(config, tables, churn, satisfaction)
        dates = [instant(as_of)] if as_of else config.scoring.due_dates(complete_dates(root), tables.data_end)
        with cluster(config) as client:
            results = [score_one_date(config, tables, date, churn, satisfaction, client) for date in dates]
    return results[-1] | {"scored_dates": [r["as_of"] for r in results if not r["skipped"]]}


def checked_models(config: Config, tables: Tables, churn: TrainedModel, satisfaction: TrainedModel | None) -> None:
    """Stops with every way the config or source contradicts the champions; warns of what it only weakens."""
    differences = recipe_differences(churn.recipe, config.churn, config.features, tables)
    if satisfaction is not None and satisfaction.recipe.model_copy(
        update={"kind": "churn", "feature_names": ()}
    ) != churn.recipe.model_copy(update={"feature_names": ()}):
        differences.append(
            f"the satisfaction champion (v{satisfaction.version}) was trained with other settings or sources than the churn champion (v{churn.version}): retrain both."
        )
    if differences:
        raise ModelMismatch(differences)
    for warning in recipe_warnings(churn.recipe, tables):
        LOG.warning(warning)


def score_one_date(
    config: Config,
    tables: Tables,
    scoring_date: pd.Timestamp,
    churn: TrainedModel,
    satisfaction: TrainedModel | None,
    client=None,
) -> dict:
    """Predictions, manifest and report for one date; skipped when the same data, config and models already made them."""
    out = Path(config.out)
    folder = out / "predictions" / prediction_folder_name(scoring_date)
    report = out / "reports" / prediction_folder_name(scoring_date) / "report.html"
    provenance = {
        "churn_model_version": churn.version,
        "satisfaction_model_version": satisfaction.version if satisfaction else "",
        "run_id": churn.run_id,
        "data_fingerprint": tables.fingerprint,
        "config_hash": config_hash(config),
    }
    if (
        (manifest := read_manifest(folder))
        and all(manifest.get(k) == v for k, v in provenance.items())
        and report.exists()
    ):
        return {
            "as_of": str(scoring_date.date()),
            "predictions": str(folder),
            "report": str(report),
            "customers": manifest["rows"],
            "skipped": True,
        }
    rows = scoring_rows(config, tables, churn.recipe, scoring_date, client)
    if rows.empty:
        raise ContractError(
            [
                Problem(
                    "customers",
                    None,
                    f"no customer can churn on {scoring_date.date()} (signed up before it, no contract ended): there is nobody to score.",
                )
            ]
        )
    arguments = (scoring_date, churn, satisfaction, churn.recipe.catalogue, config.scoring, config.language)
    if client is None:
        scored = score_customers_task(rows, *arguments)
    else:
        scored = scored_by_chunk_task(client, rows, *arguments, chunks=config.executor.partitions)
    drift = drift_summary(
        churn.profile,
        rows[churn.feature_names],
        scored.predictions["churn_probability"].to_numpy(),
        config.monitoring.drift_threshold,
    )
    previous = previous_predictions(out / "predictions", scoring_date)
    write_predictions_task(scored.predictions, out, scoring_date, config.output.csv, provenance | {"drift": drift})
    context = report_context(
        config,
        tables,
        scored,
        churn,
        satisfaction,
        drift,
        previous,
        model_card_of(config.out, churn),
        evaluation_history(out),
    )
    write_report_task(context, report)
    return {
        "as_of": str(scoring_date.date()),
        "predictions": str(folder),
        "report": str(report),
        "customers": len(scored.predictions),
        "skipped": False,
    }


@flow(name="retrain")
def retrain_flow(config_path: str | None = None, data: str | None = None, out: str | None = None) -> dict:
    """Train, let the gate decide, then score with whichever model is champion."""
    trained = run_flow(train_flow, config_path=config_path, data=data, out=out)
    return {"train": trained, "score": run_flow(score_flow, as_of=None, config_path=config_path, data=data, out=out)}


@flow(name="evaluate")
def evaluate_flow(as_of: str, config_path: str | None = None, data: str | None = None, out: str | None = None) -> dict:
    """Compares the predictions made at `as_of` with what customers did in the horizon since; logs it to MLflow."""
    config = load_config(config_path, data, out)
    scoring_date = instant(as_of)
    folder = Path(config.out) / "predictions" / prediction_folder_name(scoring_date)
    if read_manifest(folder) is None:
        raise NotYetKnown(
            f"no complete predictions for {scoring_date.date()} in {folder.parent}: score that date first (surveyless score --as-of {scoring_date.date()})"
        )
    tables = input_tables(config)
    predictions = pd.read_parquet(folder / "predictions.parquet")
    version, run_id = predictions["churn_model_version"].iloc[0], predictions["run_id"].iloc[0]
    definition = load_model_version(config.out, CHURN_MODEL, version).recipe.churn
    horizon_end = scoring_date + definition.horizon
    if horizon_end > tables.data_end:
        raise NotYetKnown(
            f"the {definition.horizon_days}-day horizon after {scoring_date.date()} ends {horizon_end.date()}, after the data's last day {(tables.data_end - pd.Timedelta(days=1)).date()}"
        )
    answers = survey_answers(tables, scoring_date, horizon_end)
    labels = churn_labels(tables, scoring_date, definition, pd.Index(predictions["customer_id"]))
    realised = realised_performance(predictions, labels, answers, config.model.seed)
    validation, last_training_cutoff = training_record(config.out, run_id)
    realised["in_sample"] = bool(
        scoring_date < last_training_cutoff + definition.horizon
    )  # the model learned outcomes from this window
    alert = performance_alert(realised, validation.get("roc_auc"), config.monitoring.max_auc_drop)
    evaluation_run = log_evaluation(config.out, scoring_date, version, run_id, realised, alert)
    return {
        "as_of": str(scoring_date.date()),
        "churn_model_version": version,
        "realised": realised,
        "alert": alert,
        "mlflow_run_id": evaluation_run,
    }
