import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from features.registry import PLAYBOOK, feature_catalogue
from models.explain import TOP_REASONS, leading, probability_points, reasons_json, shap_values, sigmoid, top_reasons


@pytest.fixture(scope="module")
def churn_model():
    rng = np.random.default_rng(0)
    matrix = pd.DataFrame(
        {
            "late_deliveries_90d": rng.poisson(1, 800).astype(float),
            "orders_90d": rng.poisson(3, 800).astype(float),
            "segment": pd.Categorical(rng.choice(["consumer", "smb"], 800)),
        }
    )
    logit = -2 + 0.8 * matrix["late_deliveries_90d"] - 0.4 * matrix["orders_90d"]
    labels = rng.random(800) < sigmoid(logit)
    model = lgb.LGBMClassifier(n_estimators=40, verbose=-1, random_state=0).fit(matrix, labels)
    return model, matrix


def test_lightgbm_contributions_equal_shap_tree_explainer(churn_model):
    model, matrix = churn_model
    ours = shap_values(model.booster_, matrix)
    explainer = shap.TreeExplainer(model)
    theirs = explainer.shap_values(matrix)
    theirs = theirs[1] if isinstance(theirs, list) else theirs
    np.testing.assert_allclose(ours.drop(columns="expected").to_numpy(), theirs, atol=1e-6)


def test_probability_points_add_up_to_the_probability_shift(churn_model):
    model, matrix = churn_model
    log_odds = shap_values(model.booster_, matrix)
    points = probability_points(log_odds)
    probability = model.predict_proba(matrix)[:, 1]
    base = sigmoid(log_odds["expected"])
    np.testing.assert_allclose(points.sum(axis=1), probability - base, atol=1e-9)
    assert (np.sign(points.to_numpy()) == np.sign(log_odds.drop(columns="expected").to_numpy())).all()


MEDIANS = {
    "late_deliveries_90d": 0.0,
    "orders_90d": 2.0,
    "days_since_last_order": 40.0,
    "days_since_last_negative_mention": 60.0,
}


@pytest.mark.parametrize("slice_rows", [100_000, 2, 1])
def test_people_see_only_actionable_drivers_that_raise_the_risk_and_read_sensibly(slice_rows, monkeypatch):
    """The same reasons whether customers are explained all at once or a slice at a time."""
    monkeypatch.setattr("models.explain.REASONS_SLICE", slice_rows)
    contributions = pd.DataFrame(
        {
            "late_deliveries_90d": [0.12, -0.01, 0.0],
            "orders_90d": [-0.05, 0.04, 0.03],
            "segment": [0.3, -0.03, 0.2],
            "days_since_last_negative_mention": [0.02, 0.0, 0.09],
        },
        index=["C1", "C2", "C3"],
    )
    matrix = pd.DataFrame(
        {
            "late_deliveries_90d": [3.0, 0.0, 0.0],
            "orders_90d": [1.0, 0.0, 5.0],
            "segment": ["smb", "consumer", "smb"],
            "days_since_last_negative_mention": [515.0, np.nan, 515.0],
        },
        index=["C1", "C2", "C3"],
    )
    catalogue = feature_catalogue((90,), 90, ("orders", "mentions"))
    reasons = top_reasons(contributions, matrix, catalogue, MEDIANS, PLAYBOOK)
    # C1: the segment is no action, fewer orders lowered its risk, a negative post 515 days ago reads as no cause
    assert reasons.loc["C1", "reason_1"] == "3 late deliveries in the last 90 days (+12.0 pts churn risk)"
    assert reasons.loc["C1", ["reason_2", "reason_3"]].tolist() == ["", ""]
    assert reasons.loc["C1", "next_action"] == PLAYBOOK["apologise"]["en"]
    assert reasons.loc["C2", "reason_1"] == "0 orders in the last 90 days (+4.0 pts churn risk)"
    assert reasons.loc["C2", "next_action"] == PLAYBOOK["reminder"]["en"]
    # C3: 5 orders sit above the median, so "5 orders" is no cause of risk even where the model leans on it
    assert reasons.loc["C3", ["reason_1", "next_action"]].tolist() == ["", ""]
    assert [r["feature"] for r in json.loads(reasons.loc["C1", "reasons_json"])] == [
        "segment",
        "late_deliveries_90d",
        "orders_90d",
    ]
    assert json.loads(reasons.loc["C2", "reasons_json"])[0] == {
        "feature": "orders_90d",
        "value": 0.0,
        "contribution": 0.04,
    }


def test_reasons_and_actions_read_in_finnish_when_asked():
    contributions = pd.DataFrame(
        {"late_deliveries_90d": [0.12], "days_since_last_order": [0.05], "segment": [-0.01]}, index=["C1"]
    )
    matrix = pd.DataFrame(
        {"late_deliveries_90d": [3.0], "days_since_last_order": [np.nan], "segment": ["smb"]}, index=["C1"]
    )
    reasons = top_reasons(contributions, matrix, feature_catalogue((90,), 90, ("orders",)), MEDIANS, PLAYBOOK, "fi")
    assert (
        reasons.loc["C1", "reason_1"]
        == "3 myöhästynyttä toimitusta viimeisten 90 päivän aikana (+12,0 %-yks. poistumariski)"
    )
    assert reasons.loc["C1", "reason_2"] == "ei vielä tilauksia (+5,0 %-yks. poistumariski)"
    assert reasons.loc["C1", "next_action"] == PLAYBOOK["apologise"]["fi"]


def test_a_model_of_fewer_features_than_reasons_leaves_the_rest_empty():
    contributions = pd.DataFrame({"late_deliveries_90d": [0.12, -0.02]}, index=["C1", "C2"])
    matrix = pd.DataFrame({"late_deliveries_90d": [3.0, 0.0]}, index=["C1", "C2"])
    reasons = top_reasons(contributions, matrix, feature_catalogue((90,), 90, ("orders",)), MEDIANS, PLAYBOOK)
    assert list(reasons.columns[:TOP_REASONS]) == [f"reason_{k + 1}" for k in range(TOP_REASONS)]
    assert reasons.loc["C1", "reason_1"].startswith("3 late deliveries")
    assert (reasons[["reason_2", "reason_3"]] == "").all().all() and reasons.loc["C2", "reason_1"] == ""


def test_every_playbook_action_and_feature_description_has_both_languages():
    catalogue = feature_catalogue((30, 90), 60, ("orders", "activities", "mentions"), themes=("billing · lasku",))
    assert catalogue["theme_billing_lasku_90d"].reason_text(2.0, "fi").startswith("otti esiin aiheen")
    assert all(feature.description_fi for feature in catalogue.values())
    assert {feature.action for feature in catalogue.values()} - {""} == set(PLAYBOOK)
    assert all(set(texts) == {"en", "fi"} and all(texts.values()) for texts in PLAYBOOK.values())


def test_every_feature_has_a_finnish_reason_with_the_same_placeholders():
    import string

    def fields(text: str) -> list[str]:
        return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)

    for feature in feature_catalogue((30, 90), 60, ("orders", "activities", "mentions")).values():
        assert feature.fi, feature.name
        assert fields(feature.fi[0]) == fields(feature.reason), feature.name


def test_pain_points_rank_drivers_by_revenue_at_risk():
    from models.explain import pain_points

    points = pd.DataFrame(
        {"late_deliveries_90d": [0.2, 0.0], "complaints_90d": [0.1, 0.3], "orders_90d": [-0.05, 0.1]},
        index=["C1", "C2"],
    )
    catalogue = feature_catalogue((90,), 90, ("orders", "activities"))
    ranked = pain_points(points, np.array([0.5, 0.2]), np.array([100.0, 50.0]), catalogue)
    # C1: delivery 2/3 and service 1/3 of 0.5 x 100; C2: service 3/4 and engagement 1/4 of 0.2 x 50
    assert ranked["driver"].tolist() == ["delivery", "service responsiveness", "engagement"]
    assert ranked["revenue_at_risk"].tolist() == pytest.approx([100 / 3, 50 / 3 + 7.5, 2.5])
    assert ranked["customers_most_affected"].tolist() == [1, 1, 0]


def test_reason_stability_is_one_for_the_same_model_and_low_for_an_unrelated_one():
    from models.explain import reason_stability

    rng = np.random.default_rng(2)
    matrix = pd.DataFrame(rng.normal(size=(600, 6)), columns=[f"x{i}" for i in range(6)])
    signal = lgb.LGBMClassifier(n_estimators=40, verbose=-1, random_state=0).fit(
        matrix, matrix["x0"] + matrix["x1"] + matrix["x2"] > 0
    )
    other = lgb.LGBMClassifier(n_estimators=40, verbose=-1, random_state=0).fit(
        matrix, matrix["x3"] + matrix["x4"] + matrix["x5"] > 0
    )
    assert reason_stability([signal.booster_, signal.booster_], matrix) == 1.0
    assert reason_stability([signal.booster_, other.booster_], matrix) < 0.5


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        float,
        array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=7),
        elements=st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 2.0]),
    )
)
def test_leading_positions_are_a_stable_sorts_first_three(values):
    """Partitioned out, not sorted: the same positions as a full stable sort, ties (there are many here) to the left."""
    assert np.array_equal(leading(values), np.argsort(-values, axis=1, kind="stable")[:, :TOP_REASONS])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=False, width=64) | st.text(max_size=5) | st.none(),
            st.floats(min_value=-1, max_value=1),
        ),
        min_size=3,
        max_size=3,
    )
)
def test_reasons_json_is_what_json_dumps_writes(record):
    names = np.array(["late_deliveries_90d", "segment", "päivät"], dtype=object)
    values = np.array([[value for value, _ in record]], dtype=object)
    points = np.array([[point for _, point in record]])
    order = np.array([[2, 0, 1]])
    expected = [
        {"feature": names[k], "value": values[0, slot], "contribution": float(points[0, k])}
        for slot, k in enumerate(order[0])
    ]
    assert reasons_json(names, values, points, order) == [json.dumps(expected, ensure_ascii=False)]
