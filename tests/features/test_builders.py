import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from features.builders import BUILDERS, FeatureSettings, build_features, mention_features
from features.registry import feature_catalogue
from tests.conftest import tiny_tables

AS_OF = pd.Timestamp("2024-04-01")
SETTINGS = FeatureSettings(windows=(30, 90), status_final_after_days=14)

ORDERS = pd.DataFrame({
    "order_id": ["O1", "O2", "O3", "O4"],
    "customer_id": ["C1", "C1", "C1", "C2"],
    "ordered_at": ["2024-03-20", "2024-01-15", "2024-04-05", "2024-03-31T23:00:00"],
    "amount": [10.0, 20.0, 100.0, 5.0],
    "status": ["completed", "returned", "returned", "completed"],
    "promised_at": ["2024-03-22", "2024-01-18", "2024-04-07", "2024-04-01T12:00:00"],
    "delivered_at": ["2024-03-25", "2024-01-17", "2024-04-09", "2024-04-02"],
    "discount": [0.1, 0.0, 0.0, 0.0],
})
ACTIVITIES = pd.DataFrame({
    "activity_id": ["A1", "A2", "A3", "A4", "A5", "A6"],
    "customer_id": ["C1", "C1", "C1", "C2", "C2", "C1"],
    "occurred_at": ["2024-03-10", "2024-03-30", "2024-02-01", "2024-03-15", "2024-01-20", "2024-04-02"],
    "type": ["support_ticket", "complaint", "meeting", "call", "support_ticket", "call"],
    "direction": ["inbound", "inbound", "outbound", "inbound", "inbound", "outbound"],
    "resolved_at": ["2024-03-12", "2024-04-03", None, None, None, None],
})
MENTIONS = pd.DataFrame({
    "mention_id": ["M1", "M2", "M3"],
    "customer_id": ["C1", None, "C1"],
    "posted_at": ["2024-03-25", "2024-03-26", "2023-12-01"],
    "text": ["late again", "meh", "great"],
})


def test_purchase_features_by_hand():
    features = build_features(tiny_tables(orders=ORDERS), AS_OF, SETTINGS)
    c1, c2 = features.loc["C1"], features.loc["C2"]
    assert (c1["orders_30d"], c1["orders_90d"], c2["orders_30d"]) == (1, 2, 1)
    assert (c1["spend_90d"], c2["spend_90d"]) == (30.0, 5.0)
    assert c1["days_since_last_order"] == 12.0
    assert c2["days_since_last_order"] == pytest.approx(1 / 24)
    assert c1["late_deliveries_30d"] == 1  # arrived 2024-03-25, three days late
    assert c2["late_deliveries_30d"] == 0  # not delivered yet at as_of
    assert (c1["returns_30d"], c1["returns_90d"]) == (0, 1)  # O2 final on 2024-01-29; O3 not final before as_of
    assert c1["discount_share_30d"] == 1.0 and c1["discount_share_90d"] == 0.5


def test_activity_features_by_hand():
    features = build_features(tiny_tables(activities=ACTIVITIES), AS_OF, SETTINGS)
    c1, c2 = features.loc["C1"], features.loc["C2"]
    assert (c1["support_tickets_30d"], c1["complaints_30d"], c2["support_tickets_90d"]) == (1, 1, 1)
    assert (c1["open_tickets"], c2["open_tickets"]) == (1, 1)  # complaint resolved only after as_of; C2's never
    assert (c1["outbound_touches_90d"], c1["outbound_touches_30d"]) == (1, 0)
    assert c2["inbound_contacts_30d"] == 1
    assert c1["days_since_last_touch"] == 60.0


def test_mention_features_count_only_linked_posts():
    features = mention_features(tiny_tables(mentions=MENTIONS), AS_OF, SETTINGS)
    assert features.loc["C1", "mentions_30d"] == 1 and features.loc["C1", "mentions_90d"] == 1


def test_build_features_fills_counts_and_keeps_unknown_recency_missing():
    features = build_features(tiny_tables(orders=ORDERS, activities=ACTIVITIES, mentions=MENTIONS), AS_OF, SETTINGS)
    assert list(features.index) == ["C1", "C2", "C3"]
    assert features.loc["C3", "orders_90d"] == 0 and np.isnan(features.loc["C3", "days_since_last_order"])
    assert features.loc["C1", "tenure_days"] == 91 and features.loc["C2", "segment"] == "smb"


def test_customers_who_sign_up_later_are_not_scored():
    features = build_features(tiny_tables(orders=ORDERS), pd.Timestamp("2023-06-01"), SETTINGS)
    assert features.empty


@pytest.mark.parametrize("sources", [("orders",), ("activities",), ("mentions",), ("orders", "activities", "mentions")])
def test_built_columns_match_the_registry(sources):
    given = {"orders": ORDERS, "activities": ACTIVITIES, "mentions": MENTIONS}
    tables = tiny_tables(**{name: given[name] for name in sources})
    features = build_features(tables, AS_OF, SETTINGS)
    registry = feature_catalogue(SETTINGS.windows, tables.event_sources)
    assert list(features.columns) == list(registry)
    built = {c for source in ("customers", *sources) for c in BUILDERS[source](tables, AS_OF, SETTINGS).columns}
    assert built == set(registry)


def test_builders_do_not_modify_their_inputs():
    tables = tiny_tables(orders=ORDERS, activities=ACTIVITIES, mentions=MENTIONS)
    before = {name: frame.copy() for name, frame in tables.present().items()}
    build_features(tables, AS_OF, SETTINGS)
    for name, frame in tables.present().items():
        pdt.assert_frame_equal(frame, before[name])
