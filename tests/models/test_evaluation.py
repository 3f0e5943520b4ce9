import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

from models.baselines import cannot_rank, recency_scores
from models.evaluation import (
    RANKING_METRICS,
    average_precision,
    churn_scores_report,
    expected_calibration_error,
    roc_auc,
    satisfaction_report,
    top_decile_lift,
)


def test_top_decile_lift_by_hand():
    labels = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0] * 2)
    scores = np.array([0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1] * 2) + np.arange(20) * 1e-6
    assert top_decile_lift(labels, scores) == pytest.approx(1.0 / 0.1)  # top 2 are both churners; base rate 10 %


def test_expected_calibration_error_by_hand():
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([0.1, 0.1, 0.9, 0.7])
    # bins: 0.1 -> observed 0 vs 0.1 (weight 1/2); 0.7 -> 1 vs 0.7 (1/4); 0.9 -> 1 vs 0.9 (1/4)
    assert expected_calibration_error(labels, probabilities) == pytest.approx(0.5 * 0.1 + 0.25 * 0.3 + 0.25 * 0.1)


def test_churn_report_has_intervals_around_the_point_estimate():
    rng = np.random.default_rng(0)
    labels = rng.random(2000) < 0.2
    scores = np.clip(labels * 0.3 + rng.random(2000) * 0.7, 0, 1)
    report = churn_scores_report(labels, scores, seed=1)
    for metric in ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "top_decile_lift"):
        assert report[f"{metric}_low"] <= report[metric] <= report[f"{metric}_high"]
    assert 0.8 < report["roc_auc"] < 0.95 and report["roc_auc_high"] - report["roc_auc_low"] < 0.06


def test_perfect_and_reversed_rankings():
    labels = np.array([0, 0, 1, 1])
    assert churn_scores_report(labels, np.array([0.1, 0.2, 0.8, 0.9]), seed=0)["roc_auc"] == 1.0
    assert churn_scores_report(labels, np.array([0.9, 0.8, 0.2, 0.1]), seed=0)["roc_auc"] == 0.0


def test_one_class_gives_no_ranking_metrics():
    assert "roc_auc" not in churn_scores_report(np.zeros(5), np.linspace(0, 1, 5), seed=0)


def test_satisfaction_report_by_hand():
    report = satisfaction_report(np.array([1, 2, 3, 4]), np.array([1.5, 2.5, 2.5, 4.5]), seed=0)
    assert report["mae"] == 0.5 and report["spearman"] == pytest.approx(0.9486832980505138)


def test_recency_rule_treats_never_seen_as_longest_silence():
    rows = pd.DataFrame({"days_since_last_order": [3.0, np.nan, 40.0]})
    assert recency_scores(rows).tolist() == [3.0, 41.0, 40.0]
    assert recency_scores(pd.DataFrame({"tenure_days": [1.0]})) is None


@pytest.mark.parametrize("seed", range(5))
def test_numpy_metrics_equal_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    labels = (rng.random(300) < 0.3).astype(int)
    scores = np.round(labels * 0.2 + rng.random(300), 1)  # rounded: many ties
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores))
    probabilities = np.clip(scores / 1.2, 0, 1)
    assert churn_scores_report(labels, probabilities, seed=0)["log_loss"] == pytest.approx(
        log_loss(labels, np.clip(probabilities, 1e-6, 1 - 1e-6))
    )
    assert set(RANKING_METRICS) == {"roc_auc", "pr_auc", "top_decile_lift"}


def test_a_baseline_that_gives_everyone_one_score_cannot_rank():
    assert cannot_rank(np.full(10, 3.0)) == "it gives every validation customer the same score"
    assert cannot_rank(None) == "the source has none of the signals it reads"
    assert cannot_rank(np.array([1.0, 2.0, np.nan])) is None
