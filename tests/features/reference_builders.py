"""The pandas feature builders as they stood before DuckDB: the oracle `test_engine.py` holds the engine to.

Feature builders: pure functions of the tables and a time, one row per customer.

Builders see only events strictly before `as_of` (through `known_before`), never write into their
inputs, and name their columns as `features.registry` declares them. Facts that arrive after the
event they describe (a delivery, a resolution, a final order status) count from when they are known.
Everything is vectorised groupby work: no loop over customers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.btyd import BgNbd, fit_bg_nbd
from features.builders import FeatureSettings
from features.contract import ContractError, Problem
from features.registry import TREND_DAYS, Feature, feature_catalogue
from features.schema import CUSTOMERS
from features.sentiment import NEUTRAL_BAND
from features.tables import Tables, between, known_before, row_numbers

DAY = pd.Timedelta(days=1)
TOUCH_TYPES = ("call", "email", "meeting", "demo")
TICKET_TYPES = ("support_ticket", "complaint")
ESCALATION_DAYS = 30


def purchase_history(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    days = pd.DataFrame({"customer_id": orders["customer_id"], "day": orders["ordered_at"].dt.normalize()}).groupby(
        "customer_id"
    )["day"]
    first = days.min()
    return pd.DataFrame(
        {"x": days.nunique() - 1.0, "t_x": (days.max() - first) / DAY, "T": (as_of.normalize() - first) / DAY}
    )


def rhythm_model(orders: pd.DataFrame | None, as_of: pd.Timestamp) -> BgNbd | None:
    if orders is None:
        return None
    anchor = as_of.normalize().replace(day=1)
    history = purchase_history(orders[orders["ordered_at"] < anchor], anchor)
    return fit_bg_nbd(history["x"].to_numpy(), history["t_x"].to_numpy(), history["T"].to_numpy())


@dataclass(frozen=True)
class Outlook:
    """What the buying-rhythm features look ahead with: the churn horizon, and BG/NBD fitted on the
    whole customer base (`features.btyd.rhythm_model`), which a build over some customers must be given."""

    horizon_days: int
    rhythm: BgNbd | None


def days_between(earlier: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    return (as_of - earlier) / DAY


def since(as_of: pd.Timestamp, days: int) -> pd.Timestamp:
    return as_of - pd.Timedelta(days=days)


def per_customer(values: pd.Series, customers: pd.Series, how: str) -> pd.Series:
    return values.groupby(customers.to_numpy()).agg(how)


def counts_per_window(
    events: pd.DataFrame,
    time_column: str,
    as_of: pd.Timestamp,
    windows: tuple[int, ...],
    name: str,
    values: pd.Series | None = None,
) -> pd.DataFrame:
    """For each window, the number (or the sum of `values`) of events in [as_of - window, as_of)."""
    values = pd.Series(1.0, index=events.index) if values is None else values.astype(float)
    columns = {}
    for window in windows:
        recent = events[time_column] >= since(as_of, window)
        columns[name.format(window=window)] = per_customer(values[recent], events.loc[recent, "customer_id"], "sum")
    return pd.DataFrame(columns)


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is zero or missing."""
    return numerator / denominator.where(denominator > 0)


def empty(names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=names, dtype=float)


# Customers ------------------------------------------------------------------------------------


def customer_features(tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings, outlook: Outlook) -> pd.DataFrame:
    """Who the customer is and for how long: the context every other signal is read against."""
    customers = known_before(tables.customers, "signup_date", as_of).set_index("customer_id")
    missing = [a for a in settings.customer_attributes if a not in customers.columns]
    if missing:
        raise ContractError(
            [
                Problem("customers", a, "is named in features.customer_attributes but is not a column of customers.")
                for a in missing
            ]
        )
    columns = {
        "tenure_days": days_between(customers["signup_date"], as_of),
        "segment": customers["segment"] if "segment" in customers else pd.Series(np.nan, index=customers.index),
    }
    for attribute in settings.customer_attributes:
        values = customers[attribute]
        numeric = pd.to_numeric(values, errors="coerce")
        columns[attribute] = numeric if numeric.notna().sum() == values.notna().sum() else values.astype("str")
    return pd.DataFrame(columns)


# Purchase history -----------------------------------------------------------------------------


def purchase_features(tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings, outlook: Outlook) -> pd.DataFrame:
    """Order rhythm, value, delivery and returns: slipping frequency and bad experiences precede churn."""
    orders = known_before(tables.orders, "ordered_at", as_of)
    return pd.concat(
        [
            counts_per_window(orders, "ordered_at", as_of, settings.windows_days, "orders_{window}d"),
            counts_per_window(orders, "ordered_at", as_of, settings.windows_days, "spend_{window}d", orders["amount"]),
            order_rhythm(orders, as_of, settings),
            buying_rhythm(orders, as_of, outlook),
            status_features(orders, as_of, settings),
            delivery_features(tables.orders, as_of, settings),
            channel_features(orders, as_of, settings),
        ],
        axis=1,
    )


def order_rhythm(orders: pd.DataFrame, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    """Recency, trend and the customer's own buying rhythm (the 'contact lenses running out' signal)."""
    long = settings.longest
    last = per_customer(orders["ordered_at"], orders["customer_id"], "max")
    recent = between(orders, "ordered_at", since(as_of, TREND_DAYS), as_of)
    before = between(orders, "ordered_at", since(as_of, 2 * TREND_DAYS), since(as_of, TREND_DAYS))
    window = orders[orders["ordered_at"] >= since(as_of, long)]
    count_now, count_before = recent.groupby("customer_id").size(), before.groupby("customer_id").size()
    spend_now, spend_before = (
        recent.groupby("customer_id")["amount"].sum(),
        before.groupby("customer_id")["amount"].sum(),
    )
    active = count_now.index.union(count_before.index)
    ordered = orders.sort_values("ordered_at", kind="stable")
    gaps = (ordered.groupby("customer_id")["ordered_at"].diff() / DAY).dropna()
    typical_gap = per_customer(gaps, ordered.loc[gaps.index, "customer_id"], "median")
    since_last = days_between(last, as_of)
    return pd.DataFrame(
        {
            "days_since_last_order": since_last,
            f"order_trend_{TREND_DAYS}d": (
                (count_now.reindex(active, fill_value=0) + 1) / (count_before.reindex(active, fill_value=0) + 1)
            ),
            f"spend_trend_{TREND_DAYS}d": (
                (spend_now.reindex(active, fill_value=0) + 1) / (spend_before.reindex(active, fill_value=0) + 1)
            ),
            f"average_order_value_{long}d": per_customer(window["amount"], window["customer_id"], "mean"),
            "typical_order_gap_days": typical_gap,
            "order_overdue_ratio": ratio(since_last.reindex(typical_gap.index), typical_gap.clip(lower=1.0)),
            f"discount_share_{long}d": discount_share(window),
        }
    )


def buying_rhythm(orders: pd.DataFrame, as_of: pd.Timestamp, outlook: Outlook) -> pd.DataFrame:
    """What buy-till-you-die models read (order days, first-to-last span, age, lifetime order value),
    the regularity of the gaps, and what BG/NBD expects of the next `outlook.horizon_days`.

    BG/NBD extrapolates where trees cannot: a customer silent for longer than any customer the
    model has seen still gets a graded chance of buying again.
    """
    history = purchase_history(orders, as_of)
    ordered = orders.sort_values("ordered_at", kind="stable")
    gaps = (ordered.groupby("customer_id")["ordered_at"].diff() / DAY).dropna().groupby(ordered["customer_id"])
    columns = {
        "order_days": history["x"] + 1.0,
        "days_since_first_order": days_between(orders.groupby("customer_id")["ordered_at"].min(), as_of),
        "days_from_first_to_last_order": history["t_x"],
        "lifetime_average_order_value": orders.groupby("customer_id")["amount"].mean(),
        "order_gap_variation": gaps.std() / gaps.mean().where(lambda mean: mean > 0),
    }
    if outlook.rhythm is not None:
        horizon, arrays = (
            outlook.horizon_days,
            (history["x"].to_numpy(), history["t_x"].to_numpy(), history["T"].to_numpy()),
        )
        columns["probability_active"] = pd.Series(outlook.rhythm.probability_alive(*arrays), index=history.index)
        columns[f"expected_orders_{horizon}d"] = pd.Series(
            outlook.rhythm.expected_purchases(horizon, *arrays), index=history.index
        )
        columns[f"probability_no_order_{horizon}d"] = pd.Series(
            outlook.rhythm.probability_no_purchase(horizon, *arrays), index=history.index
        )
    return pd.DataFrame(columns)


def discount_share(orders: pd.DataFrame) -> pd.Series:
    if "discount" not in orders.columns:
        return pd.Series(dtype=float)
    return per_customer((orders["discount"].fillna(0) > 0).astype(float), orders["customer_id"], "mean")


def status_features(orders: pd.DataFrame, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    """Returns, refunds and cancellations, counted when an order's status became final.

    The contract has no return date, so an export's status may have been set after `as_of`. A
    status is trusted only `status_final_after_days` after ordering, which is known at ordering:
    no later fact (a delivery, a return) can move an order in or out of these counts.
    """
    long = settings.longest
    names = [f"returns_{w}d" for w in settings.windows_days] + [
        f"{kind}_rate_{long}d" for kind in ("return", "refund", "cancellation")
    ]
    if "status" not in orders.columns:
        return empty(names)
    final = known_before(
        orders.assign(final_at=orders["ordered_at"] + pd.Timedelta(days=settings.status_final_after_days)),
        "final_at",
        as_of,
    )
    status = final["status"]
    returned = status.isin(["returned", "refunded"])
    window = final["final_at"] >= since(as_of, long)
    rates = {
        f"{kind}_rate_{long}d": per_customer(
            (status[window] == value).astype(float), final.loc[window, "customer_id"], "mean"
        )
        for kind, value in (("return", "returned"), ("refund", "refunded"), ("cancellation", "cancelled"))
    }
    return pd.concat(
        [
            counts_per_window(final, "final_at", as_of, settings.windows_days, "returns_{window}d", returned),
            pd.DataFrame(rates),
        ],
        axis=1,
    )


def delivery_features(orders: pd.DataFrame, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    """Late deliveries, counted when they arrive (an order still on its way is not yet known late)."""
    long = settings.longest
    names = [f"late_deliveries_{w}d" for w in settings.windows_days] + [
        f"late_delivery_rate_{long}d",
        f"mean_days_late_{long}d",
        "days_since_last_late_delivery",
    ]
    if not {"delivered_at", "promised_at"} <= set(orders.columns):
        return empty(names)
    delivered = known_before(orders.dropna(subset=["delivered_at", "promised_at"]), "delivered_at", as_of)
    days_late = ((delivered["delivered_at"] - delivered["promised_at"]) / DAY).clip(lower=0)
    late = days_late > 0
    window = delivered["delivered_at"] >= since(as_of, long)
    late_ones = delivered[late]
    return pd.concat(
        [
            counts_per_window(
                delivered, "delivered_at", as_of, settings.windows_days, "late_deliveries_{window}d", late
            ),
            pd.DataFrame(
                {
                    f"late_delivery_rate_{long}d": per_customer(
                        late[window].astype(float), delivered.loc[window, "customer_id"], "mean"
                    ),
                    f"mean_days_late_{long}d": per_customer(
                        days_late[late & window], delivered.loc[late & window, "customer_id"], "mean"
                    ),
                    "days_since_last_late_delivery": days_between(
                        per_customer(late_ones["delivered_at"], late_ones["customer_id"], "max"), as_of
                    ),
                }
            ),
        ],
        axis=1,
    )


def channel_features(orders: pd.DataFrame, as_of: pd.Timestamp, settings: FeatureSettings) -> pd.DataFrame:
    long = settings.longest
    if "channel" not in orders.columns:
        return empty([f"channels_used_{long}d", f"main_channel_share_{long}d"])
    window = orders[(orders["ordered_at"] >= since(as_of, long)) & orders["channel"].notna()]
    per_channel = window.groupby(["customer_id", "channel"]).size()
    by_customer = per_channel.groupby(level="customer_id")
    return pd.DataFrame(
        {
            f"channels_used_{long}d": by_customer.size().astype(float),
            f"main_channel_share_{long}d": by_customer.max() / by_customer.sum(),
        }
    )


# Sales activity and service -------------------------------------------------------------------


def activity_features(tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings, outlook: Outlook) -> pd.DataFrame:
    """Service load and quality, and the account team's attention: tickets, complaints, silence."""
    activities = known_before(tables.activities, "occurred_at", as_of)
    windows, kind = settings.windows_days, activities["type"]
    direction = (
        activities["direction"] if "direction" in activities else pd.Series(np.nan, index=activities.index, dtype="str")
    )
    touches = activities[kind.isin(TOUCH_TYPES) & (direction.fillna("outbound") == "outbound")]
    return pd.concat(
        [
            counts_per_window(
                activities, "occurred_at", as_of, windows, "support_tickets_{window}d", kind == "support_ticket"
            ),
            counts_per_window(activities, "occurred_at", as_of, windows, "complaints_{window}d", kind == "complaint"),
            escalations(activities, as_of, settings.longest),
            ticket_resolution(activities, as_of, settings.longest),
            counts_per_window(
                activities,
                "occurred_at",
                as_of,
                windows,
                "inbound_contacts_{window}d",
                kind.isin(TOUCH_TYPES) & (direction == "inbound"),
            ),
            counts_per_window(touches, "occurred_at", as_of, windows, "outbound_touches_{window}d"),
            counts_per_window(
                activities, "occurred_at", as_of, windows, "meetings_{window}d", kind.isin(["meeting", "demo"])
            ),
            pd.DataFrame(
                {
                    "days_since_last_touch": days_between(
                        per_customer(touches["occurred_at"], touches["customer_id"], "max"), as_of
                    )
                }
            ),
            opportunities(activities, as_of, settings.longest),
        ],
        axis=1,
    )


def escalations(activities: pd.DataFrame, as_of: pd.Timestamp, window: int) -> pd.DataFrame:
    """Complaints that followed one of the customer's support tickets within ESCALATION_DAYS."""
    name = f"escalations_{window}d"
    complaints = activities[(activities["type"] == "complaint") & (activities["occurred_at"] >= since(as_of, window))]
    tickets = activities[activities["type"] == "support_ticket"]
    if complaints.empty or tickets.empty:
        return empty([name])
    matched = pd.merge_asof(
        complaints[["customer_id", "occurred_at"]].sort_values("occurred_at"),
        tickets[["customer_id", "occurred_at"]].rename(columns={"occurred_at": "ticket_at"}).sort_values("ticket_at"),
        left_on="occurred_at",
        right_on="ticket_at",
        by="customer_id",
        direction="backward",
        tolerance=pd.Timedelta(days=ESCALATION_DAYS),
    )
    escalated = matched[matched["ticket_at"].notna()]
    return pd.DataFrame({name: escalated.groupby("customer_id").size().astype(float)})


def ticket_resolution(activities: pd.DataFrame, as_of: pd.Timestamp, window: int) -> pd.DataFrame:
    """Open tickets, and how fast recent ones were resolved; a resolution after `as_of` is not yet known."""
    names = ["open_tickets", f"unresolved_ticket_share_{window}d", f"median_resolution_days_{window}d"]
    if "resolved_at" not in activities.columns:
        return empty(names)
    tickets = activities[activities["type"].isin(TICKET_TYPES)]
    still_open = (tickets["resolved_at"].isna() | (tickets["resolved_at"] >= as_of)).astype(float)
    recent = tickets["occurred_at"] >= since(as_of, window)
    resolved_recent = recent & (still_open == 0)
    resolution_days = (tickets["resolved_at"] - tickets["occurred_at"]) / DAY
    return pd.DataFrame(
        {
            "open_tickets": per_customer(still_open, tickets["customer_id"], "sum"),
            names[1]: per_customer(still_open[recent], tickets.loc[recent, "customer_id"], "mean"),
            names[2]: per_customer(
                resolution_days[resolved_recent], tickets.loc[resolved_recent, "customer_id"], "median"
            ),
        }
    )


def opportunities(activities: pd.DataFrame, as_of: pd.Timestamp, window: int) -> pd.DataFrame:
    recent = activities[activities["occurred_at"] >= since(as_of, window)]
    won = per_customer((recent["type"] == "opportunity_won").astype(float), recent["customer_id"], "sum")
    lost = per_customer((recent["type"] == "opportunity_lost").astype(float), recent["customer_id"], "sum")
    return pd.DataFrame(
        {
            f"opportunities_won_{window}d": won,
            f"opportunities_lost_{window}d": lost,
            f"win_rate_{window}d": ratio(won, won + lost),
        }
    )


# Social listening ------------------------------------------------------------------------------


def mention_features(tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings, outlook: Outlook) -> pd.DataFrame:
    """What the customer says about the brand in public, read against what everyone else says."""
    mentions = known_before(tables.mentions, "posted_at", as_of)
    linked = mentions[mentions["customer_id"].notna()]
    counts = counts_per_window(linked, "posted_at", as_of, settings.windows_days, "mentions_{window}d")
    if "sentiment" not in mentions.columns:
        return counts
    population = known_before(tables.customers, "signup_date", as_of)["customer_id"]
    public = mentions[mentions["customer_id"].isna()]
    brand_mood = {
        f"brand_negative_share_{w}d": (recent(public, as_of, w)["sentiment"] < -NEUTRAL_BAND).mean()
        for w in settings.windows_days
    }
    return (
        pd.concat([counts, sentiment_features(linked, mentions, as_of, settings)], axis=1)
        .reindex(population)
        .assign(**brand_mood)
    )


def recent(mentions: pd.DataFrame, as_of: pd.Timestamp, days: int) -> pd.DataFrame:
    return mentions[mentions["posted_at"] >= since(as_of, days)]


def sentiment_features(
    linked: pd.DataFrame, everyone: pd.DataFrame, as_of: pd.Timestamp, settings: FeatureSettings
) -> pd.DataFrame:
    long = settings.longest
    negative = linked[linked["sentiment"] < -NEUTRAL_BAND]
    window = recent(linked, as_of, long)
    by_customer = window.groupby("customer_id")["sentiment"]
    before = between(linked, "posted_at", since(as_of, 2 * TREND_DAYS), since(as_of, TREND_DAYS))
    columns = {
        f"mean_sentiment_{w}d": recent(linked, as_of, w).groupby("customer_id")["sentiment"].mean()
        for w in settings.windows_days
    }
    return pd.DataFrame(
        {
            **columns,
            f"min_sentiment_{long}d": by_customer.min(),
            f"negative_mention_share_{long}d": (window["sentiment"] < -NEUTRAL_BAND)
            .groupby(window["customer_id"])
            .mean(),
            "days_since_last_negative_mention": days_between(negative.groupby("customer_id")["posted_at"].max(), as_of),
            f"sentiment_trend_{TREND_DAYS}d": recent(linked, as_of, TREND_DAYS)
            .groupby("customer_id")["sentiment"]
            .mean()
            - before.groupby("customer_id")["sentiment"].mean(),
            f"sentiment_vs_brand_{long}d": by_customer.mean() - recent(everyone, as_of, long)["sentiment"].mean(),
        }
    )


Builder = Callable[[Tables, pd.Timestamp, FeatureSettings, Outlook], pd.DataFrame]
BUILDERS: dict[str, Builder] = {
    "customers": customer_features,
    "orders": purchase_features,
    "activities": activity_features,
    "mentions": mention_features,
}


def catalogue_for(tables: Tables, settings: FeatureSettings, horizon_days: int) -> dict[str, Feature]:
    """The features these tables support under these settings and churn horizon."""
    return feature_catalogue(settings.windows_days, horizon_days, tables.event_sources, settings.customer_attributes)


def coded_tables(tables: Tables) -> Tables:
    """The same tables with `customer_id` as the customer's row number in `customers` (NaN for none): these builders
    group by number, four times faster than by text. `customer_ids` maps them back."""
    ids = pd.Index(tables.customers["customer_id"])
    return replace(
        tables,
        **{
            name: frame.assign(customer_id=codes_of(ids, frame["customer_id"]))
            for name, frame in tables.present().items()
        },
    )


def customer_ids(tables: Tables, codes: pd.Index) -> pd.Index:
    """The ids behind codes of `coded_tables`."""
    return pd.Index(tables.customers["customer_id"].to_numpy()[codes.to_numpy(dtype=int)], name="customer_id")


def codes_of(ids: pd.Index, customer_ids: pd.Series) -> np.ndarray:
    """Row numbers in `ids`; ids not there (another partition's customers) get numbers after them, missing ones NaN."""
    codes = row_numbers(customer_ids, ids).astype(float)
    elsewhere = (codes < 0) & customer_ids.notna().to_numpy()
    codes[elsewhere] = len(ids) + pd.factorize(customer_ids[elsewhere])[0]
    codes[customer_ids.isna().to_numpy()] = np.nan
    return codes


def build_features(
    tables: Tables, as_of: pd.Timestamp, settings: FeatureSettings, horizon_days: int, rhythm: BgNbd | None = None
) -> pd.DataFrame:
    """Every catalogue feature for every customer signed up before `as_of`, in catalogue order.

    `horizon_days` is the churn horizon: buying-rhythm expectations look that far ahead. `rhythm` is
    the base's BG/NBD fit, computed from `tables` when not given: give it when `tables` holds only
    some of the customers, so their features match a build over everyone.
    """
    catalogue = catalogue_for(tables, settings, horizon_days)
    coded = coded_tables(tables)
    outlook = Outlook(horizon_days, rhythm if rhythm is not None else rhythm_model(coded.orders, as_of))
    sources = ("customers", *tables.event_sources)
    built = pd.concat([BUILDERS[source](coded, as_of, settings, outlook) for source in sources], axis=1)
    population = pd.Index(known_before(coded.customers, "signup_date", as_of)["customer_id"])
    fills = {name: spec.when_missing for name, spec in catalogue.items() if not np.isnan(spec.when_missing)}
    built = built.reindex(index=population, columns=list(catalogue)).fillna(fills)
    return built.set_axis(customer_ids(tables, population))


def unused_attributes(tables: Tables, settings: FeatureSettings) -> list[str]:
    """Columns of customers beyond the contract's that the settings do not name as attributes."""
    declared = {column.name for column in CUSTOMERS.columns} | set(settings.customer_attributes)
    return [column for column in tables.customers.columns if column not in declared]
