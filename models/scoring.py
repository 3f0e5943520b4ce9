"""Scores customers with trained models and assembles the prediction file's rows (see `models.prediction_file`)."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from features.registry import PLAYBOOK, Feature
from features.schema import SURVEY_SCALES
from features.settings import Settings
from models.artifact import TrainedModel
from models.drift import profile_medians
from models.explain import churn_contributions, pain_points, probability_points, top_reasons
from models.prediction_file import COLUMN_NAMES
from models.training import churn_probability, model_matrix
from models.uncertainty import nps_probabilities, satisfaction_interval

SPEND_WINDOW = re.compile(r"spend_(\d+)d")


class RiskThresholds(Settings):
    medium: float = Field(0.1, gt=0, lt=1, description="churn_probability from which a customer is medium risk.")
    high: float = Field(0.3, gt=0, lt=1, description="churn_probability from which a customer is high risk.")

    @model_validator(mode="after")
    def ordered(self) -> RiskThresholds:
        if self.medium >= self.high:
            raise ValueError(f"medium ({self.medium}) must be below high ({self.high})")
        return self


class ScoringSettings(Settings):
    """How scores become actions (risk bands, the control group left untouched) and when scoring runs."""

    risk_thresholds: RiskThresholds = RiskThresholds()
    control_group_share: float = Field(
        0.05, ge=0, lt=1, description="Share of customers held out of any action (keyed hash of customer_id)."
    )
    control_group_key: str = Field(
        "surveyless-control",
        min_length=1,
        description="Key of the control group's hash: change it to draw a new group.",
    )
    frequency: str = Field(
        "W-MON", description="The scoring calendar (pandas offset alias); catch-up fills dates missed on it."
    )
    catch_up: Literal["latest", "all"] = Field(
        "latest", description="After downtime: score only the latest missed date, or every missed date."
    )
    playbook: dict[str, dict[Literal["en", "fi"], str]] = Field(
        {},
        description="Next-action texts that replace the shipped ones, by action "
        f"({', '.join(PLAYBOOK)}) and language, e.g. {{close_ticket: {{en: Call within a day}}}}.",
    )

    @field_validator("playbook")
    @classmethod
    def known_actions(cls, value: dict) -> dict:
        unknown = sorted(set(value) - set(PLAYBOOK))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} is not an action of the playbook (known: {', '.join(PLAYBOOK)})")
        return value

    @property
    def actions(self) -> dict[str, dict[str, str]]:
        """The shipped playbook with the company's own texts in place."""
        return {action: texts | self.playbook.get(action, {}) for action, texts in PLAYBOOK.items()}

    @field_validator("frequency")
    @classmethod
    def known_frequency(cls, value: str) -> str:
        pd.tseries.frequencies.to_offset(value)
        return value

    def due_dates(self, done: list[pd.Timestamp], data_end: pd.Timestamp) -> list[pd.Timestamp]:
        """The dates to score now: the latest (the day after the data's last event), and with `catch_up: all`
        also every calendar date missed since the last complete scoring date."""
        if self.catch_up == "latest" or not done:
            return [data_end]
        missed = pd.date_range(done[-1], data_end, freq=self.frequency, inclusive="neither")
        return sorted({*(m.as_unit(data_end.unit) for m in missed), data_end})


def churn_risk(probability: np.ndarray, settings: ScoringSettings) -> np.ndarray:
    thresholds = settings.risk_thresholds
    return np.select([probability >= thresholds.high, probability >= thresholds.medium], ["high", "medium"], "low")


def keyed_digests(customer_ids: pd.Series, key: str) -> list[bytes]:
    """HMAC-SHA256 of each id: stable for one key, unguessable without it."""
    secret = key.encode()
    return [hmac.digest(secret, str(c).encode(), "sha256") for c in customer_ids]


def in_control_group(customer_ids: pd.Series, settings: ScoringSettings) -> np.ndarray:
    """A stable keyed hash of each id: the same customers stay in control run after run, and no one can pick them."""
    draws = [
        int.from_bytes(digest[:8], "big") / 2**64 for digest in keyed_digests(customer_ids, settings.control_group_key)
    ]
    return np.asarray(draws) < settings.control_group_share


def pseudonymised(predictions: pd.DataFrame, key: str) -> pd.DataFrame:
    """The predictions with each customer_id replaced by its keyed hash, for teams that must not see ids.

    The same key maps an id to the same pseudonym in every export, so exports still join with each other;
    only the key's holder can link a pseudonym back to a customer.
    """
    return predictions.assign(
        customer_id=[digest.hex()[:32] for digest in keyed_digests(predictions["customer_id"], key)]
    )


def score_customers(
    rows: pd.DataFrame,
    as_of: pd.Timestamp,
    churn: TrainedModel,
    satisfaction_model: TrainedModel | None,
    catalogue: dict[str, Feature],
    settings: ScoringSettings,
    language: Literal["en", "fi"],
) -> Scored:
    """One prediction row per customer in `rows` (features, status and churn kind), with the top three churn
    reasons (no satisfaction model: NaN)."""
    churn_probabilities = churn_probability(churn, rows)
    satisfaction = satisfaction_columns(rows, satisfaction_model)
    points = probability_points(churn_contributions(churn, rows))
    matrix = model_matrix(rows, churn.feature_names)
    reasons = top_reasons(points, matrix, catalogue, profile_medians(churn.profile), settings.actions, language)
    customer_ids = pd.Series(rows.index.astype(str), index=rows.index)
    frame = (
        pd.DataFrame(
            {
                "customer_id": customer_ids,
                "as_of": pd.Series(as_of, index=rows.index).astype("datetime64[us]"),
                "churn_probability": churn_probabilities,
                "churn_risk": churn_risk(churn_probabilities, settings),
                "status": rows["status"].astype(str),
            },
            index=rows.index,
        )
        .join(satisfaction)
        .join(reasons)
    )
    frame = frame.assign(
        churn_model_version=churn.version,
        satisfaction_model_version=satisfaction_model.version if satisfaction_model else "",
        run_id=churn.run_id,
        control_group=in_control_group(customer_ids, settings),
    )
    value = customer_value(rows)
    return Scored(
        frame[list(COLUMN_NAMES)].reset_index(drop=True),
        pain_points(points, churn_probabilities, value, catalogue),
        value_measure(rows),
        value,
    )


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
    return Scored(
        pd.concat([p.predictions for p in parts], ignore_index=True),
        pains,
        parts[0].value_measure,
        np.concatenate([p.customer_value for p in parts]),
    )


def value_measure(features: pd.DataFrame) -> str:
    windows = [int(m.group(1)) for c in features.columns if (m := SPEND_WINDOW.fullmatch(c))]
    return f"spend_{max(windows)}d" if windows else "customers"


def customer_value(features: pd.DataFrame) -> np.ndarray:
    """What a customer is worth for ranking pain points: spend over the longest window, else 1 (count customers)."""
    measure = value_measure(features)
    return np.ones(len(features)) if measure == "customers" else features[measure].fillna(0).to_numpy(dtype=float)


def satisfaction_columns(features: pd.DataFrame, model: TrainedModel | None) -> pd.DataFrame:
    """Score, 90 % interval and (NPS) most likely category; empty without a satisfaction model."""
    no_category = pd.Series(None, index=features.index, dtype=object)
    if model is None:
        empty = pd.Series(np.nan, index=features.index)
        return pd.DataFrame(
            {
                "satisfaction_score": empty,
                "satisfaction_lower": empty,
                "satisfaction_upper": empty,
                "nps_category": no_category,
            }
        )
    scale_name = model.recipe.survey_scale
    scale = SURVEY_SCALES[scale_name]
    predicted = np.clip(model.booster.predict(model_matrix(features, model.feature_names)), *scale)
    lower, upper = satisfaction_interval(predicted, model.residuals, scale)
    category = (
        nps_probabilities(predicted, model.residuals).idxmax(axis=1).set_axis(features.index)
        if scale_name == "nps"
        else no_category
    )
    return pd.DataFrame(
        {
            "satisfaction_score": predicted,
            "satisfaction_lower": lower,
            "satisfaction_upper": upper,
            "nps_category": category.astype(object),
        },
        index=features.index,
    )
