"""Churn baselines every run reports beside LightGBM, on the same validation rows.

- recency rule: the longer since the last order (or touch), the riskier;
- logistic regression on the same features;
- BG/NBD "probability alive" (PyMC-Marketing's `BetaGeoModel`), for purchase data, fitted only on
  orders before the validation cutoff.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from features.tables import Tables, known_before
from models.evaluation import churn_scores_report

RECENCY_FEATURES = ("days_since_last_order", "days_since_last_touch")
DAY = pd.Timedelta(days=1)


def recency_scores(rows: pd.DataFrame) -> np.ndarray | None:
    """Days since the last order (else the last touch); never seen counts as the longest silence."""
    for feature in RECENCY_FEATURES:
        if feature in rows:
            days = rows[feature].astype(float)
            return days.fillna(days.max() + 1 if days.notna().any() else 0).to_numpy()
    return None


def logistic_baseline(*, numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()), numeric),
        ("categories", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    return make_pipeline(columns, LogisticRegression(max_iter=2000, C=1.0, random_state=seed))


def purchase_summary(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """BG/NBD's inputs per customer from orders before `as_of`: repeat purchase days, recency and age in days."""
    days = known_before(orders, "ordered_at", as_of).assign(day=lambda o: o["ordered_at"].dt.normalize())
    per_customer = days.groupby("customer_id")["day"].agg(["min", "max", "nunique"])
    return pd.DataFrame({
        "customer_id": per_customer.index,
        "frequency": (per_customer["nunique"] - 1).to_numpy(dtype=float),
        "recency": ((per_customer["max"] - per_customer["min"]) / DAY).to_numpy(),
        "T": ((as_of.normalize() - per_customer["min"]) / DAY).to_numpy(),
    })


def bg_nbd_scores(orders: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """Per customer under BG/NBD, fitted by maximum a posteriori on orders before `as_of`: P(still a
    customer), and P(no purchase in the next `horizon_days`), which is what lapse churn asks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("pymc").setLevel(logging.ERROR)
        logging.getLogger("pytensor").setLevel(logging.ERROR)
        from pymc_marketing.clv import BetaGeoModel

        summary = purchase_summary(orders, as_of)
        model = BetaGeoModel(data=summary)
        model.fit(method="map", progressbar=False)
        alive = model.expected_probability_alive(data=summary)
        no_purchase = model.expected_probability_no_purchase(t=horizon_days, data=summary)
    return pd.DataFrame({"alive": np.asarray(alive).reshape(-1), "no_purchase": np.asarray(no_purchase).reshape(-1)}, index=summary["customer_id"].to_numpy())


def churn_baselines(
    training_set: pd.DataFrame, feature_names: list[str], train: np.ndarray, valid: np.ndarray, tables: Tables, horizon: pd.Timedelta, seed: int,
) -> dict[str, dict[str, float]]:
    """Each baseline's held-out churn metrics on exactly the validation rows the model is judged on."""
    labels = training_set["churned"].to_numpy()[valid]
    rows = training_set[feature_names]
    reports = {}
    recency = recency_scores(rows[valid])
    if recency is not None:
        reports["recency_rule"] = churn_scores_report(labels, recency, seed, probabilities=False)
    categorical = [c for c in feature_names if not pd.api.types.is_numeric_dtype(rows[c])]
    numeric = [c for c in feature_names if c not in categorical]
    logistic = logistic_baseline(numeric=numeric, categorical=categorical, seed=seed)
    logistic.fit(rows[train].astype({c: object for c in categorical}), training_set["churned"].to_numpy()[train])
    reports["logistic_regression"] = churn_scores_report(labels, logistic.predict_proba(rows[valid].astype({c: object for c in categorical}))[:, 1], seed)
    if tables.orders is not None and len(tables.orders):
        as_of = training_set.index.get_level_values("as_of")[valid][0]
        customers = training_set.index.get_level_values("customer_id")[valid]
        scores = bg_nbd_scores(tables.orders, as_of, horizon.days).reindex(customers)
        reports["bg_nbd"] = churn_scores_report(labels, 1 - scores["alive"].fillna(0.0).to_numpy(), seed)
        reports["bg_nbd_no_purchase"] = churn_scores_report(labels, scores["no_purchase"].fillna(1.0).to_numpy(), seed)
    return reports
