"""Held-out metrics for churn and satisfaction, each with a bootstrap 95 % interval.

Pure functions of label and score arrays: the same numbers for the model and every baseline,
computed on the same rows. The metrics are written in NumPy (a test checks them against
scikit-learn's): a bootstrap calls each a few hundred times, and scikit-learn's input checks cost
more than the arithmetic.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import rankdata, spearmanr

BOOTSTRAP_SAMPLES = 200
CALIBRATION_BINS = 10


def top_decile_lift(labels: np.ndarray, scores: np.ndarray) -> float:
    """Churn rate among the 10 % highest scores divided by the overall churn rate."""
    top = np.argsort(-scores, kind="stable")[: max(1, int(np.ceil(0.1 * len(scores))))]
    return float(labels[top].mean() / labels.mean())


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Mean |observed rate - mean probability| over equal-width probability bins, weighted by bin size."""
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    error = 0.0
    for b in np.unique(which):
        members = which == b
        error += members.mean() * abs(labels[members].mean() - probabilities[members].mean())
    return float(error)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(a churner scores above a stayer), ties counting half (Mann-Whitney)."""
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if not n_pos or not n_neg:
        return float("nan")
    return float((rankdata(scores)[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Precision averaged over the recall gained at each distinct score, highest first."""
    order = np.argsort(-scores, kind="stable")
    ranked, sorted_scores = labels[order], scores[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(ranked) - 1]
    true_positives = np.cumsum(ranked)[last_of_tie]
    if not true_positives[-1]:
        return float("nan")
    precision = true_positives / (last_of_tie + 1)
    recall_gain = np.diff(np.r_[0, true_positives]) / true_positives[-1]
    return float(np.sum(precision * recall_gain))


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


RANKING_METRICS = {"roc_auc": roc_auc, "pr_auc": average_precision, "top_decile_lift": top_decile_lift}
PROBABILITY_METRICS = {
    "brier": lambda y, p: float(np.mean((p - y) ** 2)),
    "log_loss": log_loss,
    "ece": expected_calibration_error,
}
SATISFACTION_METRICS = {
    "spearman": lambda y, p: spearmanr(y, p).statistic,
    "mae": lambda y, p: float(np.mean(np.abs(y - p))),
}


def with_intervals(
    metrics: dict, truth: np.ndarray, predicted: np.ndarray, seed: int, stratified: bool
) -> dict[str, float]:
    """Each metric, plus `<metric>_low` and `<metric>_high`: the 2.5 and 97.5 percentiles over bootstrap resamples."""
    rng = np.random.default_rng(seed)
    values = {name: float(metric(truth, predicted)) for name, metric in metrics.items()}
    draws: dict[str, list[float]] = {name: [] for name in metrics}
    groups = [np.flatnonzero(truth == c) for c in np.unique(truth)] if stratified else [np.arange(len(truth))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a resample of a tiny set may be constant: its metric is NaN and skipped
        for _ in range(BOOTSTRAP_SAMPLES):
            sample = np.concatenate([rng.choice(group, size=len(group)) for group in groups])
            for name, metric in metrics.items():
                draws[name].append(float(metric(truth[sample], predicted[sample])))
    for name, drawn in draws.items():
        values[f"{name}_low"], values[f"{name}_high"] = (float(q) for q in np.nanpercentile(drawn, [2.5, 97.5]))
    return values


def churn_scores_report(
    labels: np.ndarray, scores: np.ndarray, seed: int, probabilities: bool = True
) -> dict[str, float]:
    """Ranking metrics for any score; calibration metrics too when the scores are probabilities."""
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    summary = {"rows": float(len(labels)), "churn_rate": float(labels.mean())}
    if not 0 < labels.mean() < 1:
        return summary
    metrics = RANKING_METRICS | (PROBABILITY_METRICS if probabilities else {})
    return summary | with_intervals(metrics, labels, scores, seed, stratified=True)


def satisfaction_report(scores: np.ndarray, predicted: np.ndarray, seed: int) -> dict[str, float]:
    scores, predicted = np.asarray(scores, dtype=float), np.asarray(predicted, dtype=float)
    return {"rows": float(len(scores))} | with_intervals(
        SATISFACTION_METRICS, scores, predicted, seed, stratified=False
    )
