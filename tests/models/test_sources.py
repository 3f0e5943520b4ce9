"""Missing sources degrade gracefully: the pipeline's pure path trains on whatever a source has."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features.builders import FeatureSettings, catalogue_for
from features.contract import ContractError, validated_tables
from features.labels import ChurnDefinition
from features.registry import churn_directions
from features.training_sets import CutoffSchedule, build_training_set, labelled_cutoffs
from models.card import model_card
from models.training import BoosterSettings, fit_churn, fit_satisfaction

FAST = BoosterSettings(n_estimators=40, learning_rate=0.1)
DEFINITION = ChurnDefinition(90, ("consumer",))


def trained(tables, schedule=CutoffSchedule(), settings=FeatureSettings()):
    cutoffs = labelled_cutoffs(tables, schedule, DEFINITION)
    rows = build_training_set(tables, cutoffs, DEFINITION, settings)
    churn = fit_churn(rows.churn, DEFINITION.horizon, FAST, 0, churn_directions(catalogue_for(tables, settings)))
    satisfaction = fit_satisfaction(rows.satisfaction, cutoffs[-1], FAST, 0)
    return churn, satisfaction, model_card(tables.event_sources, "lexicon", cutoffs, churn, satisfaction)


@pytest.mark.parametrize("dropped", [("mentions",), ("mentions", "activities"), ("orders", "mentions")])
def test_training_works_without_some_sources(small_tables, dropped):
    churn, satisfaction, card = trained(replace(small_tables, **{name: None for name in dropped}))
    assert not set(dropped) & set(card["sources"])
    assert not any(name.startswith(("mentions_", "mean_sentiment")) for name in churn.feature_names)
    assert churn.metrics["roc_auc"] > 0.55 and satisfaction is not None


def test_without_surveys_there_is_no_satisfaction_model(small_tables):
    churn, satisfaction, card = trained(replace(small_tables, surveys=None))
    assert satisfaction is None and card["satisfaction"]["validation"].startswith("not trained")


def test_a_snapshot_of_customer_attributes_and_churn_events_trains_on_one_cutoff():
    rng = np.random.default_rng(0)
    n = 600
    employees = rng.integers(1, 500, n)
    plan = rng.choice(["basic", "pro"], n)
    leaves = rng.random(n) < np.where(plan == "basic", 0.35, 0.1) * np.where(employees < 50, 1.5, 0.7)
    customers = pd.DataFrame({"customer_id": [f"K{i}" for i in range(n)], "signup_date": "2023-01-01", "segment": "smb", "employees": employees, "plan": plan})
    churn_events = pd.DataFrame({"customer_id": customers["customer_id"][leaves], "churned_at": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 80, leaves.sum()), unit="D")})
    last_day = pd.DataFrame({"customer_id": ["K0"], "churned_at": [pd.Timestamp("2024-04-30")]})
    tables = validated_tables({"customers": customers, "churn_events": pd.concat([churn_events[churn_events.customer_id != "K0"], last_day])}, "nps")
    churn, satisfaction, card = trained(tables, CutoffSchedule(dates=(pd.Timestamp("2024-01-31"),)), FeatureSettings(customer_attributes=("employees", "plan")))
    assert card["sources"] == [] and card["cutoffs"]["count"] == 1
    assert churn.split_method.startswith("single cutoff") and churn.metrics["roc_auc"] > 0.6
    assert set(churn.feature_names) == {"tenure_days", "segment", "employees", "plan"} and satisfaction is None


def test_data_too_short_for_the_horizon_is_a_clear_error(small_tables):
    with pytest.raises(ContractError, match=r"no training cutoff has its whole 90-day churn horizon inside the data"):
        labelled_cutoffs(small_tables, CutoffSchedule(first=pd.Timestamp("2025-12-01")), DEFINITION)
