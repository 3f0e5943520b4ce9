"""Scores customers with fitted models and assembles the prediction file's rows.

The prediction file's columns are declared here once; the writer, the docs and the tests read
`PREDICTION_COLUMNS`, and a change to them bumps `SCHEMA_VERSION`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.registry import Feature
from models.explain import pain_points, probability_points, shap_values, top_reasons
from features.schema import SURVEY_SCALES
from models.training import model_matrix
from models.uncertainty import calibrated, nps_probabilities, satisfaction_interval

SCHEMA_VERSION = "1.2"
SPEND_WINDOW = re.compile(r"spend_(\d+)d")
PREDICTION_COLUMNS: dict[str, str] = {
    "customer_id": "Customer identifier from the input's customers table.",
    "as_of": "Scoring date: features use only events strictly before it.",
    "churn_probability": "Calibrated probability (Platt scaling, out of time) that the customer churns within the configured horizon after as_of.",
    "satisfaction_score": "Inferred satisfaction on the survey scale (NPS 0-10 or CSAT 1-5); empty when no satisfaction model exists (too few surveys).",
    "satisfaction_lower": "Lower end of the 90 % split-conformal interval for satisfaction_score.",
    "satisfaction_upper": "Upper end of the 90 % split-conformal interval for satisfaction_score.",
    "nps_category": "Most likely NPS category (promoter / passive / detractor); NPS scale only, else empty.",
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
    extras: dict = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return list(self.estimator.feature_name_)


def score_customers(
    features: pd.DataFrame,
    as_of: pd.Timestamp,
    churn: ScoringModel,
    satisfaction_model: ScoringModel | None,
    catalogue: dict[str, Feature],
    scale_name: str,
) -> Scored:
    """One prediction row per customer in `features`, with the top three churn reasons (no satisfaction model: NaN)."""
    churn_matrix = model_matrix(features, churn.feature_names)
    churn_probability = calibrated(churn.estimator.predict_proba(churn_matrix)[:, 1], churn.extras.get("calibration"))
    satisfaction = satisfaction_columns(features, satisfaction_model, scale_name)
    points = probability_points(shap_values(churn.estimator, churn_matrix))
    reasons = top_reasons(points, churn_matrix, catalogue, "churn risk")
    frame = pd.DataFrame({
        "customer_id": features.index.astype(str),
        "as_of": pd.Series(as_of, index=features.index).astype("datetime64[us]"),
        "churn_probability": churn_probability,
    }, index=features.index).join(satisfaction).join(reasons)
    frame = frame.assign(
        churn_model_version=churn.version,
        satisfaction_model_version=satisfaction_model.version if satisfaction_model else "",
        run_id=churn.run_id,
    )
    value = customer_value(features)
    return Scored(frame[list(PREDICTION_COLUMNS)].reset_index(drop=True), pain_points(points, churn_probability, value, catalogue), value_measure(features))


@dataclass(frozen=True)
class Scored:
    """The prediction rows, and the pain points they add up to (for the report)."""

    predictions: pd.DataFrame
    pain_points: pd.DataFrame
    value_measure: str


def value_measure(features: pd.DataFrame) -> str:
    windows = [int(m.group(1)) for c in features.columns if (m := SPEND_WINDOW.fullmatch(c))]
    return f"spend_{max(windows)}d" if windows else "customers"


def customer_value(features: pd.DataFrame) -> np.ndarray:
    """What a customer is worth for ranking pain points: spend over the longest window, else 1 (count customers)."""
    measure = value_measure(features)
    return np.ones(len(features)) if measure == "customers" else features[measure].fillna(0).to_numpy(dtype=float)


def satisfaction_columns(features: pd.DataFrame, model: ScoringModel | None, scale_name: str) -> pd.DataFrame:
    """Score, 90 % interval and (NPS) most likely category; empty without a satisfaction model."""
    empty = pd.Series(np.nan, index=features.index)
    if model is None:
        return pd.DataFrame({"satisfaction_score": empty, "satisfaction_lower": empty, "satisfaction_upper": empty, "nps_category": empty.astype("str")})
    scale = SURVEY_SCALES[scale_name]
    predicted = np.clip(model.estimator.predict(model_matrix(features, model.feature_names)), *scale)
    lower, upper = satisfaction_interval(predicted, model.extras["uncertainty"], scale)
    category = nps_probabilities(predicted, model.extras["uncertainty"]).idxmax(axis=1).to_numpy() if scale_name == "nps" else np.full(len(features), np.nan)
    return pd.DataFrame({"satisfaction_score": predicted, "satisfaction_lower": lower, "satisfaction_upper": upper, "nps_category": pd.Series(category, dtype="str").to_numpy()}, index=features.index)
