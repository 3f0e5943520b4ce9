"""LightGBM models for churn and satisfaction, split and evaluated out of time.

Factories return unfitted estimators; `fit_*` functions take a training set and return a fitted
model with its held-out metrics. No tracking or files here: `models.tracking` logs what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from models.drift import population_profile
from models.evaluation import churn_scores_report, satisfaction_report
from models.uncertainty import calibrated, calibration_map, cross_fitted_calibration, cross_fitted_coverage, residual_model

LABEL_COLUMNS = ("churned", "score", "answered_at")
MIN_SURVEY_ANSWERS = 30
SIGNATURE_ROWS = 200


@dataclass(frozen=True)
class BoosterSettings:
    """Defaults sized for per-customer reasons: exact TreeSHAP cost grows with trees and, steeply, with
    leaves; 300 x 7 matched 300 x 31 in held-out churn AUC while explaining 11x faster, and capping
    depth instead of leaves did not help (bench/reasons_speed.py)."""

    n_estimators: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 7
    max_depth: int = -1
    min_child_samples: int = 50
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0


def booster_params(settings: BoosterSettings, seed: int) -> dict:
    return {
        **settings.__dict__,
        "subsample_freq": 1,
        "random_state": seed,
        "n_jobs": 2,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    }


def churn_classifier(*, settings: BoosterSettings, seed: int, monotone: list[int] | None = None) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(objective="binary", monotone_constraints=monotone, **booster_params(settings, seed))


def satisfaction_regressor(*, settings: BoosterSettings, seed: int) -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(objective="regression", **booster_params(settings, seed))


def model_matrix(rows: pd.DataFrame, feature_names: list[str]) -> pd.DataFrame:
    """The features LightGBM sees: text columns become categories (pandas' `str` is not accepted)."""
    matrix = rows[feature_names]
    text = [c for c in feature_names if not pd.api.types.is_numeric_dtype(matrix[c])]
    return matrix.astype({c: "category" for c in text})


def feature_columns(training_set: pd.DataFrame) -> list[str]:
    return [c for c in training_set.columns if c not in LABEL_COLUMNS]


@dataclass(frozen=True)
class Split:
    """Which rows train and which validate, and how that was decided (the model card says it)."""

    train: np.ndarray
    valid: np.ndarray
    method: str


def churn_split(training_set: pd.DataFrame, horizon: pd.Timedelta, seed: int) -> Split:
    """Out of time: validate on the last cutoff, train on cutoffs whose horizon closed before it.

    A single cutoff (a snapshot export) falls back to a stratified split of customers.
    """
    as_of = training_set.index.get_level_values("as_of")
    last = as_of.max()
    train = np.asarray(as_of + horizon <= last)
    if train.any():
        return Split(train=train, valid=np.asarray(as_of == last), method=f"out of time: validated on cutoff {last.date()}")
    positions = np.arange(len(training_set))
    fit_rows, _ = train_test_split(positions, test_size=0.25, random_state=seed, stratify=training_set["churned"])
    train = np.isin(positions, fit_rows)
    return Split(train=train, valid=~train, method="single cutoff: stratified 25% of customers held out")


def satisfaction_split(training_set: pd.DataFrame, holdout_from: pd.Timestamp, seed: int) -> Split:
    """Out of time: answers from `holdout_from` on validate; too few of either side falls back to a random split."""
    answered = training_set["answered_at"].to_numpy()
    valid = answered >= np.datetime64(holdout_from)
    if valid.sum() >= 20 and (~valid).sum() >= 20:
        return Split(train=~valid, valid=valid, method=f"out of time: answers from {holdout_from.date()} held out")
    positions = np.arange(len(training_set))
    fit_rows, _ = train_test_split(positions, test_size=0.25, random_state=seed)
    train = np.isin(positions, fit_rows)
    return Split(train=train, valid=~train, method="random 25% of answers held out")


@dataclass
class FittedModel:
    """A fitted final model, the features it reads, and what it scored on data it never saw."""

    estimator: lgb.LGBMModel
    feature_names: list[str]
    metrics: dict[str, float]
    split: Split
    sample: pd.DataFrame
    extras: dict = field(default_factory=dict)
    held_out: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def split_method(self) -> str:
        return self.split.method


def fit_churn(training_set: pd.DataFrame, horizon: pd.Timedelta, settings: BoosterSettings, seed: int, directions: dict[str, int]) -> FittedModel:
    """Evaluate on the held-out cutoff, then refit on every labelled cutoff for scoring.

    `directions` (+1, 0) become monotone constraints, so risk never falls as a bad signal grows.
    """
    names = feature_columns(training_set)
    matrix, labels = model_matrix(training_set, names), training_set["churned"].to_numpy()
    split = churn_split(training_set, horizon, seed)
    constraints = [directions.get(name, 0) for name in names]
    evaluated = churn_classifier(settings=settings, seed=seed, monotone=constraints).fit(matrix[split.train], labels[split.train])
    held_out = evaluated.predict_proba(matrix[split.valid])[:, 1]
    metrics = churn_scores_report(labels[split.valid], held_out, seed) | cross_fitted_calibration(labels[split.valid], held_out, seed)
    final = churn_classifier(settings=settings, seed=seed, monotone=constraints).fit(matrix, labels)
    calibration = calibration_map(labels[split.valid], held_out)
    latest = np.asarray(training_set.index.get_level_values("as_of") == training_set.index.get_level_values("as_of").max())
    profile = population_profile(training_set.loc[latest, names], calibrated(final.predict_proba(matrix[latest])[:, 1], calibration), seed)
    validation = pd.DataFrame({"truth": labels[split.valid], "predicted": held_out})
    return FittedModel(final, names, metrics, split, training_set[names].head(SIGNATURE_ROWS), {"calibration": calibration, "profile": profile}, validation)


def fit_satisfaction(training_set: pd.DataFrame | None, holdout_from: pd.Timestamp, settings: BoosterSettings, seed: int, weights: np.ndarray | None = None) -> FittedModel | None:
    """None with fewer than MIN_SURVEY_ANSWERS answers: no satisfaction model beats one learned from noise.

    `weights` (one per answer) reweight training, e.g. against survey response bias.
    """
    if training_set is None or len(training_set) < MIN_SURVEY_ANSWERS:
        return None
    names = feature_columns(training_set)
    matrix, scores = model_matrix(training_set, names), training_set["score"].to_numpy(dtype=float)
    split = satisfaction_split(training_set, holdout_from, seed)
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    evaluated = satisfaction_regressor(settings=settings, seed=seed).fit(matrix[split.train], scores[split.train], sample_weight=weights[split.train])
    held_out = evaluated.predict(matrix[split.valid])
    metrics = satisfaction_report(scores[split.valid], held_out, seed) | {"interval_coverage": cross_fitted_coverage(scores[split.valid], held_out, seed)}
    final = satisfaction_regressor(settings=settings, seed=seed).fit(matrix, scores, sample_weight=weights)
    extras = {"uncertainty": residual_model(scores[split.valid], held_out)}
    validation = pd.DataFrame({"truth": scores[split.valid], "predicted": held_out})
    return FittedModel(final, names, metrics, split, training_set[names].head(SIGNATURE_ROWS), extras, validation)


STABILITY_SEEDS = 3
STABILITY_SAMPLE = 2000


def churn_reason_stability(training_set: pd.DataFrame, churn: FittedModel, settings: BoosterSettings, seed: int, directions: dict[str, int]) -> float:
    """Top-3 reason overlap between the churn model and refits with other seeds, on validation customers."""
    from models.explain import reason_stability

    matrix = model_matrix(training_set, churn.feature_names)
    labels = training_set["churned"].to_numpy()
    constraints = [directions.get(name, 0) for name in churn.feature_names]
    refits = [churn_classifier(settings=settings, seed=seed + k, monotone=constraints).fit(matrix, labels) for k in range(1, STABILITY_SEEDS)]
    sample = matrix[churn.split.valid]
    sample = sample.sample(min(STABILITY_SAMPLE, len(sample)), random_state=seed)
    return reason_stability([churn.estimator, *refits], sample)
