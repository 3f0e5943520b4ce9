import pandas as pd
import pytest

from features.builders import FeatureSettings
from features.contract import ContractError
from features.labels import ChurnDefinition, churn_labels, churn_population, survey_answers
from features.training_sets import (
    CutoffSchedule,
    build_training_rows,
    build_training_set,
    labelled_cutoffs,
    training_rhythms,
)
from tests.conftest import tiny_tables

AS_OF = pd.Timestamp("2024-04-01")
SETTINGS = ChurnDefinition(horizon_days=30, lapse_segments=("consumer",))
ORDERS = pd.DataFrame(
    {
        "order_id": ["O1", "O2", "O3", "O4", "O5"],
        "customer_id": ["C1", "C1", "C2", "C3", "C3"],
        "ordered_at": ["2024-03-15", "2024-04-20", "2024-03-20", "2024-01-01", "2024-04-10"],
        "amount": [1, 1, 1, 1, 1],
    }
)
CHURN = pd.DataFrame({"customer_id": ["C2", "C3"], "churned_at": ["2024-04-15", "2024-03-01"]})


def labels_and_status(tables, as_of=AS_OF, settings=SETTINGS) -> dict:
    definition = settings.resolved(tables)
    status = churn_population(tables, as_of, definition)
    labels = churn_labels(tables, as_of, definition, status.index)
    return {c: (int(labels[c]), status[c]) for c in status.index}


def test_churn_labels_by_hand():
    # C1 (consumer) ordered again within 30 days: stays. C2 (smb) ends its contract on 04-15: churns.
    # C3 (smb) ended its contract before as_of: no longer a customer to score.
    assert labels_and_status(tiny_tables(orders=ORDERS, churn_events=CHURN)) == {
        "C1": (0, "active"),
        "C2": (1, "active"),
    }


def test_lapse_customers_who_went_a_horizon_without_buying_are_scored_as_lapsed():
    orders = ORDERS.assign(ordered_at=["2024-01-15", "2024-04-20", "2024-03-20", "2024-01-01", "2024-04-10"])
    tables = tiny_tables(orders=orders, churn_events=CHURN)
    # C1's last order before as_of was 2024-01-15: lapsed, and buying again on 04-20 means it did not churn.
    assert labels_and_status(tables)["C1"] == (0, "lapsed")
    capped = labels_and_status(tables, settings=SETTINGS.model_copy(update={"max_inactive_days": 60}))
    assert "C1" not in capped and "C2" in capped  # 77 days without an order is past the 60-day cap


def test_new_customers_are_those_within_their_first_horizon():
    customers = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "signup_date": ["2024-01-01", "2024-03-20"], "segment": ["consumer", "consumer"]}
    )
    tables = tiny_tables(orders=ORDERS[ORDERS.customer_id != "C3"], customers=customers)
    assert labels_and_status(tables) == {"C1": (0, "active"), "C2": (1, "new")}


def test_without_churn_events_everyone_churns_by_lapsing_and_the_whole_base_is_scored():
    assert labels_and_status(tiny_tables(orders=ORDERS)) == {
        "C1": (0, "active"),
        "C2": (1, "active"),
        "C3": (0, "lapsed"),
    }  # C3 bought again on 04-10


def test_without_orders_any_linked_event_counts_as_activity():
    activities = pd.DataFrame(
        {
            "activity_id": ["A1", "A2", "A3"],
            "customer_id": ["C1", "C1", "C2"],
            "occurred_at": ["2024-03-20", "2024-04-10", "2024-03-25"],
            "type": ["call", "call", "email"],
        }
    )
    assert labels_and_status(tiny_tables(activities=activities)) == {
        "C1": (0, "active"),
        "C2": (1, "active"),
        "C3": (1, "lapsed"),
    }


def test_the_resolved_definition_keeps_what_the_source_decided():
    with_events = SETTINGS.resolved(tiny_tables(orders=ORDERS, churn_events=CHURN))
    without = SETTINGS.resolved(tiny_tables(orders=ORDERS))
    assert (with_events.contract_ends, with_events.lapse_events) == (True, ("orders",))
    assert (without.contract_ends, without.lapse_events) == (False, ("orders",))
    assert "every customer lapses" in without.describe() and "contract end" in with_events.describe()


def test_lapse_segments_without_any_event_table_is_an_error():
    customers_only = tiny_tables(churn_events=CHURN)
    with pytest.raises(ContractError, match="churn.lapse_segments"):
        ChurnDefinition(lapse_segments=("smb",)).resolved(customers_only)
    assert ChurnDefinition(lapse_segments=()).resolved(customers_only).contract_ends


def test_survey_features_are_as_of_the_start_of_the_answer_day():
    surveys = pd.DataFrame({"customer_id": ["C1"], "answered_at": ["2024-03-05T15:30:00"], "score": [9]})
    answers = survey_answers(tiny_tables(orders=ORDERS, surveys=surveys))
    assert answers["as_of"].tolist() == [pd.Timestamp("2024-03-05")]


def test_satisfaction_rows_see_only_events_before_the_answer_day():
    surveys = pd.DataFrame(
        {"customer_id": ["C1", "C1"], "answered_at": ["2024-03-15T18:00:00", "2024-03-16T09:00:00"], "score": [3, 9]}
    )
    tables = tiny_tables(orders=ORDERS, surveys=surveys)
    rows = build_training_rows(
        tables,
        [AS_OF],
        SETTINGS.resolved(tables),
        FeatureSettings(windows_days=(30,)),
        training_rhythms(tables, [AS_OF]),
    ).satisfaction
    assert rows["orders_30d"].tolist() == [0, 1]  # O1 on 03-15 is known the day after
    assert rows["score"].tolist() == [3, 9]


def test_cutoffs_keep_the_whole_horizon_inside_the_data(small_tables):
    cutoffs = labelled_cutoffs(small_tables, CutoffSchedule(), ChurnDefinition(horizon_days=90).resolved(small_tables))
    assert cutoffs[-1] + pd.Timedelta(days=90) <= small_tables.data_end
    assert all(c.day == 1 for c in cutoffs) and len(cutoffs) >= 12


def test_explicit_cutoffs_past_the_last_labelled_date_are_dropped(small_tables):
    schedule = CutoffSchedule(dates=("2025-01-01", "2025-12-01"))
    assert labelled_cutoffs(small_tables, schedule, ChurnDefinition(horizon_days=90)) == [pd.Timestamp("2025-01-01")]


def test_churn_training_set_stacks_cutoffs(small_tables):
    cutoffs = [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")]
    rows = build_training_set(small_tables, cutoffs, ChurnDefinition().resolved(small_tables), FeatureSettings()).churn
    assert set(rows.index.get_level_values("as_of")) == set(cutoffs)
    assert rows["churned"].isin([0, 1]).all() and not rows.index.duplicated().any()
    lapsed = rows["status"] == "lapsed"
    assert lapsed.any() and rows.loc[lapsed, "churned"].mean() > 0.8 > rows.loc[~lapsed, "churned"].mean()
    assert (rows.loc[lapsed, "lapses"]).all()  # only lapse customers can be lapsed
