"""Per-customer reasons from SHAP values, in the units a person reads: probability or score points.

The SHAP values are exact TreeSHAP (the same numbers as `shap.TreeExplainer`, which a test checks), looked up per
tree by `models.tree_shap` at a fraction of the cost.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from features.formats import SENTENCES
from features.registry import Feature
from models.artifact import TrainedModel
from models.training import model_matrix, prior_log_odds
from models.tree_shap import shap_values

TOP_REASONS = 3
SMALLEST_SHOWN = 0.001
"""A reason must add at least 0.1 probability points to be shown: '+0.0 pts' explains nothing."""
REASONS_SLICE = 100_000
CHURN_POINTS = {"en": "pts churn risk", "fi": "%-yks. poistumariski"}


def churn_contributions(model: TrainedModel, rows: pd.DataFrame) -> pd.DataFrame:
    """SHAP values of the churn log-odds per feature, plus `expected`, that add up to `churn_log_odds`.

    Where the buying-rhythm prior is blended in, the trees' share shrinks by its weight and the prior's
    own pull (its log-odds against the training rows' mean) is credited to the feature it comes from.
    """
    values = shap_values(model.booster, model_matrix(rows, model.feature_names))
    if model.blend is None:
        return values
    blend = model.blend
    prior = prior_log_odds(rows, blend.feature)
    has = ~np.isnan(prior)
    values.loc[has] = values.loc[has] * (1 - blend.weight)
    values.loc[has, blend.feature] += blend.weight * (prior[has] - blend.reference)
    values.loc[has, "expected"] += blend.weight * blend.reference
    return values


def probability_points(log_odds: pd.DataFrame) -> pd.DataFrame:
    """Log-odds SHAP values rescaled per customer so they add up to probability minus base probability.

    Each feature keeps its share of the log-odds movement; the sum is then exact in probability.
    """
    contributions = log_odds.drop(columns="expected")
    base = log_odds["expected"]
    total = contributions.sum(axis=1)
    probability_shift = sigmoid(base + total) - sigmoid(base)
    scale = np.where(
        np.abs(total) > 1e-12, probability_shift / total.where(total != 0, 1.0), sigmoid(base) * (1 - sigmoid(base))
    )
    return contributions.mul(scale, axis=0)


def sigmoid(x: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def top_reasons(
    contributions: pd.DataFrame,
    matrix: pd.DataFrame,
    catalogue: dict[str, Feature],
    medians: dict[str, float],
    playbook: dict[str, dict[str, str]],
    language: str = "en",
) -> pd.DataFrame:
    """Per customer: up to three reasons a person can act on (what raises the churn risk most, among features with
    a playbook action whose value sits on the risky side of the training median; '' when fewer), the next action
    the first one calls for, and the three largest contributions of any feature, unfiltered, as JSON records.

    Written column by column over arrays, never through a record per customer: at a million customers the records
    and their json.dumps cost more than the SHAP values. Done a slice of customers at a time, so the working arrays
    as wide as the features stay small: whole, each was 0.7 GB at a million customers."""
    if len(contributions) > REASONS_SLICE:
        slices = range(0, len(contributions), REASONS_SLICE)
        return pd.concat(
            [
                top_reasons(
                    contributions.iloc[start : start + REASONS_SLICE],
                    matrix.iloc[start : start + REASONS_SLICE],
                    catalogue,
                    medians,
                    playbook,
                    language,
                )
                for start in slices
            ]
        )
    values = contributions.to_numpy()
    names = np.array(contributions.columns, dtype=object)
    points = np.round(values, 6) + 0.0  # + 0.0: a rounded -0.0 reads 0.0
    largest = leading(np.abs(values))
    actionable = np.where(actionable_mask(contributions, matrix, catalogue, medians), values, -np.inf)
    order = leading(actionable)
    shown = np.take_along_axis(actionable, order, axis=1) > -np.inf
    chosen_values = picked_values(matrix, order)
    columns = {
        f"reason_{k + 1}": reason_sentences(
            names[order[:, k]],
            chosen_values[:, k],
            np.take_along_axis(points, order[:, k : k + 1], axis=1)[:, 0],
            shown[:, k],
            catalogue,
            language,
        )
        if k < order.shape[1]
        else [""] * len(order)  # a model of fewer features than reasons (a snapshot of two attributes)
        for k in range(TOP_REASONS)
    }
    columns["reasons_json"] = reasons_json(names, picked_values(matrix, largest), points, largest)
    action_texts = {
        name: playbook[catalogue[name].action][language] if name in catalogue and catalogue[name].action else ""
        for name in names
    }
    columns["next_action"] = np.where(shown[:, 0], [action_texts[name] for name in names[order[:, 0]]], "")
    return pd.DataFrame(columns, index=contributions.index)


def leading(values: np.ndarray) -> np.ndarray:
    """Each row's positions of its TOP_REASONS largest values, largest first, ties to the leftmost column: one argmax
    pass per reason, each with the positions already taken set aside, never every row sorted."""
    remaining = values.copy()
    rows = np.arange(len(values))
    taken: list[np.ndarray] = []
    for _ in range(min(TOP_REASONS, values.shape[1])):
        position = remaining.argmax(axis=1)
        exhausted = np.flatnonzero(remaining[rows, position] == -np.inf)
        position[exhausted] = leftmost_untaken(
            len(exhausted), values.shape[1], [earlier[exhausted] for earlier in taken]
        )
        remaining[rows, position] = -np.inf
        taken.append(position)
    return np.stack(taken, axis=1)


def leftmost_untaken(rows: int, width: int, taken: list[np.ndarray]) -> np.ndarray:
    """For rows with nothing but -inf left, the first position not yet taken: where a stable sort puts the next."""
    free = np.ones((rows, width), dtype=bool)
    for positions in taken:
        free[np.arange(rows), positions] = False
    return free.argmax(axis=1)


def actionable_mask(
    contributions: pd.DataFrame, matrix: pd.DataFrame, catalogue: dict[str, Feature], medians: dict[str, float]
) -> np.ndarray:
    """True where a feature raises this customer's risk, has a playbook action, and the customer's value sits on its
    risky side of the training median: "0 orders in the last 90 days" reads as a cause, never "last negative post
    515 days ago". A missing value is risky where high is (no order ever is as overdue as it gets)."""
    mask = np.zeros(contributions.shape, dtype=bool)
    for position, name in enumerate(contributions.columns):
        feature = catalogue.get(name)
        if feature is None or not feature.action or name not in medians:
            continue
        value = matrix[name].to_numpy(dtype=float)
        median = medians[name]
        risky = value >= median if feature.risky_when == "high" else value <= median
        missing_is_risky = feature.risky_when == "high"
        mask[:, position] = np.where(np.isnan(value), missing_is_risky, risky)
    return mask & (contributions.to_numpy() >= SMALLEST_SHOWN)


def picked_values(matrix: pd.DataFrame, order: np.ndarray) -> np.ndarray:
    """matrix[row, order[row, k]] for every row and k, as JSON-ready values (None for missing), gathered column by
    column."""
    picked = np.empty(order.shape, dtype=object)
    for position in np.unique(order):
        column = matrix.iloc[:, position]
        rows, slots = np.nonzero(order == position)
        chosen = column.to_numpy()[rows]
        ready = (chosen.astype(float) if pd.api.types.is_numeric_dtype(column) else chosen).astype(object)
        ready[pd.isna(chosen)] = None
        picked[rows, slots] = ready
    return picked


def reason_sentences(
    features: np.ndarray,
    values: np.ndarray,
    contributions: np.ndarray,
    shown: np.ndarray,
    catalogue: dict[str, Feature],
    language: str,
) -> list[str]:
    """'3 late deliveries in the last 90 days (+4.2 pts churn risk)' where shown, else ''; Finnish writes the
    decimal comma."""
    sentences = np.full(len(features), "", dtype=object)
    rows = np.flatnonzero(shown)
    points = np.array(
        SENTENCES[language].fill_each(
            " ({value:+.1f} " + CHURN_POINTS[language] + ")", "value", 100 * contributions[rows]
        ),
        dtype=object,
    )
    for feature in np.unique(features[rows]):
        of_feature = features[rows] == feature
        reasons = catalogue[feature].reason_texts(values[rows[of_feature]], language)
        written = zip(reasons, points[of_feature], strict=True)
        sentences[rows[of_feature]] = [reason + point for reason, point in written]
    return sentences.tolist()


def reasons_json(names: np.ndarray, values: np.ndarray, points: np.ndarray, order: np.ndarray) -> list[str]:
    """Each row's records {feature, value, contribution} in `order`, exactly as json.dumps writes them, built as
    text: a million rows of dicts through json.dumps cost more than the model's SHAP values."""
    named = np.array([json.dumps(name, ensure_ascii=False) for name in names], dtype=object)
    slots = [
        zip(
            named[order[:, k]],
            json_texts(values[:, k]),
            map(repr, np.take_along_axis(points, order[:, k : k + 1], axis=1)[:, 0].tolist()),
            strict=True,
        )
        for k in range(order.shape[1])
    ]
    records = [[f'{{"feature": {n}, "value": {v}, "contribution": {c}}}' for n, v, c in slot] for slot in slots]
    return ["[" + ", ".join(row) + "]" for row in zip(*records, strict=True)]


def json_texts(values: np.ndarray) -> list[str]:
    """json.dumps of each value; finite floats by repr, which is what json.dumps writes for them."""
    return [
        repr(value) if type(value) is float and math.isfinite(value) else json.dumps(value, ensure_ascii=False)
        for value in values
    ]


def pain_points(
    points: pd.DataFrame, probabilities: np.ndarray, value: np.ndarray, catalogue: dict[str, Feature]
) -> pd.DataFrame:
    """Drivers ranked by revenue at risk: churn probability x the driver's share of what raises the risk x customer
    value.

    Only risk-raising contributions count: a driver that lowers a customer's risk puts nothing of it at stake.
    """
    raising = np.clip(points.to_numpy(), 0, None)  # in numpy: pandas' clip and transposes took 3 s at 1 M
    total = raising.sum(axis=1)
    drivers = [catalogue[name].driver for name in points.columns]
    names = sorted(set(drivers))
    by_driver = np.column_stack([raising[:, [d == name for d in drivers]].sum(axis=1) for name in names])
    has_risk = total[:, None] > 0
    share = np.divide(by_driver, total[:, None], out=np.zeros_like(by_driver), where=has_risk)
    most = pd.Series(np.array(names, dtype=object)[share.argmax(axis=1)][has_risk[:, 0]])
    ranked = pd.DataFrame(
        {
            "revenue_at_risk": (share * (probabilities * value)[:, None]).sum(axis=0),
            "customers_most_affected": most.value_counts().reindex(names, fill_value=0).to_numpy(),
        },
        index=pd.Index(names),
    ).sort_values("revenue_at_risk", ascending=False)
    return ranked.rename_axis("driver").reset_index()


def reason_stability(models: list, matrix: pd.DataFrame) -> float:
    """Mean share of the top-3 churn reasons two models trained with different seeds agree on, per customer."""
    tops = [
        np.argsort(-np.abs(shap_values(m, matrix).drop(columns="expected").to_numpy()), axis=1)[:, :TOP_REASONS]
        for m in models
    ]
    overlaps = [
        np.mean([len(set(a) & set(b)) / TOP_REASONS for a, b in zip(first, second, strict=True)])
        for i, first in enumerate(tops)
        for second in tops[i + 1 :]
    ]
    return float(np.mean(overlaps))
