"""Churn baselines every run reports beside LightGBM, on the same validation rows.

- recency rule: the longer since the last order (or touch), the riskier;
- logistic regression on the same features;
- BG/NBD's expected orders in the horizon (fewer, riskier) and its probability of no order in the
  horizon, read from the buying-rhythm features (BG/NBD fitted on orders before each cutoff);
- for benchmarks, the classic models on recency, frequency, monetary value and age alone
  (`rfmt_baselines`): logistic regression on their logarithms and LightGBM.

A baseline that cannot rank these rows (no such signal in the source, or one value for everyone)
is reported as not applicable, with the reason, and the promotion gate does not count it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models.evaluation import churn_scores_report

RECENCY_FEATURES = ("days_since_last_order", "days_since_last_touch")
LOGISTIC_ROWS = 20_000  # a linear model's fit settles long before; more rows only cost time
RFMT = ("days_since_last_order", "order_days", "lifetime_average_order_value", "days_since_first_order")


def recency_scores(rows: pd.DataFrame) -> np.ndarray | None:
    """Days since the last order (else the last touch); never seen counts as the longest silence."""
    for feature in RECENCY_FEATURES:
        if feature in rows:
            days = rows[feature].astype(float)
            return days.fillna(days.max() + 1 if days.notna().any() else 0).to_numpy()
    return None


def logistic_baseline(*, numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    columns = ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()),
                numeric,
            ),
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")
                ),
                categorical,
            ),
        ]
    )
    return make_pipeline(columns, LogisticRegression(max_iter=2000, C=1.0, random_state=seed))


def logistic_scores(
    rows: pd.DataFrame, feature_names: list[str], train: np.ndarray, valid: np.ndarray, seed: int
) -> np.ndarray:
    frame = rows[feature_names]
    categorical = [c for c in feature_names if not pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in feature_names if c not in categorical]
    frame = frame.astype(dict.fromkeys(categorical, object))
    fit_rows = np.flatnonzero(train)
    fit_rows = (
        np.random.default_rng(seed).choice(fit_rows, LOGISTIC_ROWS, replace=False)
        if len(fit_rows) > LOGISTIC_ROWS
        else fit_rows
    )
    model = logistic_baseline(numeric=numeric, categorical=categorical, seed=seed).fit(
        frame.iloc[np.sort(fit_rows)], rows["churned"].to_numpy()[np.sort(fit_rows)]
    )
    return model.predict_proba(frame[valid])[:, 1]


def rhythm_scores(rows: pd.DataFrame, horizon_days: int) -> dict[str, np.ndarray]:
    """BG/NBD's two churn readings, for customers without orders the most pessimistic value."""
    scores = {}
    if f"expected_orders_{horizon_days}d" in rows:
        scores["bg_nbd_expected_orders"] = -rows[f"expected_orders_{horizon_days}d"].fillna(0.0).to_numpy(dtype=float)
    if f"probability_no_order_{horizon_days}d" in rows:
        scores["bg_nbd_no_order"] = rows[f"probability_no_order_{horizon_days}d"].fillna(1.0).to_numpy(dtype=float)
    return scores


def cannot_rank(scores: np.ndarray | None) -> str | None:
    """Why a baseline's scores cannot rank customers, or None when they can."""
    if scores is None:
        return "the source has none of the signals it reads"
    if np.unique(scores[~np.isnan(scores)]).size < 2:
        return "it gives every validation customer the same score"
    return None


def reports(
    scores: dict[str, np.ndarray | None], labels: np.ndarray, seed: int, probabilities: set[str]
) -> dict[str, dict]:
    """Each baseline's metrics, or {'not_applicable': reason}."""
    out = {}
    for name, values in scores.items():
        reason = cannot_rank(values)
        out[name] = (
            {"not_applicable": reason}
            if reason
            else churn_scores_report(labels, values, seed, probabilities=name in probabilities)
        )
    return out


def churn_baselines(
    rows: pd.DataFrame, feature_names: list[str], train: np.ndarray, valid: np.ndarray, horizon_days: int, seed: int
) -> dict[str, dict]:
    """Each baseline's held-out churn metrics on exactly the validation rows the model is judged on."""
    validation = rows[valid]
    scores = {
        "recency_rule": recency_scores(validation),
        "logistic_regression": logistic_scores(rows, feature_names, train, valid, seed),
    }
    scores |= rhythm_scores(validation, horizon_days)
    return reports(
        scores, validation["churned"].to_numpy(), seed, probabilities={"logistic_regression", "bg_nbd_no_order"}
    )


def applicable(baselines: dict[str, dict]) -> dict[str, dict]:
    return {name: metrics for name, metrics in baselines.items() if "not_applicable" not in metrics}


def log_rfmt(rows: pd.DataFrame) -> np.ndarray:
    """log(1 + x) of recency, frequency, monetary value and age; a customer without orders counts as the longest
    silence."""
    frame = rows[list(RFMT)].astype(float)
    frame = frame.fillna(
        {
            "days_since_last_order": frame["days_since_last_order"].max(),
            "order_days": 0.0,
            "lifetime_average_order_value": 0.0,
            "days_since_first_order": 0.0,
        }
    )
    return np.log1p(frame.clip(lower=0)).to_numpy()


def rfmt_baselines(
    rows: pd.DataFrame, train: np.ndarray, valid: np.ndarray, seed: int, lightgbm_factory
) -> dict[str, np.ndarray]:
    """The classic models on recency, frequency, monetary value and age only: scores for the validation rows."""
    labels = rows["churned"].to_numpy()
    features = log_rfmt(rows)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed)).fit(
        features[train], labels[train]
    )
    boosted = lightgbm_factory().fit(features[train], labels[train])
    return {
        "logistic_regression_log_rfmt": logistic.predict_proba(features[valid])[:, 1],
        "lightgbm_rfmt": boosted.predict_proba(features[valid])[:, 1],
    }
