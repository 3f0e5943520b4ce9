"""Prefect flows: they wire steps (`pipelines.steps`) around the pure functions of `features` and `models`.

Flows take only simple parameters (paths, dates) so deployments and schedules stay trivial; the same flow runs
from the CLI, a test, a notebook or a deployment (`pipelines.steps.run_flow`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd
from prefect import flow

from features.builders import FeatureSettings, unused_attributes
from features.contract import ContractError, Problem
from features.labels import ChurnDefinition, churn_labels, survey_answers
from features.loaders import load_sentiment_scorer, shown_source
from features.registry import churn_directions
from features.sentiment import scorer_name
from features.tables import Tables, instant, released_arrow_memory
from features.training_sets import labelled_cutoffs
from models.artifact import ModelMismatch, Recipe, TrainedModel, recipe_differences, recipe_warnings
from models.card import model_card, model_card_markdown
from models.drift import drift_summary
from models.gate import promotion_decisions
from models.monitoring import NotYetKnown, performance_alert, realised_performance
from models.prediction_file import COLUMN_NAMES
from models.scoring import Scored
from models.tracking.registry import CHURN_MODEL, REGISTERED, SATISFACTION_MODEL, load_model_version
from models.tracking.runs import (
    TrainingRun,
    finished_training,
    log_summary,
    model_card_of,
    training_record,
    training_run,
)
from models.training import feature_columns
from pipelines.cache import cached_frame, config_hash, digest
from pipelines.config import Config, load_config
from pipelines.executors import Executor, Reading, executor
from pipelines.logs import append_evaluation, append_promotions, evaluation_history
from pipelines.progress import durations
from pipelines.report import priority_list, report_context
from pipelines.steps import (
    baselines_step,
    figures_step,
    fit_churn_step,
    fit_satisfaction_step,
    load_champion_step,
    load_churn_champion_step,
    load_tables_step,
    log_evaluation_step,
    log_scoring_step,
    log_training_step,
    reason_stability_step,
    run_flow,
    score_mentions_step,
    scored_step,
    scoring_rows_step,
    standings_step,
    themes_step,
    training_rows_step,
    write_predictions_step,
    write_report_step,
)
from pipelines.writers import complete_dates, exclusive, prediction_folder_name, previous_predictions, read_manifest

LOG = logging.getLogger(__name__)
TRAINING_LOCK = ".training.lock"
SCORING_LOCK = ".scoring.lock"


@flow(name="train")
def train_flow(config_path: str | None = None, data: str | None = None, out: str | None = None) -> dict:
    """Trains both models, validated on customers they never saw, scores baselines, logs everything to MLflow; the
    gate picks champions. One training at a time per work folder; unchanged data and config since the last
    finished training run: nothing to learn, the run is skipped."""
    config = load_config(config_path, data, out)
    durations()
    with exclusive(Path(config.out) / TRAINING_LOCK, "training"):
        scorer = load_sentiment_scorer(config.out)
        tables = score_mentions_step(input_tables(config), scorer)
        fingerprint, settings_hash = tables.fingerprint, config_hash(config)
        if previous := finished_training(config.out, fingerprint, settings_hash):
            return previous | {"skipped": True}
        with (
            training_run(config.out, fingerprint, settings_hash, tables.data_end) as run_id,
            executor(config.executor, reading(config, scorer)) as where,
        ):
            summary = train_and_log(config, tables, scorer, run_id, where) | {"steps": durations()}
            log_summary(config.out, run_id, summary)
    return {"run_id": run_id, "skipped": False, **summary}


def train_and_log(config: Config, tables: Tables, scorer, run_id: str, where: Executor) -> dict:
    definition = config.churn.resolved(tables)
    cutoffs = labelled_cutoffs(tables, config.cutoffs, definition)
    warn_unused_attributes(tables, config.features)
    features = themes_step(config.features, tables, config.model.seed)
    rows = training_rows_step(where, tables, cutoffs, definition, features)
    recipe = recipe_for(config, tables, definition, features, tuple(feature_columns(rows.churn)))
    directions = churn_directions(recipe.catalogue)
    churn, evaluation = fit_churn_step(rows.churn, recipe, config.model, directions)
    if churn.calibration is None:
        LOG.warning(
            "the churn model's validation rows hold one outcome only, so its probabilities are not calibrated: "
            "more customers or history at the last cutoff give calibrated ones."
        )
    now = rows_at(config, tables, recipe, tables.data_end, where)
    for_satisfaction = recipe.model_copy(update={"kind": "satisfaction"})
    fitted, segment_nps = fit_satisfaction_step(
        rows, tables, now, for_satisfaction, cutoffs[-1], config.model, config.satisfaction
    )
    satisfaction, satisfaction_evaluation = fitted or (None, None)
    split = evaluation.split
    baselines = baselines_step(
        rows.churn, churn.feature_names, split.train, split.valid, definition.horizon_days, config.model.seed
    )
    standings = standings_step(config.out, REGISTERED)
    decisions = promotion_decisions(
        churn, rows.churn, split.valid, baselines, satisfaction, standings, config.promotion
    )
    stability = reason_stability_step(rows.churn, churn, evaluation, config.model, directions)
    card = model_card(tables.event_sources, scorer_name(scorer), cutoffs, churn, satisfaction)
    card |= {"segment_nps": segment_nps, "churn_reason_stability": stability}
    figures = figures_step(churn, evaluation, satisfaction, rows.churn, rows.satisfaction, config.model.seed)
    datasets = {"churn training rows": rows.churn} | (
        {"survey answers": rows.satisfaction} if rows.satisfaction is not None else {}
    )
    markdown = model_card_markdown(card, baselines, decisions, tables.fingerprint)
    params = config.model_dump(mode="json")
    run = TrainingRun(
        churn,
        evaluation,
        satisfaction,
        satisfaction_evaluation,
        params,
        cutoffs,
        card,
        markdown,
        baselines,
        decisions,
        datasets,
        shown_source(config.data),
        tables.fingerprint,
        figures,
    )
    versions = log_training_step(config.out, run_id, run)
    append_promotions(config.out, run_id, versions, decisions)
    return {
        "card": card,
        "baselines": baselines,
        "decisions": {REGISTERED[k]: d.__dict__ for k, d in decisions.items()},
    }


def recipe_for(
    config: Config,
    tables: Tables,
    definition: ChurnDefinition,
    features: FeatureSettings,
    feature_names: tuple[str, ...],
) -> Recipe:
    return Recipe(
        kind="churn",
        churn=definition,
        features=features,
        sources=tables.event_sources,
        feature_names=feature_names,
        survey_scale=config.satisfaction.scale,
    )


def warn_unused_attributes(tables: Tables, settings: FeatureSettings) -> None:
    """A source of customers alone learns only from their attributes: say which ones the config leaves out."""
    unused = unused_attributes(tables, settings)
    if not tables.event_sources and unused:
        LOG.warning(
            "customers has %d columns not used as features (%s): the source has no events, so list the ones to learn "
            "from in features.customer_attributes.",
            len(unused),
            ", ".join(unused[:20]),
        )


def input_tables(config: Config) -> Tables:
    return load_tables_step(config.data, config.satisfaction.scale, config.unknown_customers, config.sql)


def reading(config: Config, scorer) -> Reading:
    return Reading(config.data, config.satisfaction.scale, config.unknown_customers, scorer)


def rows_at(config: Config, tables: Tables, recipe: Recipe, as_of: pd.Timestamp, where: Executor) -> pd.DataFrame:
    """Features, status and churn kind of every customer who can churn at `as_of`, under the model's recipe;
    reused from the cache when data and recipe are unchanged."""
    key = digest(
        tables.fingerprint, recipe.churn.model_dump(mode="json"), recipe.features.model_dump(mode="json"), str(as_of)
    )

    def compute() -> pd.DataFrame:
        return scoring_rows_step(where, tables, as_of, recipe.churn, recipe.features)

    return cached_frame(Path(config.out) / "cache" / "features", key, compute)


@flow(name="build_features")
def build_features_flow(
    as_of: str | None = None, config_path: str | None = None, data: str | None = None, out: str | None = None
) -> dict:
    """Features of every customer who can churn at `as_of` (default: the day after the data's last event), cached."""
    config = load_config(config_path, data, out)
    scorer = load_sentiment_scorer(config.out)
    tables = score_mentions_step(input_tables(config), scorer)
    scoring_date = within_data(instant(as_of), tables) if as_of else tables.data_end
    with executor(config.executor, reading(config, scorer)) as where:
        rows = rows_at(
            config,
            tables,
            recipe_for(config, tables, config.churn.resolved(tables), config.features, ()),
            scoring_date,
            where,
        )
    return {"as_of": str(scoring_date.date()), "customers": len(rows), "features": len(feature_columns(rows))}


@flow(name="score")
def score_flow(
    as_of: str | None = None, config_path: str | None = None, data: str | None = None, out: str | None = None
) -> dict:
    """Scores the whole base with the champions at `as_of`, or, by default, at the dates the catch-up policy picks
    (the day after the data's last event, plus any missed calendar dates when `catch_up: all`). One scoring run at
    a time per work folder: a second one stops at once and changes nothing."""
    config = load_config(config_path, data, out)
    root = Path(config.out) / "predictions"
    with exclusive(root / SCORING_LOCK, "scoring"):
        scorer = load_sentiment_scorer(config.out)
        tables = score_mentions_step(input_tables(config), scorer)
        churn = load_churn_champion_step(config.out)
        satisfaction = load_champion_step(config.out, SATISFACTION_MODEL)
        checked_models(config, tables, churn, satisfaction)
        dates = (
            [within_data(instant(as_of), tables)]
            if as_of
            else config.scoring.due_dates(complete_dates(root), tables.data_end)
        )
        with executor(config.executor, reading(config, scorer)) as where:
            results = [score_one_date(config, tables, date, churn, satisfaction, where) for date in dates]
    return results[-1] | {"scored_dates": [r["as_of"] for r in results if not r["skipped"]]}


def within_data(as_of: pd.Timestamp, tables: Tables) -> pd.Timestamp:
    """A date after the day after the data's last event would score customers on a silence that is only missing
    data: every one of them would look like leaving."""
    if as_of > tables.data_end:
        last_day = (tables.data_end - pd.Timedelta(days=1)).date()
        raise NotYetKnown(
            f"--as-of {as_of.date()} is after the data's last day {last_day}: scores there would read the missing "
            f"days as customers going quiet. Use a date up to {tables.data_end.date()}, or load newer data."
        )
    return as_of


def checked_models(config: Config, tables: Tables, churn: TrainedModel, satisfaction: TrainedModel | None) -> None:
    """Stops with every way the config or source contradicts the champions; warns of what it only weakens."""
    differences = recipe_differences(churn.recipe, config.churn, config.features, tables)
    same = satisfaction is None or satisfaction.recipe.model_copy(
        update={"kind": "churn", "feature_names": ()}
    ) == churn.recipe.model_copy(update={"feature_names": ()})
    if not same:
        differences.append(
            f"the satisfaction champion (v{satisfaction.version}) was trained with other settings or sources than the "
            f"churn champion (v{churn.version}): retrain both."
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
    where: Executor,
) -> dict:
    """Predictions, manifest, report and a scoring run for one date; skipped when the same data, config and models
    already made them."""
    out = Path(config.out)
    folder = out / "predictions" / prediction_folder_name(scoring_date)
    report = out / "reports" / prediction_folder_name(scoring_date) / "report.html"
    outcome = {"as_of": str(scoring_date.date()), "predictions": str(folder), "report": str(report)}
    provenance = {
        "churn_model_version": churn.version,
        "satisfaction_model_version": satisfaction.version if satisfaction else "",
        "run_id": churn.run_id,
        "data_fingerprint": tables.fingerprint,
        "config_hash": config_hash(config),
    }
    manifest = read_manifest(folder)
    if manifest and all(manifest.get(k) == v for k, v in provenance.items()) and report.exists():
        return outcome | {"customers": manifest["rows"], "skipped": True}
    scored, drift = scored_with_drift(config, tables, scoring_date, churn, satisfaction, where)
    previous = previous_predictions(out / "predictions", scoring_date)
    write_predictions_step(scored.predictions, out, scoring_date, config.output.csv, provenance | {"drift": drift})
    card, history = model_card_of(config.out, churn), evaluation_history(out)
    ranked = priority_list(scored, tables.customers, config.report.owner_attribute, previous)
    scored = replace(scored, predictions=ranked[list(COLUMN_NAMES)])  # written: the ranked copy serves from here on
    released_arrow_memory()  # the unranked rows' strings: 0.8 GB at a million customers
    context = report_context(config, tables, scored, ranked, churn, satisfaction, drift, previous, card, history)
    write_report_step(context, report, ranked if config.report.priority_list_csv else None)
    log_scoring_step(config.out, scoring_date, scoring_counts(scored.predictions), drift, provenance)
    return outcome | {"customers": len(scored.predictions), "skipped": False}


def scored_with_drift(
    config: Config,
    tables: Tables,
    scoring_date: pd.Timestamp,
    churn: TrainedModel,
    satisfaction: TrainedModel | None,
    where: Executor,
) -> tuple[Scored, dict]:
    """Every customer who can churn scored with reasons, and how far their features drifted from training: the
    features are freed on return, before the report (0.6 GB at a million customers)."""
    rows = rows_at(config, tables, churn.recipe, scoring_date, where)
    if rows.empty:
        nobody = (
            f"no customer can churn on {scoring_date.date()} (signed up before it, no contract ended): "
            "there is nobody to score."
        )
        raise ContractError([Problem("customers", None, nobody)])
    scored = scored_step(
        where, rows, scoring_date, churn, satisfaction, churn.recipe.catalogue, config.scoring, config.language
    )
    probabilities = scored.predictions["churn_probability"].to_numpy()
    growing = tuple(name for name in churn.feature_names if churn.recipe.catalogue[name].grows_with_time)
    drift = drift_summary(
        churn.profile, rows[churn.feature_names], probabilities, config.monitoring.drift_threshold, growing
    )
    return scored, drift


def scoring_counts(predictions: pd.DataFrame) -> dict[str, int]:
    """How many customers a scoring run scored, by status and risk band, and how many sit in the control group."""
    counts = {"scored": len(predictions), "control_group": int(predictions["control_group"].sum())}
    counts |= {f"status_{k}": int(v) for k, v in predictions["status"].value_counts().items()}
    return counts | {f"risk_{k}": int(v) for k, v in predictions["churn_risk"].value_counts().items()}


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
            f"no complete predictions for {scoring_date.date()} in {folder.parent}: score that date first "
            f"(surveyless score --as-of {scoring_date.date()})"
        )
    tables = input_tables(config)
    predictions = pd.read_parquet(folder / "predictions.parquet")
    version, run_id = predictions["churn_model_version"].iloc[0], predictions["run_id"].iloc[0]
    definition = load_model_version(config.out, CHURN_MODEL, version).recipe.churn
    horizon_end = scoring_date + definition.horizon
    if horizon_end > tables.data_end:
        last_day = (tables.data_end - pd.Timedelta(days=1)).date()
        raise NotYetKnown(
            f"the {definition.horizon_days}-day horizon after {scoring_date.date()} ends {horizon_end.date()}, after "
            f"the data's last day {last_day}"
        )
    answers = survey_answers(tables, scoring_date, horizon_end)
    labels = churn_labels(tables, scoring_date, definition, pd.Index(predictions["customer_id"]))
    realised = realised_performance(predictions, labels, answers, config.model.seed)
    validation, last_training_cutoff = training_record(config.out, run_id)
    realised["in_sample"] = bool(
        scoring_date < last_training_cutoff + definition.horizon
    )  # the model learned these outcomes
    alert = performance_alert(realised, validation.get("roc_auc"), config.monitoring.max_auc_drop)
    evaluation_run = log_evaluation_step(config.out, scoring_date, version, run_id, realised, alert)
    append_evaluation(config.out, scoring_date, version, realised, alert, evaluation_run)
    return {
        "as_of": str(scoring_date.date()),
        "churn_model_version": version,
        "horizon_days": definition.horizon_days,
        "realised": realised,
        "alert": alert,
        "mlflow_run_id": evaluation_run,
    }
