"""Prefect flows: they wire tasks around the pure functions of `features` and `models`, nothing more.

Flows take only simple parameters (paths, dates) so deployments and schedules stay trivial; the
same flow runs from the CLI, a test, a notebook or a deployment.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from features.builders import build_features, catalogue_for
from features.contract import ContractError
from features.labels import active_customers
from features.loaders import load_sentiment_scorer, load_tables
from features.registry import churn_directions
from features.sentiment import scorer_name, with_sentiment
from features.training_sets import build_training_set, labelled_cutoffs
from models.baselines import churn_baselines
from models.bias import fit_satisfaction_corrected
from models.card import model_card, model_card_markdown
from models.plots import training_figures
from models.scoring import score_customers
from models.tracking import SATISFACTION_MODEL, MissingModelError, TrainingRun, load_champion, load_churn_champion, log_training, promotion_decisions
from models.training import churn_reason_stability, fit_churn
from pipelines.config import ConfigError, load_config
from pipelines.progress import staged
from pipelines.report import write_report
from pipelines.writers import write_predictions


USER_ERRORS = (ContractError, ConfigError, MissingModelError)


def retry_unless_user_error(task, task_run, state) -> bool:
    """Retry I/O hiccups, never bad input or a missing model: those fail the same way every time."""
    return not isinstance(state.result(raise_on_failure=False), USER_ERRORS)


def step(label: str, function, **options):
    """A Prefect task shown on the progress display; frames pass between tasks, so nothing is cached."""
    if options.get("retries"):
        options["retry_condition_fn"] = retry_unless_user_error
    return task(staged(label, function), name=function.__name__, cache_policy=NO_CACHE, **options)


load_tables_task = step("Loading and validating tables", load_tables, retries=2, retry_delay_seconds=[2, 10])
score_mentions_task = step("Scoring mention sentiment", with_sentiment)
build_training_set_task = step("Building training sets over cutoffs and survey answers", build_training_set)
fit_churn_task = step("Training churn model", fit_churn)
fit_satisfaction_task = step("Training satisfaction model, correcting survey response bias", fit_satisfaction_corrected)
churn_baselines_task = step("Scoring churn baselines on the same rows", churn_baselines)
promotion_decisions_task = step("Comparing with the champion (promotion gate)", promotion_decisions, retries=2, retry_delay_seconds=[2, 10])
reason_stability_task = step("Checking reason stability across seeds", churn_reason_stability)
figures_task = step("Drawing SHAP and reliability plots", training_figures)
log_training_task = step("Logging to MLflow and registering champions", log_training, retries=2, retry_delay_seconds=[2, 10])
load_churn_champion_task = step("Loading champion churn model", load_churn_champion, retries=2, retry_delay_seconds=[2, 10])
load_champion_task = step("Loading champion satisfaction model", load_champion, retries=2, retry_delay_seconds=[2, 10])
build_features_task = step("Building features", build_features)
score_customers_task = step("Scoring customers and explaining scores", score_customers)
write_predictions_task = step("Writing predictions", write_predictions, retries=2, retry_delay_seconds=[2, 10])
write_report_task = step("Writing report", write_report, retries=2, retry_delay_seconds=[2, 10])


@flow(name="train")
def train_flow(config_path: str | None = None, data: str | None = None, out: str | None = None) -> dict:
    """Trains both models out of time, scores baselines, logs everything to MLflow; the gate picks champions."""
    config = load_config(config_path, data, out)
    scorer = load_sentiment_scorer(config.out)
    tables = score_mentions_task(load_tables_task(config.data, config.satisfaction.scale), scorer)
    cutoffs = labelled_cutoffs(tables, config.cutoff_schedule, config.churn_definition)
    rows = build_training_set_task(tables, cutoffs, config.churn_definition, config.feature_settings)
    directions = churn_directions(catalogue_for(tables, config.feature_settings))
    churn = fit_churn_task(rows.churn, config.churn_definition.horizon, config.model.churn, config.model.seed, directions)
    now = build_features_task(tables, tables.data_end, config.feature_settings).reindex(active_customers(tables, tables.data_end, config.churn_definition))
    satisfaction, segment_nps = fit_satisfaction_task(rows, tables, now, cutoffs[-1], config.model.satisfaction, config.model.seed, config.satisfaction)
    baselines = churn_baselines_task(rows.churn, churn.feature_names, churn.split.train, churn.split.valid, tables, config.model.seed)
    decisions = promotion_decisions_task(config.out, churn, satisfaction, rows.churn, baselines, config.promotion)
    stability = reason_stability_task(rows.churn, churn, config.model.churn, config.model.seed, directions)
    card = model_card(tables.event_sources, scorer_name(scorer), cutoffs, churn, satisfaction) | {"segment_nps": segment_nps, "churn_reason_stability": stability}
    figures = figures_task(churn, satisfaction, rows.churn, rows.satisfaction, config.model.seed)
    fingerprint = tables.fingerprint()
    run = TrainingRun(churn, satisfaction, config.model_dump(mode="json"), fingerprint, cutoffs, card, model_card_markdown(card, baselines, decisions, fingerprint), baselines, decisions, figures)
    record = log_training_task(config.out, run)
    return {"run_id": record.run_id, "card": card, "baselines": baselines, "decisions": {k: d.__dict__ for k, d in decisions.items()}}


@flow(name="score")
def score_flow(as_of: str | None = None, config_path: str | None = None, data: str | None = None, out: str | None = None) -> dict:
    """Scores every active customer at `as_of` (default: the day after the data's last event) with the champions."""
    config = load_config(config_path, data, out)
    tables = score_mentions_task(load_tables_task(config.data, config.satisfaction.scale), load_sentiment_scorer(config.out))
    scoring_date = pd.Timestamp(as_of) if as_of else tables.data_end
    churn = load_churn_champion_task(config.out)
    satisfaction = load_champion_task(config.out, SATISFACTION_MODEL)
    population = active_customers(tables, scoring_date, config.churn_definition)
    features = build_features_task(tables, scoring_date, config.feature_settings).reindex(population)
    catalogue = catalogue_for(tables, config.feature_settings)
    scored = score_customers_task(features, scoring_date, churn, satisfaction, catalogue, config.satisfaction.scale)
    versions = {"churn_model_version": churn.version, "satisfaction_model_version": satisfaction.version if satisfaction else "", "run_id": churn.run_id}
    folder = write_predictions_task(scored.predictions, Path(config.out), scoring_date, config.output.csv, versions)
    report = write_report_task(scored, Path(config.out) / "reports" / f"as_of={scoring_date.date()}" / "report.html", config.output.report_customers, config.satisfaction.scale)
    return {"as_of": str(scoring_date.date()), "predictions": str(folder), "report": str(report), "customers": len(scored.predictions)}
