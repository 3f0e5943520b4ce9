"""Drift: how far today's customers sit from the ones the model learned on.

At training, each feature's distribution over the customers of the latest training cutoff (the
most recent population the model saw, with full look-back windows) is summarised as decile bins
(plus a missing bin; text features by category); at scoring, the population stability index (PSI)
compares today's shares with those. The usual reading: below 0.1 stable, 0.1-0.25 shifting, above
0.25 a different population. A feature with one value for everyone on a date (the brand's overall
mood) has no distribution across customers to compare, so it is left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BINS = 10
PROFILE_ROWS = 100_000
SMALLEST_SHARE = 1e-4
MISSING = "__missing__"


def feature_profile(values: pd.Series) -> dict:
    """Bin edges and shares of one feature (JSON-ready): deciles for numbers, categories for text."""
    if not pd.api.types.is_numeric_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype):
        shares = values.astype(object).fillna(MISSING).astype(str).value_counts(normalize=True)
        return {"kind": "category", "shares": shares.to_dict()}
    present = values.dropna().to_numpy(dtype=float)
    edges = np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1)[1:-1])) if len(present) else np.array([])
    return {"kind": "number", "edges": edges.tolist(), "shares": numeric_shares(values, edges).tolist()}


def numeric_shares(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Shares per bin (`edges` split the line into len(edges) + 1 bins), then the share missing."""
    numbers = values.to_numpy(dtype=float)
    present = ~np.isnan(numbers)
    counts = np.bincount(np.searchsorted(edges, numbers[present], side="right"), minlength=len(edges) + 1)
    return np.append(counts, (~present).sum()) / max(len(numbers), 1)


def population_profile(features: pd.DataFrame, probabilities: np.ndarray, seed: int) -> dict:
    """The training population's profile: every feature and the churn probabilities it produced."""
    sample = (
        features.sample(min(PROFILE_ROWS, len(features)), random_state=seed)
        if len(features) > PROFILE_ROWS
        else features
    )
    return {
        "features": {name: feature_profile(sample[name]) for name in sample.columns},
        "churn_probability": feature_profile(pd.Series(probabilities, dtype=float)),
    }


def profile_medians(profile: dict) -> dict[str, float]:
    """Each numeric feature's training median, read off its decile bins (the upper edge of the bin where half the
    customers with a value are reached)."""
    medians = {}
    for name, entry in profile["features"].items():
        if entry["kind"] != "number" or not entry["edges"]:
            continue
        present = np.asarray(entry["shares"][:-1], dtype=float)
        if present.sum() <= 0:
            continue
        reached = int(np.searchsorted(np.cumsum(present) / present.sum(), 0.5))
        medians[name] = float(entry["edges"][min(reached, len(entry["edges"]) - 1)])
    return medians


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    expected, actual = np.maximum(expected, SMALLEST_SHARE), np.maximum(actual, SMALLEST_SHARE)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def shift(profile: dict, values: pd.Series) -> float:
    """PSI of `values` against a stored feature profile."""
    if profile["kind"] == "category":
        current = values.astype(object).fillna(MISSING).astype(str).value_counts(normalize=True)
        categories = sorted(set(profile["shares"]) | set(current.index))
        expected = np.array([profile["shares"].get(c, 0.0) for c in categories])
        return psi(expected, current.reindex(categories, fill_value=0.0).to_numpy())
    return psi(np.asarray(profile["shares"]), numeric_shares(values, np.asarray(profile["edges"])))


def drift_summary(
    profile: dict,
    features: pd.DataFrame,
    probabilities: np.ndarray,
    threshold: float,
    growing: tuple[str, ...] = (),
) -> dict:
    """PSI per feature and of the churn probabilities; features at or past `threshold` are flagged, worst first,
    each with its reference and current distribution. Features in `growing` (every customer's tenure grows day by
    day) differ from training on any later date by construction, so they are not compared."""
    varying = [
        name
        for name in profile["features"]
        if name in features and name not in growing and features[name].nunique(dropna=False) > 1
    ]
    by_feature = {name: round(shift(profile["features"][name], features[name]), 4) for name in varying}
    flagged = sorted(
        (name for name, value in by_feature.items() if value >= threshold), key=by_feature.get, reverse=True
    )
    return {
        "threshold": threshold,
        "prediction_psi": round(shift(profile["churn_probability"], pd.Series(probabilities, dtype=float)), 4),
        "flagged_features": flagged,
        "feature_psi": by_feature,
        "not_compared": sorted(name for name in growing if name in features),
        "distributions": {name: side_by_side(profile["features"][name], features[name]) for name in flagged[:5]},
    }


def side_by_side(profile: dict, values: pd.Series) -> list[dict]:
    """The reference and current share of each bin (deciles of training, or categories), JSON-ready."""
    if profile["kind"] == "category":
        current = values.astype(object).fillna(MISSING).astype(str).value_counts(normalize=True)
        bins = sorted(set(profile["shares"]) | set(current.index), key=lambda c: -profile["shares"].get(c, 0.0))
        return [
            {"category": name, "reference": profile["shares"].get(name, 0.0), "current": float(current.get(name, 0.0))}
            for name in bins
        ]
    edges = [None, *profile["edges"], None]
    bounds = [{"low": low, "high": high} for low, high in zip(edges[:-1], edges[1:], strict=True)]
    rows = [
        bin_range | {"reference": float(reference), "current": float(now)}
        for bin_range, reference, now in zip(
            [*bounds, {"category": MISSING}],
            profile["shares"],
            numeric_shares(values, np.asarray(profile["edges"])),
            strict=True,
        )
    ]
    return [row for row in rows if row["reference"] or row["current"]]
