"""Scores customers with fitted models and assembles the prediction file's rows.

The prediction file's columns are declared here once; the writer, the docs and the tests read
`PREDICTION_COLUMNS`, and a change to them bumps `SCHEMA_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.registry import Feature
from models.explain import probability_points, shap_values, top_reasons
from models.training import model_matrix

SCHEMA_VERSION = "1.1"
PREDICTION_COLUMNS: dict[str, str] = {
    "customer_id": "Customer identifier from the input's customers table.",
    "as_of": "Scoring date: features use only events strictly before it.",
    "churn_probability": "Probability that the customer churns within the configured horizon after as_of.",
    "satisfaction_score": "Inferred satisfaction on the survey scale (NPS 0-10 or CSAT 1-5); empty when no satisfaction model exists (too few surveys).",
    "reason_1": "Largest driver of the churn score, in plain language with its signed effect in probability points.",
    "reason_2": "Second largest driver of the churn score.",
    "reason_3": "Third largest driver of the churn score.",
    "reasons_json": "The three drivers as JSON: feature, value, contribution (probability, -1..1).",
    "churn_model_version": "Registered version of the churn model that scored this row.",
    "satisfaction_model_version": "Registered version of the satisfaction model that scored this row; empty without one.",
    "run_id": "MLflow run id of the training run that produced the churn model.",
}


@dataclass(frozen=True)
class ScoringModel:
    """A fitted model and where it came from, as scoring needs it."""

    estimator: lgb.LGBMModel
    version: str
    run_id: str

    @property
    def feature_names(self) -> list[str]:
        return list(self.estimator.feature_name_)


def score_customers(
    features: pd.DataFrame,
    as_of: pd.Timestamp,
    churn: ScoringModel,
    satisfaction: ScoringModel | None,
    catalogue: dict[str, Feature],
    scale: tuple[float, float],
) -> pd.DataFrame:
    """One prediction row per customer in `features`, with the top three churn reasons (no satisfaction model: NaN)."""
    churn_matrix = model_matrix(features, churn.feature_names)
    churn_probability = churn.estimator.predict_proba(churn_matrix)[:, 1]
    satisfaction_score = np.full(len(features), np.nan)
    if satisfaction is not None:
        satisfaction_score = np.clip(satisfaction.estimator.predict(model_matrix(features, satisfaction.feature_names)), *scale)
    reasons = top_reasons(probability_points(shap_values(churn.estimator, churn_matrix)), churn_matrix, catalogue, "churn risk")
    frame = pd.DataFrame({
        "customer_id": features.index.astype(str),
        "as_of": pd.Series(as_of, index=features.index).astype("datetime64[us]"),
        "churn_probability": churn_probability,
        "satisfaction_score": satisfaction_score,
    }, index=features.index).join(reasons)
    frame = frame.assign(
        churn_model_version=churn.version,
        satisfaction_model_version=satisfaction.version if satisfaction else "",
        run_id=churn.run_id,
    )
    return frame[list(PREDICTION_COLUMNS)].reset_index(drop=True)
