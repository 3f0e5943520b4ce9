import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.tree_shap import MOST_SPLITS, shap_values, splits_in


def generated(seed: int, rows: int = 600, precision: type = np.float64) -> tuple[pd.DataFrame, np.ndarray]:
    """Features with the awkward values LightGBM treats specially: missing, exact zeros, repeated integers, and a
    category column with missing entries."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "spend": rng.gamma(2, 50, rows),
            "orders": rng.poisson(2, rows).astype(float),
            "mood": rng.normal(0, 1, rows),
            "late": rng.poisson(0.5, rows).astype(float),
            "segment": pd.Categorical(rng.choice(["consumer", "smb", "enterprise", None], rows)),
        }
    )
    frame.loc[rng.random(rows) < 0.2, "spend"] = np.nan
    frame.loc[rng.random(rows) < 0.3, "mood"] = 0.0
    frame.loc[rng.random(rows) < 0.1, "mood"] = np.nan
    frame = frame.astype(dict.fromkeys(["spend", "orders", "mood", "late"], precision))
    logit = 0.02 * frame["spend"].fillna(0) - frame["orders"] + frame["mood"].fillna(1) + (frame["segment"] == "smb")
    return frame, (logit + rng.normal(0, 1, rows) > 0).to_numpy()


def scored_frame(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Rows unlike the training ones: a category never seen, negative and out-of-range values."""
    rng = np.random.default_rng(seed + 100)
    other = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    other["segment"] = pd.Categorical(rng.choice(["consumer", "smb", "public sector", None], len(other)))
    other.loc[rng.random(len(other)) < 0.1, "orders"] = -3.0
    return other


@pytest.mark.parametrize(
    "params",
    [
        {"num_leaves": 7},
        {"num_leaves": 7, "zero_as_missing": True},
        {"num_leaves": 4, "use_missing": False},
        {"num_leaves": 9, "max_depth": 8},
        {"num_leaves": 31, "min_child_samples": 5},
        {"num_leaves": 7, "objective": "regression"},
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_tabulated_shap_values_equal_lightgbm_pred_contrib(params, seed):
    frame, labels = generated(seed)
    target = labels.astype(float) * 3 if params.get("objective") == "regression" else labels
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "seed": seed, "min_child_samples": 20} | params,
        lgb.Dataset(frame, target),
        num_boost_round=30,
    )
    scored = scored_frame(frame, seed)
    ours = shap_values(booster, scored)
    assert list(ours.columns) == [*scored.columns, "expected"]
    np.testing.assert_allclose(ours.to_numpy(), booster.predict(scored, pred_contrib=True), rtol=0, atol=1e-12)


def test_float32_features_are_compared_in_float32_as_lightgbm_converts_them():
    frame, labels = generated(2, precision=np.float32)
    numeric = frame.drop(columns="segment")
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7}, lgb.Dataset(numeric, labels), 30)
    assert max(splits_in(t["tree_structure"]) for t in booster.dump_model()["tree_info"]) <= MOST_SPLITS
    np.testing.assert_allclose(
        shap_values(booster, numeric).to_numpy(), booster.predict(numeric, pred_contrib=True), rtol=0, atol=1e-12
    )


def test_values_add_up_to_the_raw_prediction_across_chunks(monkeypatch):
    monkeypatch.setattr("models.tree_shap.ROWS_PER_CHUNK", 64)
    frame, labels = generated(3, rows=1000)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7}, lgb.Dataset(frame, labels), 20)
    values = shap_values(booster, frame)
    np.testing.assert_allclose(values.sum(axis=1), booster.predict(frame, raw_score=True), atol=1e-12)
