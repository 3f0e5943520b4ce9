"""LightGBM models for churn and satisfaction, validated on customers they never saw.

Factories return unfitted estimators; `fit_*` functions take training rows and return a
`TrainedModel` with its held-out `Evaluation`. No tracking or files here: `models.tracking` logs
what this returns.

Validation is honest: the customers whose rows validate a model never appear in its training rows.
When there are cutoffs whose churn horizon closed before the last one, the model trains on those
and validates on the last (out of time and out of customer); otherwise the split is by customer
alone, and the split's description says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import Field
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit

from features.settings import Settings
from features.training_sets import ROW_COLUMNS
from models.artifact import Blend, Recipe, TrainedModel
from models.drift import population_profile
from models.evaluation import churn_scores_report, satisfaction_report
from models.uncertainty import (
    calibrated,
    calibration_map,
    cross_fitted_calibration,
    cross_fitted_coverage,
    logit,
    residual_model,
)

MIN_SURVEY_ANSWERS = 30
SIGNATURE_ROWS = 200
VALIDATION_SHARE = 0.25
EARLY_STOPPING_SHARE = 0.2
EARLY_STOPPING_ROUNDS = 30
EARLY_STOPPING_GAIN = 1e-4  # log loss gained per round below this is noise: stop rather than add trees for it
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75)
MIN_BLEND_ROWS = 100


class BoosterSettings(Settings):
    """Defaults sized for per-customer reasons: exact TreeSHAP cost grows with trees and, steeply, with
    leaves; 7 leaves matched 31 in held-out churn AUC while explaining 11x faster (bench/reasons_speed.py).
    `n_estimators` is a ceiling: early stopping on customers held out of the training rows picks the count."""

    n_estimators: int = Field(300, gt=0, description="Most trees; early stopping on held-out customers may use fewer.")
    learning_rate: float = Field(
        0.1,
        gt=0,
        le=1,
        description="0.1 with early stopping matched 0.03 in held-out AUC (UCI and synthetic) in a third of the time.",
    )
    num_leaves: int = Field(7, ge=2)
    max_depth: int = Field(-1, description="-1: no limit beyond num_leaves.")
    min_child_samples: int = Field(50, ge=1)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)


class ModelSettings(Settings):
    seed: int = Field(42, description="Seed for splits and model training.")
    threads: int | None = Field(None, gt=0, description="Threads LightGBM may use; null: every core.")
    churn: BoosterSettings = BoosterSettings()
    satisfaction: BoosterSettings = Field(
        BoosterSettings(n_estimators=400, learning_rate=0.03, num_leaves=7, min_child_samples=100),
        description="Smaller trees than churn's: a few thousand survey answers overfit 31-leaf trees (measured in "
        "bench/synthetic_truth.py).",
    )


def booster_params(settings: BoosterSettings, seed: int, threads: int | None) -> dict:
    return {
        **settings.model_dump(),
        "subsample_freq": 1,
        "random_state": seed,
        "n_jobs": threads or os.cpu_count() or 1,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    }


def churn_classifier(
    *, settings: BoosterSettings, seed: int, threads: int | None = None, monotone: list[int] | None = None
) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(
        objective="binary", monotone_constraints=monotone, **booster_params(settings, seed, threads)
    )


def satisfaction_regressor(*, settings: BoosterSettings, seed: int, threads: int | None = None) -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(objective="regression", **booster_params(settings, seed, threads))


def model_matrix(rows: pd.DataFrame, feature_names: list[str]) -> pd.DataFrame:
    """The features LightGBM sees: text columns become categories (pandas' `str` is not accepted)."""
    matrix = rows[feature_names]
    text = [c for c in feature_names if not pd.api.types.is_numeric_dtype(matrix[c])]
    return matrix.astype(dict.fromkeys(text, "category"))


def feature_columns(rows: pd.DataFrame) -> list[str]:
    return [c for c in rows.columns if c not in ROW_COLUMNS]


@dataclass(frozen=True)
class Split:
    """Which rows train and which validate, and how that was decided (the model card says it)."""

    train: np.ndarray
    valid: np.ndarray
    method: str


@dataclass(frozen=True)
class Evaluation:
    """What a training run learned about its model on rows it held out."""

    split: Split
    held_out: pd.DataFrame
    sample: pd.DataFrame


def customers_of(rows: pd.DataFrame) -> np.ndarray:
    return rows.index.get_level_values("customer_id").to_numpy()


def among(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """values.isin(members) by hashing (numpy's isin compares text ids pairwise)."""
    return pd.Index(values).isin(members)


def held_out_customers(ids: np.ndarray, labels: np.ndarray, seed: int, share: float = VALIDATION_SHARE) -> np.ndarray:
    """A stratified `share` of these customers (one label each), drawn reproducibly."""
    if min(np.bincount(labels.astype(int), minlength=2)) >= 2:
        _, held = next(StratifiedShuffleSplit(n_splits=1, test_size=share, random_state=seed).split(ids, labels))
    else:
        _, held = next(GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed).split(ids, groups=ids))
    return ids[held]


def churn_split(rows: pd.DataFrame, horizon: pd.Timedelta, seed: int) -> Split:
    """Validate on a quarter of the customers at the last cutoff; train on the other customers only.

    Out of time as well when some cutoffs' horizons closed before the last cutoff: then only those train.
    """
    as_of = rows.index.get_level_values("as_of")
    customers = customers_of(rows)
    last = as_of.max()
    at_last = np.asarray(as_of == last)
    held = among(customers, held_out_customers(customers[at_last], rows["churned"].to_numpy()[at_last], seed))
    valid = at_last & held
    closed = np.asarray(as_of + horizon <= last)
    others = ~held
    if closed.any():
        train = closed & others
        cutoffs = as_of[train].nunique()
        method = (
            f"out of time and customer: trained on {cutoffs} cutoffs whose horizon closed by {last.date()} "
            f"({len(pd.unique(customers[train])):,} customers), "
            f"validated at cutoff {last.date()} on {valid.sum():,} other customers"
        )
    else:
        train = others
        method = (
            f"by customer: {valid.sum():,} customers held out at cutoff {last.date()} and never trained on; no "
            "cutoff's horizon closed before it, "
            "so training rows share its time window"
        )
    return Split(train=train, valid=valid, method=method)


def satisfaction_split(rows: pd.DataFrame, holdout_from: pd.Timestamp, seed: int) -> Split:
    """Answers from `holdout_from` on by half of the customers who gave them validate; earlier answers of the others
    train.
    Too few answers on either side: a quarter of the customers, grouped, whatever the date."""
    customers = customers_of(rows)
    late = rows["answered_at"].to_numpy() >= np.datetime64(holdout_from)
    late_customers = pd.unique(customers[late])
    held = (
        among(customers, held_out_customers(late_customers, np.zeros(len(late_customers)), seed, share=0.5))
        if late.any()
        else np.zeros(len(rows), bool)
    )
    valid, train = late & held, ~late & ~held
    if valid.sum() >= 20 and train.sum() >= 20:
        return Split(
            train=train,
            valid=valid,
            method=f"out of time and customer: answers from {holdout_from.date()} by "
            f"{len(pd.unique(customers[valid])):,} customers never trained on",
        )
    held = among(customers, held_out_customers(pd.unique(customers), np.zeros(len(pd.unique(customers))), seed))
    return Split(
        train=~held,
        valid=held,
        method=f"by customer: answers of {len(pd.unique(customers[held])):,} customers held out, whatever their date",
    )


def early_stopping_split(rows: pd.DataFrame, horizon: pd.Timedelta | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training rows split once more, like the validation split: a fifth of the customers at the latest cutoff
    to stop on, the other customers at cutoffs whose horizon closed before it to fit on; by customer alone
    when no horizon closed (or for survey answers, `horizon` None)."""
    customers = customers_of(rows)
    as_of = rows.index.get_level_values("as_of")
    last = as_of.max()
    closed = np.zeros(len(rows), bool) if horizon is None else np.asarray(as_of + horizon <= last)
    if closed.any():
        at_last = np.asarray(as_of == last)
        held = among(
            customers,
            held_out_customers(
                customers[at_last], rows["churned"].to_numpy()[at_last], seed, share=EARLY_STOPPING_SHARE
            ),
        )
        return np.flatnonzero(closed & ~held), np.flatnonzero(at_last & held)
    fit_rows, stop_rows = next(
        GroupShuffleSplit(n_splits=1, test_size=EARLY_STOPPING_SHARE, random_state=seed).split(
            customers, groups=customers
        )
    )
    return fit_rows, stop_rows


def tree_count(
    estimator_factory,
    matrix: pd.DataFrame,
    labels: np.ndarray,
    rows: pd.DataFrame,
    horizon: pd.Timedelta | None,
    seed: int,
    weights: np.ndarray | None = None,
) -> tuple[int, object, np.ndarray]:
    """Trees to use (early stopping on customers held out of the training rows, later than those it fits on
    where it can), the estimator fitted on the rest, and the rows it stopped on."""
    fit_rows, stop_rows = early_stopping_split(rows, horizon, seed)
    weights = np.ones(len(labels)) if weights is None else weights
    estimator = estimator_factory().fit(
        matrix.iloc[fit_rows],
        labels[fit_rows],
        sample_weight=weights[fit_rows],
        eval_X=matrix.iloc[stop_rows],
        eval_y=labels[stop_rows],
        eval_sample_weight=[weights[stop_rows]],
        callbacks=[
            lgb.early_stopping(
                EARLY_STOPPING_ROUNDS, first_metric_only=True, verbose=False, min_delta=EARLY_STOPPING_GAIN
            )
        ],
    )
    return max(int(estimator.best_iteration_ or estimator.n_estimators), 1), estimator, stop_rows


def prior_log_odds(rows: pd.DataFrame, feature: str | None) -> np.ndarray:
    """The buying-rhythm prior's log-odds for rows that churn by lapsing and have one; NaN elsewhere."""
    if feature is None or feature not in rows:
        return np.full(len(rows), np.nan)
    prior = logit(rows[feature].to_numpy(dtype=float))
    return np.where(rows["lapses"].to_numpy(dtype=bool), prior, np.nan)


def blended(raw: np.ndarray, prior: np.ndarray, weight: float) -> np.ndarray:
    return np.where(np.isnan(prior), raw, (1 - weight) * raw + weight * np.nan_to_num(prior))


def blend_weight(raw: np.ndarray, prior: np.ndarray, labels: np.ndarray) -> float:
    """The weight of the prior that gives the lowest log loss on held-out customers (0 without enough of them)."""
    has = ~np.isnan(prior)
    if has.sum() < MIN_BLEND_ROWS or len(np.unique(labels[has])) < 2:
        return 0.0
    y = labels[has]

    def loss(weight: float) -> float:
        p = 1 / (1 + np.exp(-blended(raw[has], prior[has], weight)))
        return float(-np.mean(y * np.log(np.clip(p, 1e-9, 1)) + (1 - y) * np.log(np.clip(1 - p, 1e-9, 1))))

    return min(BLEND_WEIGHTS, key=loss)


def churn_log_odds(model: TrainedModel, rows: pd.DataFrame) -> np.ndarray:
    """The model's uncalibrated churn log-odds: LightGBM's, blended with the buying-rhythm prior where it applies."""
    raw = model.booster.predict(model_matrix(rows, model.feature_names), raw_score=True)
    if model.blend is None:
        return raw
    return blended(raw, prior_log_odds(rows, model.blend.feature), model.blend.weight)


def churn_probability(model: TrainedModel, rows: pd.DataFrame) -> np.ndarray:
    """Calibrated churn probabilities."""
    return calibrated(1 / (1 + np.exp(-churn_log_odds(model, rows))), model.calibration)


def rhythm_prior_feature(recipe: Recipe) -> str | None:
    name = f"probability_no_order_{recipe.churn.horizon_days}d"
    return name if name in recipe.feature_names else None


def trained_churn_model(
    rows: pd.DataFrame, recipe: Recipe, settings: ModelSettings, directions: dict[str, int]
) -> TrainedModel:
    """LightGBM on these rows, with as many trees as help customers held out of them (early stopping, out of
    time where it can), and for customers who churn by lapsing the blend with BG/NBD's probability of no
    order in the horizon, at the weight those held-out customers favour: the prior earns its weight where
    the future looks unlike the past, which only a later cutoff shows. Uncalibrated; `fit_churn`
    validates and calibrates it.

    `directions` (+1, 0) become monotone constraints, so risk never falls as a bad signal grows.
    """
    names = list(recipe.feature_names)
    matrix, labels = model_matrix(rows, names), rows["churned"].to_numpy()
    constraints = [directions.get(name, 0) for name in names]

    def classifier() -> lgb.LGBMClassifier:
        return churn_classifier(
            settings=settings.churn, seed=settings.seed, threads=settings.threads, monotone=constraints
        )

    trees, stopped, stop_rows = tree_count(classifier, matrix, labels, rows, recipe.churn.horizon, settings.seed)
    prior_feature = rhythm_prior_feature(recipe)
    stop_frame = rows.iloc[stop_rows]
    weight = blend_weight(
        stopped.predict(model_matrix(stop_frame, names), raw_score=True),
        prior_log_odds(stop_frame, prior_feature),
        labels[stop_rows],
    )
    blend = (
        Blend(feature=prior_feature, weight=weight, reference=float(np.nanmean(prior_log_odds(rows, prior_feature))))
        if prior_feature and weight > 0
        else None
    )
    booster = settings.churn.model_copy(update={"n_estimators": trees})
    refitted = churn_classifier(
        settings=booster, seed=settings.seed, threads=settings.threads, monotone=constraints
    ).fit(matrix, labels)
    return TrainedModel(refitted.booster_, recipe, {"trees": float(trees), "blend_weight": weight}, "", blend=blend)


def fit_churn(
    rows: pd.DataFrame, recipe: Recipe, settings: ModelSettings, directions: dict[str, int]
) -> tuple[TrainedModel, Evaluation]:
    """Validate on held-out customers, then refit on every labelled row, with the same trees and blend, for scoring."""
    names = list(recipe.feature_names)
    labels = rows["churned"].to_numpy()
    split = churn_split(rows, recipe.churn.horizon, settings.seed)
    evaluated = trained_churn_model(rows[split.train], recipe, settings, directions)
    held_out = 1 / (1 + np.exp(-churn_log_odds(evaluated, rows[split.valid])))
    metrics = (
        churn_scores_report(labels[split.valid], held_out, settings.seed)
        | cross_fitted_calibration(labels[split.valid], held_out, settings.seed)
        | evaluated.metrics
    )
    calibration = calibration_map(labels[split.valid], held_out)

    booster = settings.churn.model_copy(update={"n_estimators": int(evaluated.metrics["trees"])})
    estimator = churn_classifier(
        settings=booster,
        seed=settings.seed,
        threads=settings.threads,
        monotone=[directions.get(name, 0) for name in names],
    )
    final = TrainedModel(
        estimator.fit(model_matrix(rows, names), labels).booster_,
        recipe,
        metrics,
        split.method,
        calibration=calibration,
        blend=evaluated.blend,
    )
    as_of = rows.index.get_level_values("as_of")
    latest = rows[np.asarray(as_of == as_of.max())]
    profile = population_profile(latest[names], churn_probability(final, latest), settings.seed)
    validation = pd.DataFrame({"truth": labels[split.valid], "predicted": held_out})
    return replace(final, profile=profile), Evaluation(split, validation, rows[names].head(SIGNATURE_ROWS))


def fit_satisfaction(
    rows: pd.DataFrame | None,
    recipe: Recipe,
    holdout_from: pd.Timestamp,
    settings: ModelSettings,
    weights: np.ndarray | None = None,
) -> tuple[TrainedModel, Evaluation] | None:
    """None with fewer than MIN_SURVEY_ANSWERS answers: no satisfaction model beats one learned from noise.

    `weights` (one per answer) reweight training, e.g. against survey response bias.
    """
    if rows is None or len(rows) < MIN_SURVEY_ANSWERS:
        return None
    names = list(recipe.feature_names)
    matrix, scores = model_matrix(rows, names), rows["score"].to_numpy(dtype=float)
    split = satisfaction_split(rows, holdout_from, settings.seed)
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)

    def regressor(trees: int | None = None) -> lgb.LGBMRegressor:
        booster = (
            settings.satisfaction if trees is None else settings.satisfaction.model_copy(update={"n_estimators": trees})
        )
        return satisfaction_regressor(settings=booster, seed=settings.seed, threads=settings.threads)

    trees, evaluated, _ = tree_count(
        regressor,
        matrix[split.train],
        scores[split.train],
        rows[split.train],
        None,
        settings.seed,
        weights[split.train],
    )
    held_out = evaluated.predict(matrix[split.valid])
    metrics = satisfaction_report(scores[split.valid], held_out, settings.seed) | {
        "interval_coverage": cross_fitted_coverage(scores[split.valid], held_out, settings.seed),
        "trees": float(trees),
    }
    final = regressor(trees).fit(matrix, scores, sample_weight=weights)
    validation = pd.DataFrame({"truth": scores[split.valid], "predicted": held_out})
    model = TrainedModel(
        final.booster_, recipe, metrics, split.method, residuals=residual_model(scores[split.valid], held_out)
    )
    return model, Evaluation(split, validation, rows[names].head(SIGNATURE_ROWS))


STABILITY_SEEDS = 3
STABILITY_ROWS = 20_000
STABILITY_CUSTOMERS = 2_000


def churn_reason_stability(
    rows: pd.DataFrame, churn: TrainedModel, evaluation: Evaluation, settings: ModelSettings, directions: dict[str, int]
) -> float:
    """Top-3 reason overlap between models trained with different seeds (on a sample of the training rows),
    read on a sample of the validation customers."""
    from models.explain import reason_stability

    names = churn.feature_names
    sample = rows[evaluation.split.train]
    sample = sample.sample(min(STABILITY_ROWS, len(sample)), random_state=settings.seed)
    matrix, labels = model_matrix(sample, names), sample["churned"].to_numpy()
    constraints = [directions.get(name, 0) for name in names]
    booster = settings.churn.model_copy(update={"n_estimators": int(churn.metrics["trees"])})
    refits = [
        churn_classifier(settings=booster, seed=settings.seed + k, threads=settings.threads, monotone=constraints)
        .fit(matrix, labels)
        .booster_
        for k in range(STABILITY_SEEDS)
    ]
    validation = model_matrix(rows[evaluation.split.valid], names)
    return reason_stability(
        refits, validation.sample(min(STABILITY_CUSTOMERS, len(validation)), random_state=settings.seed)
    )
