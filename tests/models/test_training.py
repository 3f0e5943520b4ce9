import numpy as np
import pandas as pd
import pytest

from features.builders import FeatureSettings
from features.registry import churn_directions, feature_catalogue
from features.labels import ChurnDefinition
from features.training_sets import CutoffSchedule, churn_training_set, labelled_cutoffs, satisfaction_training_set
from models.training import BoosterSettings, churn_split, fit_churn, fit_satisfaction, model_matrix

HORIZON = pd.Timedelta(days=90)
FAST = BoosterSettings(n_estimators=80, learning_rate=0.08)


def stacked(cutoffs: list[str], churned: list[int]) -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([pd.to_datetime(cutoffs), [f"C{i}" for i in range(len(cutoffs))]], names=["as_of", "customer_id"])
    return pd.DataFrame({"orders_90d": np.arange(len(cutoffs), dtype=float), "churned": churned}, index=index)


def test_out_of_time_split_trains_only_on_horizons_closed_before_validation():
    rows = stacked(["2025-01-01", "2025-03-01", "2025-04-01", "2025-07-01", "2025-07-01"], [0, 1, 0, 1, 0])
    split = churn_split(rows, HORIZON, seed=0)
    assert split.train.tolist() == [True, True, True, False, False]
    assert split.valid.tolist() == [False, False, False, True, True]
    assert split.method.startswith("out of time")


def test_single_cutoff_falls_back_to_a_stratified_customer_split():
    rows = stacked(["2025-01-01"] * 40, [0, 1] * 20)
    split = churn_split(rows, HORIZON, seed=0)
    assert split.valid.sum() == 10 and rows["churned"][split.valid].mean() == 0.5
    assert not (split.train & split.valid).any()
    assert split.method.startswith("single cutoff")


def test_text_columns_become_categories():
    matrix = model_matrix(pd.DataFrame({"segment": pd.Series(["a", "b"], dtype="str"), "x": [1.0, 2.0]}), ["segment", "x"])
    assert isinstance(matrix["segment"].dtype, pd.CategoricalDtype)


DIRECTIONS = churn_directions(feature_catalogue((30, 90, 365), ("orders", "activities", "mentions")))


@pytest.fixture(scope="module")
def churn_rows(small_tables):
    definition = ChurnDefinition(90, ("consumer",))
    cutoffs = labelled_cutoffs(small_tables, CutoffSchedule(), definition)
    return churn_training_set(small_tables, cutoffs, definition, FeatureSettings())


def test_churn_model_ranks_churners_above_stayers_out_of_time(churn_rows):
    fitted = fit_churn(churn_rows, HORIZON, FAST, seed=1, directions=DIRECTIONS)
    assert fitted.metrics["roc_auc"] > 0.62
    assert 0 < fitted.metrics["brier"] < fitted.metrics["churn_rate"]


@pytest.mark.parametrize(("feature", "levels"), [("days_since_last_order", (5.0, 40.0, 85.0)), ("late_deliveries_90d", (0.0, 1.0, 3.0)), ("complaints_365d", (0.0, 2.0, 5.0))])
def test_more_of_a_bad_signal_never_lowers_churn_risk(churn_rows, feature, levels):
    fitted = fit_churn(churn_rows, HORIZON, FAST, seed=1, directions=DIRECTIONS)
    sample = model_matrix(churn_rows.head(300), fitted.feature_names)
    risks = np.vstack([fitted.estimator.predict_proba(sample.assign(**{feature: level}))[:, 1] for level in levels])
    assert (np.diff(risks, axis=0) >= -1e-12).all()


def test_days_without_an_order_raise_churn_risk(churn_rows):
    fitted = fit_churn(churn_rows, HORIZON, FAST, seed=1, directions=DIRECTIONS)
    sample = model_matrix(churn_rows.head(300), fitted.feature_names)
    lapsing, recent = (fitted.estimator.predict_proba(sample.assign(days_since_last_order=d))[:, 1] for d in (85.0, 5.0))
    assert (lapsing - recent).mean() > 0.05


def test_satisfaction_model_tracks_survey_scores(small_tables):
    rows = satisfaction_training_set(small_tables, FeatureSettings())
    fitted = fit_satisfaction(rows, pd.Timestamp("2025-07-01"), FAST, seed=1)
    assert fitted.metrics["spearman"] > 0.2
    assert fitted.metrics["mae"] < rows["score"].sub(rows["score"].median()).abs().mean()


def test_risk_bands_and_a_stable_control_group():
    from models.scoring import ScoringSettings, churn_risk, in_control_group

    settings = ScoringSettings(medium_risk_from=0.1, high_risk_from=0.3, control_share=0.05)
    assert churn_risk(np.array([0.0, 0.099, 0.1, 0.3, 0.95]), settings).tolist() == ["low", "low", "medium", "high", "high"]
    ids = pd.Series([f"C{i:06d}" for i in range(20_000)])
    control = in_control_group(ids, settings)
    assert 0.045 < control.mean() < 0.055
    assert (in_control_group(ids[::-1], settings) == control[::-1]).all()  # depends on the id alone
    assert (control != in_control_group(ids, ScoringSettings(control_key="another key"))).any()
