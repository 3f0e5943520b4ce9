"""Missing sources degrade gracefully: the pipeline's pure path trains on whatever a source has, and
a model scored on another source keeps the meaning it was trained with."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features.builders import FeatureSettings
from features.contract import ContractError, validated_tables
from features.labels import ChurnDefinition
from features.registry import churn_directions
from features.training_sets import CutoffSchedule, build_training_set, churn_rows, labelled_cutoffs
from models.artifact import Recipe, recipe_differences, recipe_warnings
from models.card import model_card
from models.training import BoosterSettings, ModelSettings, feature_columns, fit_churn, fit_satisfaction

FAST = ModelSettings(
    seed=0,
    churn=BoosterSettings(n_estimators=40, learning_rate=0.1),
    satisfaction=BoosterSettings(n_estimators=40, learning_rate=0.1),
)


def trained(tables, schedule=CutoffSchedule(), settings=FeatureSettings(), churn=ChurnDefinition()):
    definition = churn.resolved(tables)
    cutoffs = labelled_cutoffs(tables, schedule, definition)
    rows = build_training_set(tables, cutoffs, definition, settings)
    recipe = Recipe(
        kind="churn",
        churn=definition,
        features=settings,
        sources=tables.event_sources,
        feature_names=tuple(feature_columns(rows.churn)),
        survey_scale="nps",
    )
    model, _ = fit_churn(rows.churn, recipe, FAST, churn_directions(recipe.catalogue))
    satisfaction = fit_satisfaction(rows.satisfaction, recipe, cutoffs[-1], FAST)
    return (
        model,
        satisfaction and satisfaction[0],
        model_card(tables.event_sources, "lexicon", cutoffs, model, satisfaction and satisfaction[0]),
    )


@pytest.mark.parametrize("dropped", [("mentions",), ("mentions", "activities"), ("orders", "mentions")])
def test_training_works_without_some_sources(small_tables, dropped):
    churn, satisfaction, card = trained(replace(small_tables, **dict.fromkeys(dropped)))
    assert not set(dropped) & set(card["sources"])
    assert not any(name.startswith(("mentions_", "mean_sentiment")) for name in churn.feature_names)
    assert churn.metrics["roc_auc"] > 0.55 and satisfaction is not None


def test_without_surveys_there_is_no_satisfaction_model(small_tables):
    churn, satisfaction, card = trained(replace(small_tables, surveys=None))
    assert satisfaction is None and card["satisfaction"]["validation"].startswith("not trained")


def snapshot(n: int = 600, with_churn_events: bool = True):
    """One row of attributes per customer and, for a labelled part, when they left: no events at all."""
    rng = np.random.default_rng(0)
    employees = rng.integers(1, 500, n)
    plan = rng.choice(["basic", "pro"], n)
    leaves = rng.random(n) < np.where(plan == "basic", 0.35, 0.1) * np.where(employees < 50, 1.5, 0.7)
    signup = pd.Timestamp("2024-04-30") - pd.to_timedelta(
        rng.integers(0, 2000, n), unit="D"
    )  # as an export derives it from tenure
    customers = pd.DataFrame(
        {
            "customer_id": [f"K{i}" for i in range(n)],
            "signup_date": signup,
            "segment": "smb",
            "employees": employees,
            "plan": plan,
        }
    )
    churn_events = pd.DataFrame(
        {"customer_id": customers["customer_id"][leaves], "churned_at": pd.Timestamp("2024-04-30")}
    )  # left by the export day
    raw = {"customers": customers} | ({"churn_events": churn_events} if with_churn_events else {})
    return validated_tables(raw, "nps")


ATTRIBUTES = FeatureSettings(customer_attributes=("employees", "plan"))


def test_a_snapshot_of_customer_attributes_and_churn_events_trains_on_one_cutoff():
    churn, satisfaction, card = trained(snapshot(), settings=ATTRIBUTES)
    assert (
        card["sources"] == []
        and card["cutoffs"] == {"count": 1, "first": "2024-02-01", "last": "2024-02-01"}
        and "contract end" in card["churn_definition"]
    )
    assert churn.validation.startswith("by customer") and churn.metrics["roc_auc"] > 0.6
    assert set(churn.feature_names) == {"tenure_days", "segment", "employees", "plan"} and satisfaction is None


def test_scoring_the_same_customers_without_churn_events_scores_everyone_under_the_models_definition():
    churn, _, _ = trained(snapshot(), settings=ATTRIBUTES)
    unlabelled = snapshot(with_churn_events=False)
    assert recipe_differences(churn.recipe, ChurnDefinition(), ATTRIBUTES, unlabelled) == []
    assert "every customer listed is taken as still under contract" in recipe_warnings(churn.recipe, unlabelled)[0]
    rows = churn_rows(unlabelled, unlabelled.data_end, churn.recipe.churn, churn.recipe.features)
    assert len(rows) == 600 and set(rows["status"]) == {"new", "active"} and not rows["lapses"].any()


def test_a_source_or_config_that_contradicts_the_model_is_named(small_tables):
    churn, _, _ = trained(small_tables)
    assert recipe_differences(churn.recipe, ChurnDefinition(), FeatureSettings(), small_tables) == []
    differences = recipe_differences(
        churn.recipe,
        ChurnDefinition(horizon_days=30),
        FeatureSettings(windows_days=(7, 30)),
        replace(small_tables, mentions=None, churn_events=None),
    )
    assert any(
        d.startswith("config churn.horizon_days is 30, but the churn model was trained with 90") for d in differences
    )
    assert any(d.startswith("config features.windows_days is 7, 30") for d in differences)
    assert any(d.startswith("table mentions is missing") for d in differences)
    assert any(
        d.startswith("table churn_events is missing, but the churn model was trained with contract ends")
        for d in differences
    )


def test_data_too_short_for_the_horizon_is_a_clear_error(small_tables):
    with pytest.raises(ContractError, match=r"no training cutoff has its whole 90-day churn horizon inside the data"):
        labelled_cutoffs(small_tables, CutoffSchedule(first="2025-12-01"), ChurnDefinition().resolved(small_tables))
