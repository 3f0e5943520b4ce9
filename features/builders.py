"""Feature builders: pure functions of the tables and a time, one row per customer.

Builders see only events strictly before `as_of` (through `known_before`), never write into their
inputs, and name their columns as `features.registry` declares them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.registry import feature_catalogue
from features.tables import Tables, known_before

DAY = pd.Timedelta(days=1)
TOUCH_TYPES = ("call", "email", "meeting", "demo")


@dataclass(frozen=True)
class FeatureSettings:
    windows: tuple[int, ...] = (30, 90, 365)
    status_final_after_days: int = 30


def days_between(earlier: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    return (as_of - earlier) / DAY


def counts_per_window(events: pd.DataFrame, time_column: str, as_of: pd.Timestamp, windows: tuple[int, ...], name: str, values: pd.Series | None = None) -> pd.DataFrame:
    """For each window, the number (or the sum of `values`) of events in [as_of - window, as_of)."""
    values = pd.Series(1.0, index=events.index) if values is None else values
    columns = {}
    for window in windows:
        recent = events[time_column] >= as_of - pd.Timedelta(days=window)
        columns[name.format(window=window)] = values[recent].groupby(events.loc[recent, "customer_id"]).sum()
    return pd.DataFrame(columns)


def customer_features(tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    """Who the customer is and for how long: the context every other signal is read against."""
    customers = known_before(tables.customers, "signup_date", as_of).set_index("customer_id")
    columns = {"tenure_days": days_between(customers["signup_date"], as_of)}
    columns["segment"] = customers["segment"] if "segment" in customers else pd.Series(np.nan, index=customers.index)
    return pd.DataFrame(columns)


def purchase_features(tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    """Order rhythm, value, delivery and returns: slipping frequency and bad deliveries precede churn."""
    orders = known_before(tables.orders, "ordered_at", as_of)
    windows = settings.windows
    parts = [
        counts_per_window(orders, "ordered_at", as_of, windows, "orders_{window}d"),
        counts_per_window(orders, "ordered_at", as_of, windows, "spend_{window}d", orders["amount"]),
        pd.DataFrame({"days_since_last_order": days_between(orders.groupby("customer_id")["ordered_at"].max(), as_of)}),
        late_delivery_counts(tables.orders, as_of, windows),
        return_counts(orders, as_of, settings),
        discount_shares(orders, as_of, windows),
    ]
    return pd.concat(parts, axis=1)


def late_delivery_counts(orders: pd.DataFrame, as_of: pd.Timestamp, windows: tuple[int, ...]) -> pd.DataFrame:
    """Deliveries known to have arrived late: counted when they arrive, not when ordered."""
    names = [f"late_deliveries_{w}d" for w in windows]
    if not {"delivered_at", "promised_at"} <= set(orders.columns):
        return pd.DataFrame(columns=names, dtype=float)
    delivered = known_before(orders, "delivered_at", as_of)
    late = (delivered["delivered_at"] > delivered["promised_at"]).astype(float)
    return counts_per_window(delivered, "delivered_at", as_of, windows, "late_deliveries_{window}d", late)


def return_counts(orders: pd.DataFrame, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    """Returned or refunded orders, counted when their status became final.

    The contract has no return date, so an export's status may have been set after `as_of`. A
    status is trusted only `status_final_after_days` after ordering, which is known at ordering:
    no later fact (a delivery, a return) can move an order in or out of these counts.
    """
    names = [f"returns_{w}d" for w in settings.windows]
    if "status" not in orders.columns:
        return pd.DataFrame(columns=names, dtype=float)
    final = orders.assign(final_at=orders["ordered_at"] + pd.Timedelta(days=settings.status_final_after_days))
    final = known_before(final, "final_at", as_of)
    returned = final["status"].isin(["returned", "refunded"]).astype(float)
    return counts_per_window(final, "final_at", as_of, settings.windows, "returns_{window}d", returned)


def discount_shares(orders: pd.DataFrame, as_of: pd.Timestamp, windows: tuple[int, ...]) -> pd.DataFrame:
    names = [f"discount_share_{w}d" for w in windows]
    if "discount" not in orders.columns:
        return pd.DataFrame(columns=names, dtype=float)
    discounted = counts_per_window(orders, "ordered_at", as_of, windows, "discount_share_{window}d", (orders["discount"].fillna(0) > 0).astype(float))
    placed = counts_per_window(orders, "ordered_at", as_of, windows, "discount_share_{window}d")
    return discounted / placed.replace(0, np.nan)


def activity_features(tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    """Service load and sales attention: tickets, complaints and silence from the account team."""
    activities = known_before(tables.activities, "occurred_at", as_of)
    windows = settings.windows
    kind = activities["type"]
    direction = activities["direction"] if "direction" in activities else pd.Series(pd.NA, index=activities.index, dtype="str")
    touches = activities[kind.isin(TOUCH_TYPES) & (direction.fillna("outbound") == "outbound")]
    inbound = (kind.isin(TOUCH_TYPES) & (direction == "inbound")).astype(float)
    parts = [
        counts_per_window(activities, "occurred_at", as_of, windows, "support_tickets_{window}d", (kind == "support_ticket").astype(float)),
        counts_per_window(activities, "occurred_at", as_of, windows, "complaints_{window}d", (kind == "complaint").astype(float)),
        pd.DataFrame({"open_tickets": open_ticket_counts(activities, as_of)}),
        counts_per_window(activities, "occurred_at", as_of, windows, "inbound_contacts_{window}d", inbound),
        counts_per_window(touches, "occurred_at", as_of, windows, "outbound_touches_{window}d"),
        pd.DataFrame({"days_since_last_touch": days_between(touches.groupby("customer_id")["occurred_at"].max(), as_of)}),
    ]
    return pd.concat(parts, axis=1)


def open_ticket_counts(activities: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Tickets and complaints not resolved before `as_of` (a resolution after `as_of` is not yet known)."""
    if "resolved_at" not in activities.columns:
        return pd.Series(dtype=float)
    issues = activities[activities["type"].isin(["support_ticket", "complaint"])]
    still_open = (issues["resolved_at"].isna() | (issues["resolved_at"] >= as_of)).astype(float)
    return still_open.groupby(issues["customer_id"]).sum()


def mention_features(tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    """How often the customer talks about the brand in public."""
    mentions = known_before(tables.mentions, "posted_at", as_of)
    linked = mentions[mentions["customer_id"].notna()]
    return counts_per_window(linked, "posted_at", as_of, settings.windows, "mentions_{window}d")


Builder = Callable[[Tables, pd.Timestamp, FeatureSettings], pd.DataFrame]
BUILDERS: dict[str, Builder] = {
    "customers": customer_features,
    "orders": purchase_features,
    "activities": activity_features,
    "mentions": mention_features,
}


def build_features(tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    """Every catalogue feature for every customer signed up before `as_of`, in catalogue order."""
    catalogue = feature_catalogue(settings.windows, tables.event_sources)
    sources = ("customers", *tables.event_sources)
    built = pd.concat([BUILDERS[source](tables, as_of, settings) for source in sources], axis=1)
    population = pd.Index(known_before(tables.customers, "signup_date", as_of)["customer_id"], name="customer_id")
    fills = {name: spec.when_missing for name, spec in catalogue.items() if not np.isnan(spec.when_missing)}
    return built.reindex(index=population, columns=list(catalogue)).fillna(fills)
