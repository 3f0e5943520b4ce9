from dataclasses import replace

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from features.btyd import BgNbd
from features.builders import FeatureSettings, build_features
from features.contract import ContractError, validated_tables
from features.registry import feature_catalogue
from tests.conftest import tiny_tables

AS_OF = pd.Timestamp("2024-04-01")
SETTINGS = FeatureSettings(windows_days=(30, 90), status_final_after_days=14)
HORIZON = 60

ORDERS = pd.DataFrame(
    {
        "order_id": ["O1", "O2", "O3", "O4"],
        "customer_id": ["C1", "C1", "C1", "C2"],
        "ordered_at": ["2024-03-20", "2024-01-15", "2024-04-05", "2024-03-31T23:00:00"],
        "amount": [10.0, 20.0, 100.0, 5.0],
        "status": ["completed", "returned", "returned", "completed"],
        "promised_at": ["2024-03-22", "2024-01-18", "2024-04-07", "2024-04-01T12:00:00"],
        "delivered_at": ["2024-03-25", "2024-01-17", "2024-04-09", "2024-04-02"],
        "discount": [0.1, 0.0, 0.0, 0.0],
        "channel": ["web", "app", "web", "web"],
    }
)
ACTIVITIES = pd.DataFrame(
    {
        "activity_id": ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"],
        "customer_id": ["C1", "C1", "C1", "C2", "C2", "C1", "C1", "C1"],
        "occurred_at": [
            "2024-03-10",
            "2024-03-30",
            "2024-02-01",
            "2024-03-15",
            "2024-01-20",
            "2024-04-02",
            "2024-02-15",
            "2024-03-01",
        ],
        "type": [
            "support_ticket",
            "complaint",
            "meeting",
            "call",
            "support_ticket",
            "call",
            "opportunity_won",
            "opportunity_lost",
        ],
        "direction": ["inbound", "inbound", "outbound", "inbound", "inbound", "outbound", None, None],
        "resolved_at": ["2024-03-12", "2024-04-03", None, None, None, None, None, None],
    }
)
MENTIONS = pd.DataFrame(
    {
        "mention_id": ["M1", "M2", "M3", "M4", "M5"],
        "customer_id": ["C1", None, "C1", None, "C2"],
        "posted_at": ["2024-03-25", "2024-03-26", "2023-12-01", "2024-03-01", "2024-03-20"],
        "text": ["late again", "meh", "great", "ok", "fine"],
        "sentiment": [-0.6, -0.2, 0.8, 0.3, 0.0],
    }
)


RHYTHM = BgNbd(r=0.5, alpha=20.0, a=2.0, b=5.0)


def features_of(**frames) -> pd.DataFrame:
    return build_features(tiny_tables(**frames), AS_OF, SETTINGS, HORIZON)


def test_purchase_features_by_hand():
    features = features_of(orders=ORDERS)
    c1, c2 = features.loc["C1"], features.loc["C2"]
    assert (c1["orders_30d"], c1["orders_90d"], c2["orders_30d"]) == (1, 2, 1)
    assert (c1["spend_90d"], c2["spend_90d"]) == (30.0, 5.0)
    assert c1["days_since_last_order"] == 12.0 and c2["days_since_last_order"] == pytest.approx(1 / 24)
    assert (c1["order_trend_90d"], c1["spend_trend_90d"], c2["order_trend_90d"]) == (3.0, 31.0, 2.0)
    assert c1["average_order_value_90d"] == 15.0
    assert c1["typical_order_gap_days"] == 65.0 and c1["order_overdue_ratio"] == pytest.approx(12 / 65)
    assert np.isnan(c2["typical_order_gap_days"]) and np.isnan(c2["order_overdue_ratio"])
    assert c1["discount_share_90d"] == 0.5


def test_buying_rhythm_reads_frequency_recency_age_and_the_base_model():
    features = build_features(tiny_tables(orders=ORDERS), AS_OF, SETTINGS, HORIZON, RHYTHM)
    c1, c3 = features.loc["C1"], features.loc["C3"]
    # C1 ordered on 01-15 and 03-20 before as_of (04-05 is later): one repeat day, 65 days apart, first 77 days ago.
    assert (c1["order_days"], c1["days_from_first_to_last_order"], c1["days_since_first_order"]) == (2, 65, 77)
    assert c1["lifetime_average_order_value"] == 15.0 and np.isnan(
        c1["order_gap_variation"]
    )  # one gap: no spread to measure yet
    x, t_x, age = np.array([1.0]), np.array([65.0]), np.array([77.0])
    assert c1["probability_active"] == pytest.approx(RHYTHM.probability_alive(x, t_x, age)[0])
    assert c1[f"probability_no_order_{HORIZON}d"] == pytest.approx(
        RHYTHM.probability_no_purchase(HORIZON, x, t_x, age)[0]
    )
    assert c1[f"expected_orders_{HORIZON}d"] == pytest.approx(RHYTHM.expected_purchases(HORIZON, x, t_x, age)[0])
    assert c3["order_days"] == 0 and np.isnan(
        c3[f"probability_no_order_{HORIZON}d"]
    )  # no orders: BG/NBD has nothing to say


def test_statuses_count_only_once_final():
    features = features_of(orders=ORDERS)
    c1, c2 = features.loc["C1"], features.loc["C2"]
    assert (c1["returns_30d"], c1["returns_90d"]) == (0, 1)  # O2 final on 2024-01-29; O1 and O3 not final before as_of
    assert (c1["return_rate_90d"], c1["refund_rate_90d"], c1["cancellation_rate_90d"]) == (1.0, 0.0, 0.0)
    assert np.isnan(c2["return_rate_90d"])


def test_deliveries_count_when_they_arrive():
    features = features_of(orders=ORDERS)
    c1, c2 = features.loc["C1"], features.loc["C2"]
    assert (c1["late_deliveries_30d"], c1["late_deliveries_90d"]) == (1, 1)  # O1 arrived 2024-03-25, three days late
    assert (c1["late_delivery_rate_90d"], c1["mean_days_late_90d"], c1["days_since_last_late_delivery"]) == (
        0.5,
        3.0,
        7.0,
    )
    assert c2["late_deliveries_30d"] == 0 and np.isnan(c2["late_delivery_rate_90d"])  # O4 not delivered yet at as_of
    assert (c1["channels_used_90d"], c1["main_channel_share_90d"], c2["main_channel_share_90d"]) == (2, 0.5, 1.0)


def test_activity_features_by_hand():
    features = features_of(activities=ACTIVITIES)
    c1, c2 = features.loc["C1"], features.loc["C2"]
    assert (c1["support_tickets_30d"], c1["complaints_30d"], c2["support_tickets_90d"]) == (1, 1, 1)
    assert c1["escalations_90d"] == 1 and c2["escalations_90d"] == 0  # C1's complaint came 20 days after a ticket
    assert (c1["open_tickets"], c2["open_tickets"]) == (1, 1)  # C1's complaint resolved only after as_of; C2's never
    assert (c1["unresolved_ticket_share_90d"], c2["unresolved_ticket_share_90d"]) == (0.5, 1.0)
    assert c1["median_resolution_days_90d"] == 2.0 and np.isnan(c2["median_resolution_days_90d"])
    assert (c1["outbound_touches_90d"], c1["outbound_touches_30d"], c1["meetings_90d"]) == (1, 0, 1)
    assert (c2["inbound_contacts_30d"], c1["inbound_contacts_30d"]) == (1, 0)
    assert c1["days_since_last_touch"] == 60.0
    assert (c1["opportunities_won_90d"], c1["opportunities_lost_90d"], c1["win_rate_90d"]) == (1, 1, 0.5)


def test_mention_features_by_hand():
    features = features_of(mentions=MENTIONS)
    c1, c2, c3 = features.loc["C1"], features.loc["C2"], features.loc["C3"]
    assert (c1["mentions_30d"], c1["mentions_90d"]) == (1, 1)  # the unlinked post is not C1's
    assert (c1["mean_sentiment_30d"], c1["min_sentiment_90d"], c1["negative_mention_share_90d"]) == (-0.6, -0.6, 1.0)
    assert c1["days_since_last_negative_mention"] == 7.0 and np.isnan(c2["days_since_last_negative_mention"])
    assert c1["sentiment_trend_90d"] == pytest.approx(-1.4) and np.isnan(c2["sentiment_trend_90d"])
    assert c1["sentiment_vs_brand_90d"] == pytest.approx(-0.6 - (-0.6 - 0.2 + 0.3 + 0.0) / 4)
    assert (c3["brand_negative_share_30d"], c3["brand_negative_share_90d"]) == (1.0, 0.5)  # brand mood reaches everyone
    assert np.isnan(c3["mean_sentiment_30d"])


def test_mentions_not_yet_scored_give_counts_and_missing_sentiment():
    features = features_of(mentions=MENTIONS.drop(columns="sentiment"))
    assert features["mean_sentiment_30d"].isna().all() and features.loc["C1", "mentions_90d"] == 1


def test_named_customer_attributes_become_features():
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "signup_date": ["2024-01-01"] * 2,
            "employees": ["12", "300"],
            "tier": ["gold", None],
        }
    )
    tables = validated_tables({"customers": customers, "orders": ORDERS[ORDERS.customer_id != "C3"]}, "nps")
    features = build_features(
        tables, AS_OF, FeatureSettings(windows_days=(30,), customer_attributes=("employees", "tier")), HORIZON
    )
    assert features["employees"].tolist() == [12.0, 300.0] and features.loc["C1", "tier"] == "gold"
    with pytest.raises(ContractError, match=r"customers: column 'region' is named in features.customer_attributes"):
        build_features(tables, AS_OF, FeatureSettings(customer_attributes=("region",)), HORIZON)


def test_build_features_fills_counts_and_keeps_unknown_recency_missing():
    features = build_features(
        tiny_tables(orders=ORDERS, activities=ACTIVITIES, mentions=MENTIONS), AS_OF, SETTINGS, HORIZON
    )
    assert list(features.index) == ["C1", "C2", "C3"]
    assert features.loc["C3", "orders_90d"] == 0 and np.isnan(features.loc["C3", "days_since_last_order"])
    assert features.loc["C1", "tenure_days"] == 91 and features.loc["C2", "segment"] == "smb"


def test_customers_who_sign_up_later_are_not_scored():
    features = build_features(tiny_tables(orders=ORDERS), pd.Timestamp("2023-06-01"), SETTINGS, HORIZON)
    assert features.empty


@pytest.mark.parametrize("sources", [("orders",), ("activities",), ("mentions",), ("orders", "activities", "mentions")])
def test_built_columns_match_the_registry(sources):
    given = {"orders": ORDERS, "activities": ACTIVITIES, "mentions": MENTIONS}
    tables = tiny_tables(**{name: given[name] for name in sources})
    features = build_features(tables, AS_OF, SETTINGS, HORIZON, RHYTHM)
    registry = feature_catalogue(SETTINGS.windows_days, HORIZON, tables.event_sources)
    assert list(features.columns) == list(registry)


def test_builders_do_not_modify_their_inputs():
    tables = tiny_tables(orders=ORDERS, activities=ACTIVITIES, mentions=MENTIONS)
    before = {name: frame.copy() for name, frame in tables.present().items()}
    build_features(tables, AS_OF, SETTINGS, HORIZON)
    for name, frame in tables.present().items():
        pdt.assert_frame_equal(frame, before[name])


def test_the_order_of_customers_and_events_does_not_change_any_feature():
    tables = tiny_tables(orders=ORDERS, activities=ACTIVITIES, mentions=MENTIONS)
    shuffled = replace(tables, **{name: frame.iloc[::-1] for name, frame in tables.present().items()})
    built = build_features(tables, AS_OF, SETTINGS, HORIZON, RHYTHM)
    pdt.assert_frame_equal(build_features(shuffled, AS_OF, SETTINGS, HORIZON, RHYTHM).loc[built.index], built)
