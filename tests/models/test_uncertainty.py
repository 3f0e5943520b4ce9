import numpy as np
import pandas as pd
import pytest

from models.evaluation import expected_calibration_error
from models.uncertainty import (
    Residuals,
    calibrated,
    calibration_map,
    conformal_half_width,
    cross_fitted_calibration,
    cross_fitted_coverage,
    nps,
    nps_probabilities,
    residual_model,
    satisfaction_interval,
)


def test_conformal_half_width_by_hand():
    residuals = np.array([-1.0, 0.5, 2.0, -3.0, 0.1, 0.2, -0.3, 0.4, 0.6])
    # n = 9, rank ceil(10 * 0.9) = 9: the largest |residual|
    assert conformal_half_width(residuals) == 3.0
    assert conformal_half_width(residuals, coverage=0.5) == 0.5  # rank 5 of sorted |r|: .1 .2 .3 .4 .5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_conformal_intervals_cover_90_percent_of_new_answers(seed):
    rng = np.random.default_rng(seed)
    truth = rng.normal(6, 2, 4000)
    predicted = truth + rng.standard_t(4, 4000)  # heavy-tailed errors
    calibration, test = slice(0, 1000), slice(1000, None)
    width = conformal_half_width(truth[calibration] - predicted[calibration])
    covered = np.abs(truth[test] - predicted[test]) <= width
    assert (
        0.87 <= covered.mean() <= 0.93
    )  # marginal guarantee: 0.9 in expectation, about ±0.015 for 1,000 calibration rows
    assert 0.87 <= cross_fitted_coverage(truth[:1000], predicted[:1000], seed) <= 0.94


def test_platt_calibration_fixes_overconfident_probabilities_and_keeps_the_ranking():
    rng = np.random.default_rng(0)
    true_rate = rng.uniform(0.01, 0.5, 6000)
    labels = (rng.random(6000) < true_rate).astype(int)
    overconfident = 1 / (1 + np.exp(-2.0 * np.log(true_rate / (1 - true_rate)) - 0.5))
    mapping = calibration_map(labels[:3000], overconfident[:3000])
    before = expected_calibration_error(labels[3000:], overconfident[3000:])
    after = expected_calibration_error(labels[3000:], calibrated(overconfident[3000:], mapping))
    assert before > 0.05 and after < 0.02
    assert mapping.slope == pytest.approx(0.5, abs=0.05) and mapping.intercept == pytest.approx(
        -0.25, abs=0.1
    )  # undoes 2 * logit + 0.5
    assert np.all(np.diff(calibrated(np.linspace(0.01, 0.99, 50), mapping)) > 0)


def test_a_handful_of_validation_rows_with_one_outcome_leaves_scores_uncalibrated_and_unmeasured():
    probabilities = np.array([0.2, 0.7, 0.4, 0.9, 0.1, 0.3, 0.6])
    assert calibration_map(np.zeros(7, dtype=int), probabilities) is None
    assert np.array_equal(calibrated(probabilities, None), probabilities)
    one_churner = np.array([0, 0, 0, 1, 0, 0, 0])  # some half of seven holds no churner
    assert cross_fitted_calibration(one_churner, probabilities, seed=0) == {}
    rng = np.random.default_rng(0)
    labels = (rng.random(400) < 0.3).astype(int)
    measured = cross_fitted_calibration(labels, np.clip(0.3 + 0.2 * labels + rng.normal(0, 0.15, 400), 0.01, 0.99), 0)
    assert set(measured) == {"calibrated_ece", "calibrated_brier"} and 0 < measured["calibrated_brier"] < 0.25


def test_nps_probabilities_by_hand():
    model = Residuals(half_width=1.0, quantiles=(-2.0, -1.0, 0.0, 1.0, 2.0))
    probabilities = nps_probabilities(np.array([8.0, 3.0]), model)
    # 8 + (-2, -1, 0, 1, 2) = 6, 7, 8, 9, 10 -> one detractor, two passive, two promoters
    assert probabilities.iloc[0].tolist() == pytest.approx([0.2, 0.4, 0.4])
    assert probabilities.iloc[1].tolist() == [1.0, 0.0, 0.0]
    assert nps(probabilities) == pytest.approx(100 * (0.2 - 0.6))


def test_nps_probabilities_in_slices_equal_one_pass(monkeypatch):
    model = Residuals(half_width=1.0, quantiles=tuple(np.linspace(-3, 3, 101)))
    predicted = np.random.default_rng(3).uniform(0, 10, 1_000)
    whole = nps_probabilities(predicted, model)
    monkeypatch.setattr("models.uncertainty.NPS_SLICE", 7)
    pd.testing.assert_frame_equal(nps_probabilities(predicted, model), whole, check_exact=True)
    assert whole.iloc[3].tolist() == nps_probabilities(predicted[3:4], model).iloc[0].tolist()


def test_intervals_stay_on_the_scale():
    lower, upper = satisfaction_interval(
        np.array([0.5, 9.8]), residual_model(np.array([1.0, 3.0]), np.array([0.0, 3.0])), (0.0, 10.0)
    )
    assert lower.tolist() == [0.0, 8.8] and upper.tolist() == [1.5, 10.0]
