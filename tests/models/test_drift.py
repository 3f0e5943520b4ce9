import numpy as np
import pandas as pd
import pytest

from models.drift import drift_summary, feature_profile, numeric_shares, population_profile, psi, shift


def test_psi_matches_the_formula_on_hand_made_shares():
    expected, actual = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    assert psi(expected, actual) == pytest.approx(-0.25 * np.log(0.5) + 0.25 * np.log(1.5))
    assert psi(expected, expected) == 0.0


def test_numeric_shares_count_bins_and_the_missing_share():
    shares = numeric_shares(pd.Series([0.0, 1.0, 2.0, 5.0, np.nan]), np.array([1.0, 3.0]))
    assert shares.tolist() == [0.2, 0.4, 0.2, 0.2]


def test_the_same_population_is_stable_and_a_shifted_one_is_flagged():
    rng = np.random.default_rng(0)
    training = pd.DataFrame({"orders_90d": rng.poisson(3, 5000).astype(float), "segment": rng.choice(["a", "b"], 5000)})
    profile = population_profile(training, rng.uniform(0, 0.3, 5000), seed=0)
    same = pd.DataFrame({"orders_90d": rng.poisson(3, 5000).astype(float), "segment": rng.choice(["a", "b"], 5000)})
    moved = pd.DataFrame(
        {"orders_90d": rng.poisson(6, 5000).astype(float), "segment": rng.choice(["a", "b", "c"], 5000)}
    )
    stable = drift_summary(profile, same, rng.uniform(0, 0.3, 5000), threshold=0.2)
    drifted = drift_summary(profile, moved, rng.uniform(0.3, 0.6, 5000), threshold=0.2)
    assert stable["flagged_features"] == [] and stable["prediction_psi"] < 0.05
    assert max(stable["feature_psi"].values()) < 0.05
    assert drifted["flagged_features"] == sorted(
        ["orders_90d", "segment"], key=drifted["feature_psi"].get, reverse=True
    )
    assert drifted["prediction_psi"] > 1


def test_a_feature_that_goes_missing_is_drift():
    profile = feature_profile(pd.Series(np.arange(100, dtype=float)))
    assert shift(profile, pd.Series(np.full(100, np.nan))) > 1


def test_a_value_shared_by_every_customer_is_not_a_distribution_to_compare():
    rng = np.random.default_rng(1)
    training = pd.DataFrame({"brand_mood": rng.uniform(0, 1, 1000), "orders_90d": rng.poisson(3, 1000).astype(float)})
    profile = population_profile(training, rng.uniform(0, 0.3, 1000), seed=0)
    today = pd.DataFrame({"brand_mood": np.full(1000, 0.7), "orders_90d": rng.poisson(3, 1000).astype(float)})
    assert set(drift_summary(profile, today, rng.uniform(0, 0.3, 1000), threshold=0.2)["feature_psi"]) == {"orders_90d"}


def test_a_feature_that_grows_with_time_is_not_compared_and_flagged_ones_show_both_distributions():
    rng = np.random.default_rng(2)
    tenure = rng.uniform(0, 700, 4000)
    training = pd.DataFrame({"tenure_days": tenure, "orders_90d": rng.poisson(3, 4000).astype(float)})
    profile = population_profile(training, rng.uniform(0, 0.3, 4000), seed=0)
    four_months_on = pd.DataFrame({"tenure_days": tenure + 120, "orders_90d": rng.poisson(8, 4000).astype(float)})
    drift = drift_summary(profile, four_months_on, rng.uniform(0, 0.3, 4000), 0.2, growing=("tenure_days",))
    assert drift["flagged_features"] == ["orders_90d"] and drift["not_compared"] == ["tenure_days"]
    bins = drift["distributions"]["orders_90d"]
    assert sum(row["reference"] for row in bins) == pytest.approx(1) and sum(row["current"] for row in bins) == 1
    assert bins[-1]["current"] > 0.5 > bins[-1]["reference"] and bins[-1]["high"] is None
    assert "tenure_days" in drift_summary(profile, four_months_on, rng.uniform(0, 0.3, 4000), 0.2)["flagged_features"]
