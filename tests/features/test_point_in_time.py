"""The invariant every feature obeys: nothing at or after `as_of` can change it."""

import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import builders
from features.builders import FeatureSettings, build_features
from features.contract import validated_tables
from features.schema import ACTIVITY_TYPES, DIRECTIONS, ORDER_STATUSES

START = pd.Timestamp("2024-01-01")
FEATURES = FeatureSettings(windows_days=(7, 30), status_final_after_days=5)
HORIZON = 30
CUSTOMERS = ["C0", "C1", "C2"]

days = st.floats(min_value=0, max_value=120, allow_nan=False)
maybe_days = st.none() | st.floats(min_value=0, max_value=20, allow_nan=False)
customer = st.sampled_from(CUSTOMERS)

order = st.tuples(
    customer,
    days,
    st.floats(0, 500),
    st.sampled_from(ORDER_STATUSES),
    st.floats(0, 10),
    maybe_days,
    st.sampled_from([0.0, 0.1]),
)
activity = st.tuples(customer, days, st.sampled_from(ACTIVITY_TYPES), st.sampled_from(DIRECTIONS), maybe_days)
mention = st.tuples(st.none() | customer, days, st.floats(-1, 1))


def at(day: float) -> pd.Timestamp:
    """Whole seconds, as event exports and scoring dates have."""
    return (START + pd.Timedelta(days=day)).ceil("s")


def later(day: float | None, base: float) -> pd.Timestamp | None:
    return None if day is None else at(base + day)


def raw_tables(orders, activities, mentions, signups) -> dict[str, pd.DataFrame]:
    return {
        "customers": pd.DataFrame(
            {
                "customer_id": CUSTOMERS + [f"N{i}" for i in range(len(signups) - 3)],
                "signup_date": [at(d) for d in signups],
                "segment": "smb",
            }
        ),
        "orders": pd.DataFrame(
            [
                (f"O{i}", c, at(d), amount, status, at(d + promise), later(delivery, d), discount)
                for i, (c, d, amount, status, promise, delivery, discount) in enumerate(orders)
            ],
            columns=[
                "order_id",
                "customer_id",
                "ordered_at",
                "amount",
                "status",
                "promised_at",
                "delivered_at",
                "discount",
            ],
        ),
        "activities": pd.DataFrame(
            [
                (f"A{i}", c, at(d), kind, direction, later(resolve, d))
                for i, (c, d, kind, direction, resolve) in enumerate(activities)
            ],
            columns=["activity_id", "customer_id", "occurred_at", "type", "direction", "resolved_at"],
        ),
        "mentions": pd.DataFrame(
            [(f"M{i}", c, at(d), "text", sentiment) for i, (c, d, sentiment) in enumerate(mentions)],
            columns=["mention_id", "customer_id", "posted_at", "text", "sentiment"],
        ),
    }


def happened_before(events, as_of_day: float, day_index: int = 1):
    return [e for e in events if e[day_index] < as_of_day]


def rewrite_future_fields(orders, activities, as_of_day: float, data) -> tuple[list, list]:
    """What was not yet known at `as_of` (deliveries, resolutions, unsettled statuses) may turn out any way."""
    rewritten_orders = []
    for c, d, amount, status, promise, delivery, discount in orders:
        if delivery is None or d + delivery >= as_of_day:
            delivery = data.draw(
                st.none() | st.floats(min_value=max(0.0, as_of_day - d), max_value=max(0.0, as_of_day - d) + 30)
            )
        if d + FEATURES.status_final_after_days >= as_of_day:
            status = data.draw(st.sampled_from(ORDER_STATUSES))
        rewritten_orders.append((c, d, amount, status, promise, delivery, discount))
    rewritten_activities = []
    for c, d, kind, direction, resolve in activities:
        if resolve is None or d + resolve >= as_of_day:
            resolve = data.draw(
                st.none() | st.floats(min_value=max(0.0, as_of_day - d), max_value=max(0.0, as_of_day - d) + 30)
            )
        rewritten_activities.append((c, d, kind, direction, resolve))
    return rewritten_orders, rewritten_activities


@pytest.fixture(params=["one date over every customer", "requests joined to their events"])
def pass_form(request, monkeypatch):
    """Both ways a pass meets its requests (`builders.Pass`): a share above 1 makes no date get a pass alone."""
    if request.param == "requests joined to their events":
        monkeypatch.setattr(builders, "DATE_PASS_SHARE", 2.0)
    else:
        monkeypatch.setattr(builders, "DATE_PASS_MINIMUM", 1)
    return request.param


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    orders=st.lists(order, max_size=12),
    activities=st.lists(activity, max_size=12),
    mentions=st.lists(mention, max_size=6),
    as_of_day=st.floats(min_value=1, max_value=120, allow_nan=False),
    data=st.data(),
)
def test_nothing_at_or_after_as_of_changes_any_feature(pass_form, orders, activities, mentions, as_of_day, data):
    as_of = at(as_of_day)
    past = (
        happened_before(orders, as_of_day),
        happened_before(activities, as_of_day),
        happened_before(mentions, as_of_day),
    )
    signups = [0.0, 0.0, as_of_day / 2]
    before = build_features(validated_tables(raw_tables(*past, signups), "nps"), as_of, FEATURES, HORIZON)

    future_day = st.floats(min_value=as_of_day, max_value=as_of_day + 60, allow_nan=False)
    future_orders = [(c, data.draw(future_day), *rest) for c, _, *rest in data.draw(st.lists(order, max_size=6))]
    future_activities = [(c, data.draw(future_day), *rest) for c, _, *rest in data.draw(st.lists(activity, max_size=6))]
    future_mentions = [
        (c, data.draw(future_day), sentiment) for c, _, sentiment in data.draw(st.lists(mention, max_size=4))
    ]
    late_signups = [data.draw(future_day) for _ in range(data.draw(st.integers(0, 2)))]
    past_orders, past_activities = rewrite_future_fields(past[0], past[1], as_of_day, data)

    everything = raw_tables(
        past_orders + future_orders,
        past_activities + future_activities,
        past[2] + future_mentions,
        signups + late_signups,
    )
    after = build_features(validated_tables(everything, "nps"), as_of, FEATURES, HORIZON)
    pdt.assert_frame_equal(before, after)


def test_survey_answers_never_reach_features(small_tables):
    from dataclasses import replace

    as_of = pd.Timestamp("2025-03-01")
    with_surveys = build_features(small_tables, as_of, FeatureSettings(), HORIZON)
    without = build_features(replace(small_tables, surveys=None, churn_events=None), as_of, FeatureSettings(), HORIZON)
    pdt.assert_frame_equal(with_surveys, without)
