import numpy as np
import pandas as pd
import pytest

from models.monitoring import changes_since, nps_table, performance_alert, realised_performance, surveyed_nps_interval
from models.uncertainty import Residuals


def predictions(probabilities, risks, control, satisfaction=None, as_of="2025-06-01"):
    n = len(probabilities)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "as_of": pd.Timestamp(as_of),
            "churn_probability": probabilities,
            "churn_risk": risks,
            "control_group": control,
            "satisfaction_score": satisfaction if satisfaction is not None else [np.nan] * n,
        }
    )


def test_realised_performance_scores_churn_and_compares_treated_with_control():
    scored = predictions(
        [0.9, 0.8, 0.7, 0.1, 0.2, 0.05],
        ["high", "high", "high", "low", "medium", "low"],
        [False, False, True, False, False, False],
        satisfaction=[2.0, 4.0, 6.0, 8.0, 6.0, 4.0],
    )
    churned = pd.Series([1, 0, 1, 0, 0, 0], index=[f"C{i}" for i in range(6)])
    answers = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(6)] * 2,
            "score": [3.0, 5.0, 7.0, 9.0, 7.0, 5.0, 1.0, 3.0, 5.0, 7.0, 5.0, 3.0],
        }
    )
    result = realised_performance(scored, churned, answers, seed=0)
    assert result["customers"] == 6
    assert result["churn"]["roc_auc"] == pytest.approx(1 - 1 / 8)  # one churner (0.7) ranked below one stayer (0.8)
    assert result["high_risk_treated"] == {"customers": 2, "churn_rate": 0.5}
    assert result["high_risk_control"] == {"customers": 1, "churn_rate": 1.0}
    assert result["satisfaction"]["mae"] == pytest.approx(1.0) and result["satisfaction"]["answers"] == 12


def test_customers_without_a_label_are_left_out():
    scored = predictions([0.9, 0.1, 0.5], ["high", "low", "medium"], [False] * 3)
    result = realised_performance(
        scored, pd.Series([1, 0], index=["C0", "C1"]), pd.DataFrame(columns=["customer_id", "score"]), seed=0
    )
    assert result["customers"] == 2 and result["churn"]["roc_auc"] == 1.0 and "satisfaction" not in result


def test_an_auc_drop_past_the_threshold_raises_an_alert():
    assert performance_alert({"churn": {"roc_auc": 0.62}}, 0.70, max_drop=0.05).startswith(
        "realised churn ROC AUC 0.620 is 0.080 below"
    )
    assert performance_alert({"churn": {"roc_auc": 0.67}}, 0.70, max_drop=0.05) is None
    assert performance_alert({"churn": {}}, 0.70, max_drop=0.05) is None


def test_surveyed_nps_interval_by_hand():
    scores = pd.Series([10, 9, 8, 3] * 25, dtype=float)  # 50 % promoters, 25 % detractors
    result = surveyed_nps_interval(scores)
    half = 1.96 * np.sqrt((0.75 - 0.25**2) / 100)
    assert result["surveyed"] == pytest.approx(25.0) and result["answers"] == 100
    assert (result["surveyed_low"], result["surveyed_high"]) == pytest.approx(
        (100 * (0.25 - half), 100 * (0.25 + half))
    )


def test_nps_table_puts_inferred_beside_surveyed_per_segment():
    satisfaction = pd.Series([10.0, 10.0, 2.0, 8.0], index=["A", "B", "C", "D"])
    segments = pd.Series(["smb", "smb", "consumer", "consumer"], index=satisfaction.index)
    recent = pd.DataFrame({"customer_id": ["A", "C"], "score": [9.0, 4.0]})
    table = nps_table(satisfaction, Residuals(half_width=0.0, quantiles=(0.0,)), segments, recent).set_index("segment")
    assert (
        table.loc["smb", "inferred"] == 100.0
        and table.loc["consumer", "inferred"] == -50.0
        and table.loc["all", "inferred"] == 25.0
    )
    assert (
        table.loc["smb", "surveyed"] == 100.0
        and table.loc["consumer", "surveyed"] == -100.0
        and table.loc["all", "answers"] == 2
    )


def test_changes_since_the_previous_run():
    before = predictions([0.5, 0.1, 0.4], ["high", "low", "high"], [False] * 3, as_of="2025-05-01")
    now = predictions([0.2, 0.6, 0.5, 0.7], ["medium", "high", "high", "high"], [False] * 4)
    change = changes_since(before, now)
    assert change["previous_as_of"] == "2025-05-01"
    assert change["mean_churn_change"] == pytest.approx(0.5 - 1 / 3)
    assert (change["high_risk_change"], change["newly_high_risk"], change["no_longer_high_risk"]) == (1, 1, 1)
    assert (change["new_customers"], change["customers_gone"]) == (1, 0)
