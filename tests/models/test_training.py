import numpy as np
import pandas as pd
import pytest

from features.builders import FeatureSettings
from features.labels import ChurnDefinition
from features.registry import churn_directions
from features.training_sets import CutoffSchedule, build_training_set, labelled_cutoffs
from models.artifact import Recipe
from models.training import (
    BoosterSettings,
    ModelSettings,
    blend_weight,
    churn_probability,
    churn_split,
    feature_columns,
    fit_churn,
    fit_satisfaction,
    model_matrix,
)

HORIZON = pd.Timedelta(days=90)
FAST = ModelSettings(
    seed=1,
    churn=BoosterSettings(n_estimators=80, learning_rate=0.08),
    satisfaction=BoosterSettings(n_estimators=80, learning_rate=0.08),
)


def stacked(cutoffs: list[str], customers: list[str], churned: list[int]) -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([pd.to_datetime(cutoffs), customers], names=["as_of", "customer_id"])
    return pd.DataFrame({"orders_90d": np.arange(len(cutoffs), dtype=float), "churned": churned}, index=index)


def panel(cutoffs: list[str], customers: int) -> pd.DataFrame:
    """Every customer at every cutoff, churn alternating."""
    rows = [(c, f"C{i:03d}", (i + k) % 2) for k, c in enumerate(cutoffs) for i in range(customers)]
    return stacked(*map(list, zip(*rows, strict=True)))


def customers(rows: pd.DataFrame, mask: np.ndarray) -> set[str]:
    return set(rows.index.get_level_values("customer_id")[mask])


def test_customers_in_several_cutoffs_never_sit_in_both_training_and_validation_rows():
    rows = panel(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-07-01"], 40)
    split = churn_split(rows, HORIZON, seed=0)
    assert customers(rows, split.train).isdisjoint(customers(rows, split.valid))
    assert set(rows.index.get_level_values("as_of")[split.valid]) == {pd.Timestamp("2025-07-01")}
    assert set(rows.index.get_level_values("as_of")[split.train]) == {
        pd.Timestamp(d) for d in ("2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01")
    }
    assert split.valid.sum() == 10 and split.method.startswith("out of time and customer")


def test_overlapping_cutoffs_split_by_customer_and_say_so():
    rows = panel(["2025-05-01", "2025-06-01", "2025-07-01"], 40)  # no 90-day horizon closes before 2025-07-01
    split = churn_split(rows, HORIZON, seed=0)
    assert customers(rows, split.train).isdisjoint(customers(rows, split.valid))
    assert (
        split.train.sum() == 90 and split.method.startswith("by customer") and "share its time window" in split.method
    )


def test_single_cutoff_holds_out_a_stratified_quarter_of_customers():
    rows = stacked(["2025-01-01"] * 40, [f"C{i}" for i in range(40)], [0, 1] * 20)
    split = churn_split(rows, HORIZON, seed=0)
    assert split.valid.sum() == 10 and rows["churned"][split.valid].mean() == 0.5
    assert not (split.train & split.valid).any() and split.method.startswith("by customer")


def test_text_columns_become_categories():
    matrix = model_matrix(
        pd.DataFrame({"segment": pd.Series(["a", "b"], dtype="str"), "x": [1.0, 2.0]}), ["segment", "x"]
    )
    assert isinstance(matrix["segment"].dtype, pd.CategoricalDtype)


def test_the_prior_gets_weight_only_where_it_helps_held_out_customers():
    rng = np.random.default_rng(0)
    labels = (rng.random(2000) < 0.4).astype(float)
    weak_trees = rng.normal(0, 1, 2000)  # LightGBM knows nothing
    informative = np.where(labels == 1, 1.5, -1.5) + rng.normal(0, 1, 2000)
    assert blend_weight(weak_trees, informative, labels) == 0.75
    assert blend_weight(informative, rng.normal(0, 1, 2000), labels) == 0.0
    assert blend_weight(weak_trees, np.full(2000, np.nan), labels) == 0.0  # nobody lapses: nothing to blend


@pytest.fixture(scope="module")
def trained(small_tables):
    definition = ChurnDefinition().resolved(small_tables)
    cutoffs = labelled_cutoffs(small_tables, CutoffSchedule(), definition)
    rows = build_training_set(small_tables, cutoffs, definition, FeatureSettings())
    recipe = Recipe(
        kind="churn",
        churn=definition,
        features=FeatureSettings(),
        sources=small_tables.event_sources,
        feature_names=tuple(feature_columns(rows.churn)),
        survey_scale="nps",
    )
    model, evaluation = fit_churn(rows.churn, recipe, FAST, churn_directions(recipe.catalogue))
    return rows, recipe, model, evaluation


def test_churn_model_ranks_churners_above_stayers_on_customers_it_never_saw(trained):
    rows, _, model, evaluation = trained
    assert model.metrics["roc_auc"] > 0.8 and 0 < model.metrics["brier"] < model.metrics["churn_rate"]
    assert customers(rows.churn, evaluation.split.train).isdisjoint(customers(rows.churn, evaluation.split.valid))
    assert model.recipe.churn.contract_ends and 1 <= model.metrics["trees"] <= 80


@pytest.mark.parametrize(
    ("feature", "levels"),
    [
        ("days_since_last_order", (5.0, 40.0, 85.0)),
        ("late_deliveries_90d", (0.0, 1.0, 3.0)),
        ("complaints_365d", (0.0, 2.0, 5.0)),
    ],
)
def test_more_of_a_bad_signal_never_lowers_churn_risk(trained, feature, levels):
    rows, _, model, _ = trained
    sample = rows.churn.head(300)
    risks = np.vstack([churn_probability(model, sample.assign(**{feature: level})) for level in levels])
    assert (np.diff(risks, axis=0) >= -1e-12).all()


def test_days_without_an_order_raise_churn_risk(trained):
    rows, _, model, _ = trained
    sample = rows.churn[rows.churn["status"] == "active"].head(300)
    lapsing, recent = (churn_probability(model, sample.assign(days_since_last_order=d)) for d in (85.0, 5.0))
    assert (lapsing - recent).mean() > 0.05


def test_satisfaction_model_tracks_survey_scores_of_customers_it_never_saw(trained):
    rows, recipe, _, _ = trained
    model, evaluation = fit_satisfaction(
        rows.satisfaction, recipe.model_copy(update={"kind": "satisfaction"}), pd.Timestamp("2025-07-01"), FAST
    )
    assert model.metrics["spearman"] > 0.2
    assert model.metrics["mae"] < rows.satisfaction["score"].sub(rows.satisfaction["score"].median()).abs().mean()
    assert customers(rows.satisfaction, evaluation.split.train).isdisjoint(
        customers(rows.satisfaction, evaluation.split.valid)
    )


def test_risk_bands_and_a_stable_control_group():
    from models.scoring import RiskThresholds, ScoringSettings, churn_risk, in_control_group

    settings = ScoringSettings(risk_thresholds=RiskThresholds(medium=0.1, high=0.3), control_group_share=0.05)
    assert churn_risk(np.array([0.0, 0.099, 0.1, 0.3, 0.95]), settings).tolist() == [
        "low",
        "low",
        "medium",
        "high",
        "high",
    ]
    ids = pd.Series([f"C{i:06d}" for i in range(20_000)])
    control = in_control_group(ids, settings)
    assert 0.045 < control.mean() < 0.055
    assert (in_control_group(ids[::-1], settings) == control[::-1]).all()  # depends on the id alone
    assert (control != in_control_group(ids, ScoringSettings(control_group_key="another key"))).any()
