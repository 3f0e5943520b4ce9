import pandas as pd

from features.labels import ChurnDefinition, active_customers, churn_labels, survey_answers
from features.training_sets import CutoffSchedule, churn_training_set, labelled_cutoffs, satisfaction_training_set
from features.builders import FeatureSettings
from tests.conftest import tiny_tables

AS_OF = pd.Timestamp("2024-04-01")
DEFINITION = ChurnDefinition(horizon_days=30, lapse_segments=("consumer",))
ORDERS = pd.DataFrame({
    "order_id": ["O1", "O2", "O3", "O4", "O5"],
    "customer_id": ["C1", "C1", "C2", "C3", "C3"],
    "ordered_at": ["2024-03-15", "2024-04-20", "2024-03-20", "2024-01-01", "2024-04-10"],
    "amount": [1, 1, 1, 1, 1],
})
CHURN = pd.DataFrame({"customer_id": ["C2", "C3"], "churned_at": ["2024-04-15", "2024-03-01"]})


def test_churn_labels_by_hand():
    tables = tiny_tables(orders=ORDERS, churn_events=CHURN)
    labels = churn_labels(tables, AS_OF, DEFINITION)
    # C1 (consumer) ordered again within 30 days: stays. C2 (smb) ends its contract on 04-15: churns.
    # C3 (smb) ended its contract before as_of: no longer a customer to score.
    assert labels.to_dict() == {"C1": 0, "C2": 1}


def test_lapse_customers_must_have_bought_recently_to_be_active():
    orders = ORDERS.assign(ordered_at=["2024-01-15", "2024-04-20", "2024-03-20", "2024-01-01", "2024-04-10"])
    active = active_customers(tiny_tables(orders=orders, churn_events=CHURN), AS_OF, DEFINITION)
    assert "C1" not in active  # last order 2024-01-15: already lapsed by the 30-day definition


def test_without_churn_events_everyone_churns_by_lapsing():
    labels = churn_labels(tiny_tables(orders=ORDERS), AS_OF, DEFINITION)
    assert labels.to_dict() == {"C1": 0, "C2": 1}  # C3 had no order in the 30 days before as_of


def test_without_orders_any_linked_event_counts_as_activity():
    activities = pd.DataFrame({
        "activity_id": ["A1", "A2", "A3"], "customer_id": ["C1", "C1", "C2"],
        "occurred_at": ["2024-03-20", "2024-04-10", "2024-03-25"], "type": ["call", "call", "email"],
    })
    assert churn_labels(tiny_tables(activities=activities), AS_OF, DEFINITION).to_dict() == {"C1": 0, "C2": 1}


def test_survey_features_are_as_of_the_start_of_the_answer_day():
    surveys = pd.DataFrame({"customer_id": ["C1"], "answered_at": ["2024-03-05T15:30:00"], "score": [9]})
    answers = survey_answers(tiny_tables(orders=ORDERS, surveys=surveys))
    assert answers["as_of"].tolist() == [pd.Timestamp("2024-03-05")]


def test_satisfaction_rows_see_only_events_before_the_answer_day():
    surveys = pd.DataFrame({"customer_id": ["C1", "C1"], "answered_at": ["2024-03-15T18:00:00", "2024-03-16T09:00:00"], "score": [3, 9]})
    rows = satisfaction_training_set(tiny_tables(orders=ORDERS, surveys=surveys), FeatureSettings(windows=(30,)))
    assert rows["orders_30d"].tolist() == [0, 1]  # O1 on 03-15 is known the day after
    assert rows["score"].tolist() == [3, 9]


def test_cutoffs_keep_the_whole_horizon_inside_the_data(small_tables):
    cutoffs = labelled_cutoffs(small_tables, CutoffSchedule(), ChurnDefinition(horizon_days=90))
    assert cutoffs[-1] + pd.Timedelta(days=90) <= small_tables.data_end
    assert all(c.day == 1 for c in cutoffs) and len(cutoffs) >= 12


def test_explicit_cutoffs_past_the_last_labelled_date_are_dropped(small_tables):
    schedule = CutoffSchedule(dates=(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-01")))
    assert labelled_cutoffs(small_tables, schedule, ChurnDefinition(horizon_days=90)) == [pd.Timestamp("2025-01-01")]


def test_churn_training_set_stacks_cutoffs(small_tables):
    cutoffs = [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")]
    rows = churn_training_set(small_tables, cutoffs, ChurnDefinition(90, ("consumer",)), FeatureSettings())
    assert set(rows.index.get_level_values("as_of")) == set(cutoffs)
    assert rows["churned"].isin([0, 1]).all() and 0.02 < rows["churned"].mean() < 0.4
    assert not rows.index.duplicated().any()
