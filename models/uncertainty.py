"""Honest uncertainty: calibrated churn probabilities and conformal satisfaction intervals.

Both are learned from the out-of-time validation rows (which the evaluated model never saw) and
stored as plain numbers beside the model, so scoring needs no pickle. Reported quality is
cross-fitted: learned on one half of the validation rows, measured on the other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from features.schema import NPS_DETRACTORS_UP_TO, NPS_PROMOTERS_FROM
from features.settings import Settings
from models.evaluation import expected_calibration_error

INTERVAL_COVERAGE = 0.9
RESIDUAL_LEVELS = np.linspace(0, 1, 101)
NPS_CATEGORIES = ("detractor", "passive", "promoter")
NPS_BOUNDS = (NPS_DETRACTORS_UP_TO + 0.5, NPS_PROMOTERS_FROM - 0.5)
"""Where a continuous predicted score changes NPS category."""


def logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


class Calibration(Settings):
    """Platt scaling of the churn log-odds: p = sigmoid(slope * log-odds + intercept)."""

    slope: float
    intercept: float


class Residuals(Settings):
    """How held-out survey answers spread around the satisfaction model's predictions."""

    half_width: float
    quantiles: tuple[float, ...]


def calibration_map(labels: np.ndarray, probabilities: np.ndarray) -> Calibration | None:
    """Platt scaling on the log-odds: smooth and strictly increasing, so it never ties customers a ranking separates;
    None when the labels hold one outcome only (a handful of validation customers), which leaves scores uncalibrated.

    (Isotonic regression fits as well on average but turns the top of the list into flat steps.)
    """
    if len(np.unique(labels)) < 2:
        return None
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(logit(probabilities).reshape(-1, 1), labels)
    return Calibration(slope=float(platt.coef_[0, 0]), intercept=float(platt.intercept_[0]))


def calibrated(probabilities: np.ndarray, mapping: Calibration | None) -> np.ndarray:
    if mapping is None:
        return probabilities
    return 1 / (1 + np.exp(-(mapping.slope * logit(probabilities) + mapping.intercept)))


def halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[: n // 2], order[n // 2 :]


def cross_fitted_calibration(labels: np.ndarray, probabilities: np.ndarray, seed: int) -> dict[str, float]:
    """ECE and Brier of calibrated probabilities, each half calibrated by a map learned on the other; none when a half
    holds one outcome only (nothing to learn a map from: 7 validation customers of a real support-tweet set)."""
    first, second = halves(len(labels), seed)
    if min(len(np.unique(labels[first])), len(np.unique(labels[second]))) < 2:
        return {}
    out = np.empty_like(probabilities)
    out[first] = calibrated(probabilities[first], calibration_map(labels[second], probabilities[second]))
    out[second] = calibrated(probabilities[second], calibration_map(labels[first], probabilities[first]))
    return {
        "calibrated_ece": expected_calibration_error(labels, out),
        "calibrated_brier": float(np.mean((out - labels) ** 2)),
    }


def conformal_half_width(residuals: np.ndarray, coverage: float = INTERVAL_COVERAGE) -> float:
    """Split conformal: the ceil((n+1)·coverage)-th smallest |residual| gives coverage on exchangeable new rows."""
    ordered = np.sort(np.abs(residuals))
    rank = int(np.ceil((len(ordered) + 1) * coverage))
    return float(ordered[min(rank, len(ordered)) - 1])


def residual_model(scores: np.ndarray, predicted: np.ndarray) -> Residuals:
    """Interval half-width, and the spread of answers around a prediction (centred: the final model,
    refitted on later data, already carries any shift the held-out period showed)."""
    residuals = scores - predicted
    centred = residuals - np.median(residuals)
    return Residuals(
        half_width=conformal_half_width(residuals),
        quantiles=tuple(float(q) for q in np.quantile(centred, RESIDUAL_LEVELS)),
    )


def cross_fitted_coverage(scores: np.ndarray, predicted: np.ndarray, seed: int) -> float:
    """Share of held-out answers inside intervals whose width was learned on the other half."""
    first, second = halves(len(scores), seed)
    inside = []
    for fit, test in ((first, second), (second, first)):
        width = conformal_half_width(scores[fit] - predicted[fit])
        inside.append(np.abs(scores[test] - predicted[test]) <= width)
    return float(np.concatenate(inside).mean())


def satisfaction_interval(
    predicted: np.ndarray, residuals: Residuals, scale: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    return np.clip(predicted - residuals.half_width, *scale), np.clip(predicted + residuals.half_width, *scale)


def nps_probabilities(predicted: np.ndarray, residuals: Residuals) -> pd.DataFrame:
    """P(detractor / passive / promoter): the prediction plus the validation residual distribution, worked out
    `NPS_SLICE` customers at a time (every customer's outcomes at once held 0.8 GB at a million customers)."""
    quantiles = np.asarray(residuals.quantiles)
    low, high = NPS_BOUNDS
    promoter, detractor = np.empty(len(predicted)), np.empty(len(predicted))
    for first in range(0, len(predicted), NPS_SLICE):
        rows = slice(first, first + NPS_SLICE)
        outcomes = predicted[rows, None] + quantiles[None, :]
        promoter[rows], detractor[rows] = (outcomes >= high).mean(axis=1), (outcomes < low).mean(axis=1)
    return pd.DataFrame({"detractor": detractor, "passive": 1 - promoter - detractor, "promoter": promoter})


NPS_SLICE = 100_000


def nps(probabilities: pd.DataFrame) -> float:
    """Net promoter score (-100..100) of a group from its members' category probabilities."""
    return float(100 * (probabilities["promoter"].mean() - probabilities["detractor"].mean()))
