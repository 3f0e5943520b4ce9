"""Held-out metrics for churn and satisfaction, each with a bootstrap 95 % interval.

Pure functions of label and score arrays: the same numbers for the model and every baseline,
computed on the same rows.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, mean_absolute_error, roc_auc_score

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


RANKING_METRICS = {
    "roc_auc": lambda y, p: roc_auc_score(y, p),
    "pr_auc": lambda y, p: average_precision_score(y, p),
    "top_decile_lift": top_decile_lift,
}
PROBABILITY_METRICS = {
    "brier": lambda y, p: brier_score_loss(y, p),
    "log_loss": lambda y, p: log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1]),
    "ece": expected_calibration_error,
}
SATISFACTION_METRICS = {
    "spearman": lambda y, p: spearmanr(y, p).statistic,
    "mae": lambda y, p: mean_absolute_error(y, p),
}


def with_intervals(metrics: dict, truth: np.ndarray, predicted: np.ndarray, seed: int, stratified: bool) -> dict[str, float]:
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


def churn_scores_report(labels: np.ndarray, scores: np.ndarray, seed: int, probabilities: bool = True) -> dict[str, float]:
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
    return {"rows": float(len(scores))} | with_intervals(SATISFACTION_METRICS, scores, predicted, seed, stratified=False)
