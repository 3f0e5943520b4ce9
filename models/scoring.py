"""Scores customers with fitted models and assembles the prediction file's rows (see `models.prediction_file`)."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from typing import Literal

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.registry import Feature
from features.schema import SURVEY_SCALES
from models.explain import pain_points, probability_points, shap_values, top_reasons
from models.prediction_file import COLUMN_NAMES
from models.training import model_matrix
from models.uncertainty import calibrated, nps_probabilities, satisfaction_interval

SPEND_WINDOW = re.compile(r"spend_(\d+)d")


@dataclass(frozen=True)
class ScoringSettings:
    """How scores become actions: risk bands, the control group left untouched, the language of reasons."""

    medium_risk_from: float = 0.1
    high_risk_from: float = 0.3
    control_share: float = 0.05
    control_key: str = "surveyless-control"
    language: Literal["en", "fi"] = "en"


def churn_risk(probability: np.ndarray, settings: ScoringSettings) -> np.ndarray:
    return np.select([probability >= settings.high_risk_from, probability >= settings.medium_risk_from], ["high", "medium"], "low")


def keyed_digests(customer_ids: pd.Series, key: str) -> list[bytes]:
    """HMAC-SHA256 of each id: stable for one key, unguessable without it."""
    secret = key.encode()
    return [hmac.digest(secret, str(c).encode(), "sha256") for c in customer_ids]


def in_control_group(customer_ids: pd.Series, settings: ScoringSettings) -> np.ndarray:
    """A stable keyed hash of each id: the same customers stay in control run after run, and no one can pick them."""
    draws = [int.from_bytes(digest[:8], "big") / 2**64 for digest in keyed_digests(customer_ids, settings.control_key)]
    return np.asarray(draws) < settings.control_share


def pseudonymised(predictions: pd.DataFrame, key: str) -> pd.DataFrame:
    """The predictions with each customer_id replaced by its keyed hash, for teams that must not see ids.

    The same key maps an id to the same pseudonym in every export, so exports still join with each other;
    only the key's holder can link a pseudonym back to a customer.
    """
    return predictions.assign(customer_id=[digest.hex()[:32] for digest in keyed_digests(predictions["customer_id"], key)])


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
    settings: ScoringSettings = ScoringSettings(),
) -> Scored:
    """One prediction row per customer in `features`, with the top three churn reasons (no satisfaction model: NaN)."""
    churn_matrix = model_matrix(features, churn.feature_names)
    churn_probability = calibrated(churn.estimator.predict_proba(churn_matrix)[:, 1], churn.extras.get("calibration"))
    satisfaction = satisfaction_columns(features, satisfaction_model, scale_name)
    points = probability_points(shap_values(churn.estimator, churn_matrix))
    reasons = top_reasons(points, churn_matrix, catalogue, settings.language)
    customer_ids = pd.Series(features.index.astype(str), index=features.index)
    frame = pd.DataFrame({
        "customer_id": customer_ids,
        "as_of": pd.Series(as_of, index=features.index).astype("datetime64[us]"),
        "churn_probability": churn_probability,
        "churn_risk": churn_risk(churn_probability, settings),
    }, index=features.index).join(satisfaction).join(reasons)
    frame = frame.assign(
        churn_model_version=churn.version,
        satisfaction_model_version=satisfaction_model.version if satisfaction_model else "",
        run_id=churn.run_id,
        control_group=in_control_group(customer_ids, settings),
    )
    value = customer_value(features)
    return Scored(frame[list(COLUMN_NAMES)].reset_index(drop=True), pain_points(points, churn_probability, value, catalogue), value_measure(features), value)


@dataclass(frozen=True)
class Scored:
    """The prediction rows, and for the report the pain points they add up to and each customer's value."""

    predictions: pd.DataFrame
    pain_points: pd.DataFrame
    value_measure: str
    customer_value: np.ndarray


def combined(parts: list[Scored]) -> Scored:
    """Scores of disjoint customer groups as one: rows concatenated, pain points summed per driver.

    Every per-customer number depends on that customer alone, so the result equals scoring everyone at once.
    """
    points = pd.concat([p.pain_points for p in parts]).groupby("driver", sort=False).sum()
    pains = points.sort_values("revenue_at_risk", ascending=False, kind="stable").reset_index()
    return Scored(pd.concat([p.predictions for p in parts], ignore_index=True), pains, parts[0].value_measure, np.concatenate([p.customer_value for p in parts]))


def value_measure(features: pd.DataFrame) -> str:
    windows = [int(m.group(1)) for c in features.columns if (m := SPEND_WINDOW.fullmatch(c))]
    return f"spend_{max(windows)}d" if windows else "customers"


def customer_value(features: pd.DataFrame) -> np.ndarray:
    """What a customer is worth for ranking pain points: spend over the longest window, else 1 (count customers)."""
    measure = value_measure(features)
    return np.ones(len(features)) if measure == "customers" else features[measure].fillna(0).to_numpy(dtype=float)


def satisfaction_columns(features: pd.DataFrame, model: ScoringModel | None, scale_name: str) -> pd.DataFrame:
    """Score, 90 % interval and (NPS) most likely category; empty without a satisfaction model."""
    no_category = pd.Series(None, index=features.index, dtype=object)
    if model is None:
        empty = pd.Series(np.nan, index=features.index)
        return pd.DataFrame({"satisfaction_score": empty, "satisfaction_lower": empty, "satisfaction_upper": empty, "nps_category": no_category})
    scale = SURVEY_SCALES[scale_name]
    predicted = np.clip(model.estimator.predict(model_matrix(features, model.feature_names)), *scale)
    lower, upper = satisfaction_interval(predicted, model.extras["uncertainty"], scale)
    category = nps_probabilities(predicted, model.extras["uncertainty"]).idxmax(axis=1).set_axis(features.index) if scale_name == "nps" else no_category
    return pd.DataFrame({"satisfaction_score": predicted, "satisfaction_lower": lower, "satisfaction_upper": upper, "nps_category": category.astype(object)}, index=features.index)
