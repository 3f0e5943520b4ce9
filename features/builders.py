"""Feature builders: every catalogue feature for any number of (customer, as_of) requests, on DuckDB.

One SQL query per source reads each request's customer's events *strictly before* its own `as_of`
(`KNOWN_BEFORE`, the only place time is cut) and aggregates windows with FILTER clauses: a date asked
for much of the base (a scoring date, a training cutoff) aggregates its customers' events by customer,
requests spread over many days (survey answers) are joined to their customers' events (`Pass`), and
a training set over many cutoffs and survey answers is one call. Facts that arrive after the event
they describe count from when they are known: a delivery from its delivery time, a ticket's
resolution from `resolved_at`, an order's final status `status_final_after_days` after ordering.
Pandas stays at the edges: registering the tables, the few ratios of aggregates, BG/NBD's
expectations, and the frame the caller gets back, named as `features.registry` declares. Nothing
here writes into its inputs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field, field_validator

from features.btyd import (
    BgNbd,
    buyers_by_anchor,
    fit_bg_nbd,
    rhythm_anchor,
    sampled_histories,
)
from features.contract import ContractError, Problem
from features.registry import TREND_DAYS, Feature, feature_catalogue, theme_feature_name
from features.schema import CUSTOMERS, RETURN_STATUSES, TEXT_SOURCES
from features.sentiment import NEUTRAL_BAND
from features.settings import Settings
from features.tables import (
    TIME_UNIT,
    Tables,
    duckdb_connection,
    released_arrow_memory,
    row_numbers,
    stable_hashes,
)
from features.themes import customer_texts, discover_themes, documents, themed_texts

TOUCH_TYPES = ("call", "email", "meeting", "demo")
TICKET_TYPES = ("support_ticket", "complaint")
ESCALATION_DAYS = 30
MICROSECONDS_PER_DAY = 86_400_000_000.0
KNOWN_BEFORE = "e.{time} < r.as_of"
"""The point-in-time cut: a request sees an event only when the event's time is strictly before its as_of."""
EXACT = "DECIMAL(38, 12)"
"""Sums of measured values (amounts, days, sentiment) are taken in exact decimals: a floating-point sum depends on
the order DuckDB's threads meet the rows, and reruns must give identical bytes."""


def exact_sum(expression: str, condition: str | None = None) -> str:
    filtered = f" FILTER (WHERE {condition})" if condition else ""
    return f"sum(({expression})::{EXACT}){filtered}::DOUBLE"


def exact_mean(expression: str, condition: str | None = None) -> str:
    filtered = f" FILTER (WHERE {condition})" if condition else ""
    return f"(sum(({expression})::{EXACT}){filtered} / count({expression}){filtered})::DOUBLE"


class FeatureSettings(Settings):
    windows_days: tuple[int, ...] = Field(
        (30, 90, 365), min_length=1, description="Look-back windows for counts and sums."
    )
    status_final_after_days: int = Field(
        30,
        ge=0,
        description="Days after ordering by which an order's status (returned, refunded) is final; statuses are "
        "trusted only from then on.",
    )
    customer_attributes: tuple[str, ...] = Field(
        (), description="Columns of customers to use as features: numbers as-is, text as categories."
    )
    themes: dict[str, tuple[str, ...]] = Field(
        {},
        description="Themes of what customers say, pinned by name with keywords in English or Finnish (any "
        "inflection), e.g. {billing: [invoice, charge, lasku, veloitus]}; training adds the ones it finds.",
    )
    discovered_themes: int = Field(
        8, ge=0, description="Themes training looks for in each language's texts, beside the pinned ones."
    )

    @field_validator("windows_days")
    @classmethod
    def positive_windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(window <= 0 for window in value) or len(set(value)) < len(value):
            raise ValueError(f"windows must be distinct positive numbers of days, got {list(value)}")
        return value

    def with_themes_found_in(self, tables: Tables, seed: int) -> FeatureSettings:
        """These settings with the themes training finds in the texts added to the pinned ones: the model's
        recipe keeps them, so scoring counts the same themes."""
        texts = customer_texts(tables)
        if not self.discovered_themes or texts.empty:
            return self
        found = discover_themes(documents(texts["text"], texts["lang"]), self.discovered_themes, seed, self.themes)
        return self.model_copy(update={"themes": found})

    @property
    def longest(self) -> int:
        return max(self.windows_days)


Rhythms = Mapping[pd.Timestamp, BgNbd | None]
"""BG/NBD of the whole customer base per month (`features.btyd.rhythm_anchor`)."""
BrandMoods = pd.DataFrame
"""The brand's mood by date (`brand_query`'s columns, indexed by as_of): computed over every mention, whoever wrote
it, and read by every customer (`brand_moods`)."""
Needed = frozenset[str] | None
"""The columns a build computes, by name (features and the aggregates they are worked out from); None for all."""


def wants(needed: Needed, names) -> bool:
    return needed is None or not needed.isdisjoint(names)


@dataclass(frozen=True)
class Query:
    """One source's SQL and the windows it was written for."""

    sql: str
    settings: FeatureSettings


def sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def days_before_as_of(expression: str) -> str:
    return f"date_diff('microsecond', {expression}, r.as_of) / {MICROSECONDS_PER_DAY}"


def within(time: str, days: int, until_days: int = 0) -> str:
    """`time` in [as_of - days, as_of - until_days): a window ending at as_of (the join already cuts there)."""
    upper = f" AND {time} < r.since_{until_days}d" if until_days else ""
    return f"{time} >= r.since_{days}d{upper}"


def window_starts(settings: FeatureSettings) -> str:
    """Each request's window starts, worked out once per request rather than once per event and aggregate."""
    days = sorted({*settings.windows_days, TREND_DAYS, 2 * TREND_DAYS})
    return ", ".join(f"as_of - INTERVAL ({d}) DAY AS since_{d}d" for d in days)


DATE_PASS_SHARE = 0.25
"""A date whose requests number at least this share of the customers, and at least `DATE_PASS_MINIMUM`, gets passes
of its own (`Pass`)."""
DATE_PASS_MINIMUM = 100_000
"""Each pass has a fixed cost (its queries and frames), and a date's passes save a join only over many requests:
a training set of 152,000 rows at 10,000 customers took 5.4 s in passes per cutoff, 3.5 s joined; at 200,000
customers (171,000 requests per cutoff) the two were even, at 1 M (860,000) the date's passes 14 % faster."""


@dataclass(frozen=True)
class Pass:
    """One DuckDB pass: its requests (`codes` x `as_of`, positions 0..n-1) and how its queries meet them.

    Requests on many dates join each to its own customer's events and aggregate per request (`r.rid`). Requests that
    all share one date aggregate the events before it of every customer in `customers` (a range of codes) by code,
    with no join, and each request reads its customer's row: one date's queries over the whole catalogue at 200,000
    customers took 1.42 s so, against 1.74 s joined. Cutting the customers into four ranges cost 6-10 % more query
    time than one. Both forms cut time with `KNOWN_BEFORE`.
    """

    codes: np.ndarray
    as_of: np.ndarray
    customers: range | None
    """The codes of the customers whose events a pass of one date aggregates; None for a pass that joins."""

    @property
    def key(self) -> str:
        return "r.rid" if self.customers is None else "e.code"

    def events(self, table: str, time: str) -> str:
        """The FROM clause of a query over `table`'s events known before each request's as_of."""
        cut = KNOWN_BEFORE.format(time=time)
        if self.customers is None:
            return f"FROM requests r JOIN {table} e ON e.code = r.code AND {cut}"
        first, end = self.customers.start, self.customers.stop
        return f"FROM dates r JOIN {table} e ON e.code >= {first} AND e.code < {end} AND {cut}"

    def rows(self, keys: np.ndarray) -> np.ndarray:
        """Each request's row among a query's `keys`; -1 where it has none (no events)."""
        if self.customers is None:
            lookup = np.full(len(self.codes), -1)
            lookup[keys] = np.arange(len(keys))
            return lookup
        lookup = np.full(len(self.customers), -1)
        lookup[keys - self.customers.start] = np.arange(len(keys))
        return lookup[self.codes - self.customers.start]


def aggregated(parts: list[str], table: str, time: str, asked: Pass, condition: str = "") -> str:
    """`parts` aggregated per request over `table`'s events known before its as_of (and meeting `condition`)."""
    return (
        f"SELECT {asked.key} AS request, {', '.join(parts)} {asked.events(table, time)}{condition} GROUP BY {asked.key}"
    )


# Orders -------------------------------------------------------------------------------------------


def order_query(columns: set[str], settings: FeatureSettings, asked: Pass) -> str:
    """Order counts, spend, rhythm, discounts and final statuses of each request's orders before its as_of."""
    long = settings.longest
    parts = [f'count(*) FILTER (WHERE {within("e.ordered_at", w)}) AS "orders_{w}d"' for w in settings.windows_days]
    parts += [f'{exact_sum("e.amount", within("e.ordered_at", w))} AS "spend_{w}d"' for w in settings.windows_days]
    parts += [
        "max(e.ordered_at) AS last_order",
        f"count(*) FILTER (WHERE {within('e.ordered_at', TREND_DAYS)}) AS orders_now",
        f"count(*) FILTER (WHERE {within('e.ordered_at', 2 * TREND_DAYS, TREND_DAYS)}) AS orders_before",
        f"coalesce({exact_sum('e.amount', within('e.ordered_at', TREND_DAYS))}, 0) AS spend_now",
        f"coalesce({exact_sum('e.amount', within('e.ordered_at', 2 * TREND_DAYS, TREND_DAYS))}, 0) AS spend_before",
        f'{exact_mean("e.amount", within("e.ordered_at", long))} AS "average_order_value_{long}d"',
        "date_trunc('day', min(e.ordered_at)) AS first_day",
        "date_trunc('day', max(e.ordered_at)) AS last_day",
        "min(e.ordered_at) AS first_order",
        f"{exact_mean('e.amount')} AS lifetime_average_order_value",
    ]
    if "discount" in columns:
        parts.append(
            "avg(CASE WHEN coalesce(e.discount, 0) > 0 THEN 1.0 ELSE 0.0 END) FILTER (WHERE "
            f'{within("e.ordered_at", long)}) AS "discount_share_{long}d"'
        )
    if "status" in columns:
        final = f"e.final_at < r.as_of AND {within('e.final_at', long)}"
        parts += [
            f"count(*) FILTER (WHERE e.final_at < r.as_of AND {within('e.final_at', w)} AND e.status IN "
            f'({sql_list(RETURN_STATUSES)})) AS "returns_{w}d"'
            for w in settings.windows_days
        ]
        parts += [
            f"avg(CASE WHEN e.status = '{value}' THEN 1.0 ELSE 0.0 END) FILTER (WHERE {final}) AS "
            f'"{kind}_rate_{long}d"'
            for kind, value in (("return", "returned"), ("refund", "refunded"), ("cancellation", "cancelled"))
        ]
    if {"delivered_at", "promised_at"} <= columns:
        parts += delivery_parts(settings)
    return aggregated(parts, "orders", "ordered_at", asked)


ORDER_GAP_AGGREGATES = {
    "order_days": "count(*) FILTER (WHERE e.new_day)",
    "typical_order_gap_days": "median(e.gap_days)",
    "gap_sum": exact_sum("e.gap_days"),
    "gaps": "count(e.gap_days)",
    "gap_spread_numerator": "(count(e.gap_days) * sum(e.gap_days::DECIMAL(38, 10) * e.gap_days::DECIMAL(38, 10)) - "
    "sum(e.gap_days::DECIMAL(38, 10)) * sum(e.gap_days::DECIMAL(38, 10)))::DOUBLE",
}
"""The customer's rhythm: the days between consecutive orders (each gap known once its later order is), and the days
with an order."""


def order_gap_query(asked: Pass) -> str:
    parts = [f"{expression} AS {name}" for name, expression in ORDER_GAP_AGGREGATES.items()]
    return aggregated(parts, "order_gaps", "ordered_at", asked)


def delivery_parts(settings: FeatureSettings) -> list[str]:
    """Late deliveries, counted when they arrive: an order still on its way is not yet known late (a delivery
    is never before its order, the contract checks, so the orders' cut at as_of holds every delivery known)."""
    long = settings.longest
    late = "e.late AND e.delivered_at < r.as_of"
    known_delivery = "e.promised_at IS NOT NULL AND e.delivered_at < r.as_of"
    return [
        *(
            f'count(*) FILTER (WHERE {late} AND {within("e.delivered_at", w)}) AS "late_deliveries_{w}d"'
            for w in settings.windows_days
        ),
        f"avg(CASE WHEN e.late THEN 1.0 ELSE 0.0 END) FILTER (WHERE {known_delivery} AND "
        f'{within("e.delivered_at", long)}) AS "late_delivery_rate_{long}d"',
        f'{exact_mean("e.days_late", late + " AND " + within("e.delivered_at", long))} AS "mean_days_late_{long}d"',
        f"max(e.delivered_at) FILTER (WHERE {late}) AS last_late_delivery",
    ]


def channel_query(settings: FeatureSettings, asked: Pass) -> str:
    long = settings.longest
    return f"""
        WITH per_channel AS (
            SELECT {asked.key} AS request, e.channel, count(*) AS orders {asked.events("orders", "ordered_at")}
                AND {within("e.ordered_at", long)} AND e.channel IS NOT NULL
            GROUP BY {asked.key}, e.channel
        )
        SELECT request, count(*)::DOUBLE AS "channels_used_{long}d",
               max(orders) / sum(orders) AS "main_channel_share_{long}d"
        FROM per_channel GROUP BY request
    """


# Sales activity and service -----------------------------------------------------------------------


def activity_query(columns: set[str], settings: FeatureSettings, asked: Pass) -> str:
    """Service load and quality, and the account team's attention: tickets, complaints, silence."""
    long, windows = settings.longest, settings.windows_days
    touch = f"e.type IN ({sql_list(TOUCH_TYPES)})"
    outbound_touch = f"{touch} AND coalesce(e.direction, 'outbound') = 'outbound'"
    parts = [
        f"count(*) FILTER (WHERE e.type = 'support_ticket' AND {within('e.occurred_at', w)}) AS "
        f'"support_tickets_{w}d"'
        for w in windows
    ]
    parts += [
        f"count(*) FILTER (WHERE e.type = 'complaint' AND {within('e.occurred_at', w)}) AS \"complaints_{w}d\""
        for w in windows
    ]
    if "resolved_at" in columns:
        ticket, still_open = (
            f"e.type IN ({sql_list(TICKET_TYPES)})",
            "(e.resolved_at IS NULL OR e.resolved_at >= r.as_of)",
        )
        parts += [
            f"count(*) FILTER (WHERE {ticket} AND {still_open}) AS open_tickets",
            f"avg(CASE WHEN {still_open} THEN 1.0 ELSE 0.0 END) FILTER (WHERE {ticket} AND "
            f'{within("e.occurred_at", long)}) AS "unresolved_ticket_share_{long}d"',
            f"median(date_diff('microsecond', e.occurred_at, e.resolved_at) / {MICROSECONDS_PER_DAY}) "
            f"FILTER (WHERE {ticket} AND {within('e.occurred_at', long)} AND NOT {still_open}) AS "
            f'"median_resolution_days_{long}d"',
        ]
    parts += [
        f"count(*) FILTER (WHERE {touch} AND e.direction = 'inbound' AND {within('e.occurred_at', w)}) AS "
        f'"inbound_contacts_{w}d"'
        for w in windows
    ]
    parts += [
        f'count(*) FILTER (WHERE {outbound_touch} AND {within("e.occurred_at", w)}) AS "outbound_touches_{w}d"'
        for w in windows
    ]
    parts += [
        f"count(*) FILTER (WHERE e.type IN ('meeting', 'demo') AND {within('e.occurred_at', w)}) AS \"meetings_{w}d\""
        for w in windows
    ]
    parts += [
        f"max(e.occurred_at) FILTER (WHERE {outbound_touch}) AS last_touch",
        f"count(*) FILTER (WHERE e.type = 'opportunity_won' AND {within('e.occurred_at', long)}) AS "
        f'"opportunities_won_{long}d"',
        f"count(*) FILTER (WHERE e.type = 'opportunity_lost' AND {within('e.occurred_at', long)}) AS "
        f'"opportunities_lost_{long}d"',
    ]
    return aggregated(parts, "activities", "occurred_at", asked)


def escalation_name(settings: FeatureSettings) -> str:
    return f"escalations_{settings.longest}d"


def escalation_query(settings: FeatureSettings, asked: Pass) -> str:
    """Complaints within ESCALATION_DAYS after a support ticket (`connected` finds them once, for any as_of)."""
    recent = f" AND {within('e.occurred_at', settings.longest)}"
    return aggregated([f'count(*) AS "{escalation_name(settings)}"'], "escalations", "occurred_at", asked, recent)


# Social listening -----------------------------------------------------------------------------------


def mention_query(columns: set[str], settings: FeatureSettings, asked: Pass) -> str:
    """What the customer says about the brand in public."""
    long = settings.longest
    parts = [f'count(*) FILTER (WHERE {within("e.posted_at", w)}) AS "mentions_{w}d"' for w in settings.windows_days]
    if "sentiment" in columns:
        negative = f"e.sentiment < -{NEUTRAL_BAND}"
        parts += [
            f'{exact_mean("e.sentiment", within("e.posted_at", w))} AS "mean_sentiment_{w}d"'
            for w in settings.windows_days
        ]
        parts += [
            f'min(e.sentiment) FILTER (WHERE {within("e.posted_at", long)}) AS "min_sentiment_{long}d"',
            f"avg(CASE WHEN {negative} THEN 1.0 ELSE 0.0 END) FILTER (WHERE {within('e.posted_at', long)}) AS "
            f'"negative_mention_share_{long}d"',
            f"max(e.posted_at) FILTER (WHERE {negative}) AS last_negative",
            f"{exact_mean('e.sentiment', within('e.posted_at', TREND_DAYS))} AS sentiment_now",
            f"{exact_mean('e.sentiment', within('e.posted_at', 2 * TREND_DAYS, TREND_DAYS))} AS sentiment_before",
            f"{exact_mean('e.sentiment', within('e.posted_at', long))} AS sentiment_long",
        ]
    return aggregated(parts, "mentions", "posted_at", asked)


def brand_parts_query(settings: FeatureSettings) -> str:
    """The counts and exact sums the brand's mood on each requested date is made of. They add up over any split of
    the mentions, so the mood worked out from partitions' parts equals the one from all mentions at once."""
    parts = []
    for w in settings.windows_days:
        brand_post = f"e.code IS NULL AND {within('e.posted_at', w)}"
        parts.append(f'count(*) FILTER (WHERE {brand_post} AND e.sentiment < -{NEUTRAL_BAND}) AS "negative_{w}d"')
        parts.append(f'count(*) FILTER (WHERE {brand_post}) AS "brand_posts_{w}d"')
    long = within("e.posted_at", settings.longest)
    parts.append(f"sum((e.sentiment)::{EXACT}) FILTER (WHERE {long}) AS sentiment_sum")
    parts.append(f"count(e.sentiment) FILTER (WHERE {long}) AS sentiment_count")
    known_before = KNOWN_BEFORE.format(time="posted_at")
    return f"SELECT r.as_of, {', '.join(parts)} FROM dates r JOIN mentions e ON {known_before} GROUP BY r.as_of"


def brand_query(settings: FeatureSettings, parts: str) -> str:
    """The brand's mood on each requested date from its parts (`brand_parts_query`, any number of rows per date):
    computed once per date, read by every customer."""
    shares = [
        f'sum("negative_{w}d")::DOUBLE / NULLIF(sum("brand_posts_{w}d"), 0)::DOUBLE AS "brand_negative_share_{w}d"'
        for w in settings.windows_days
    ]
    everyone = "(sum(sentiment_sum) / NULLIF(sum(sentiment_count), 0)::BIGINT)::DOUBLE AS everyone_sentiment"
    return f"SELECT as_of, {', '.join(shares)}, {everyone} FROM ({parts}) GROUP BY as_of"


# Registering the tables -----------------------------------------------------------------------------


UNREAD = {
    "orders": ("order_id",),
    "activities": ("activity_id", "text", "reason"),
    "mentions": ("mention_id", "text", "lang", "channel"),
}
"""Event columns no query reads (texts reach features as themes)."""


def registered_tables(
    tables: Tables, settings: FeatureSettings, first_as_of: pd.Timestamp, needed: Needed
) -> dict[str, pa.Table]:
    """The event tables as DuckDB reads them (`Tables.coded_events`), only the columns features read; `connected`
    works out the facts that do not depend on as_of. Texts are themed (lemmatised) only when a theme count is `needed`,
    and only from the longest window before the first request's as_of: theme counts read no further back."""
    frames = {
        name: table.drop_columns([c for c in UNREAD[name] if c in table.column_names])
        for name, table in tables.coded_events.items()
    }
    if "activities" in frames and "direction" not in frames["activities"].column_names:
        frames["activities"] = frames["activities"].append_column(
            "direction", pa.nulls(len(tables.activities), "string")
        )
    themes = [theme_feature_name(theme, settings.longest) for theme in settings.themes]
    if themes and wants(needed, themes) and any(has_text(tables, name) for name in TEXT_SOURCES):
        themed = themed_texts(
            customer_texts(tables, since=first_as_of - pd.Timedelta(days=settings.longest)), settings.themes
        )
        codes = row_numbers(themed["customer_id"], tables.customers["customer_id"])
        frames["themed"] = pa.table(
            {
                "posted_at": pa.array(themed["at"].astype(tables.customers["signup_date"].dtype).to_numpy()),
                "theme": pa.array(themed["theme"].astype("string").to_numpy()),
                "code": pa.array(codes, mask=themed["customer_id"].isna().to_numpy()),
            }
        )
    return frames


def theme_query(settings: FeatureSettings, asked: Pass) -> str:
    """How often each customer raised each theme in the longest window."""
    long = settings.longest
    parts = [
        f"count(*) FILTER (WHERE e.theme = '{theme.replace(chr(39), chr(39) * 2)}' AND {within('e.posted_at', long)})"
        f' AS "{theme_feature_name(theme, long)}"'
        for theme in settings.themes
    ]
    return aggregated(parts, "themed", "posted_at", asked)


def connected(
    frames: dict[str, pa.Table], settings: FeatureSettings, needed: Needed, last_as_of: np.datetime64 | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that reads the coded frames in place, with the per-order and per-complaint facts added:
    worked out once into a table when a `needed` aggregate reads them, else left a view nobody runs, and only from
    events before the `last_as_of` any request will ask (no request reads later ones). `asking` gives it the
    requests."""
    connection = duckdb_connection()
    for name, frame in frames.items():
        connection.register(f"{name}_frame", frame)
    if "orders" in frames:
        columns = set(frames["orders"].column_names)
        derived = (
            f", ordered_at + INTERVAL ({settings.status_final_after_days}) DAY AS final_at"
            if "status" in columns
            else ""
        )
        if {"delivered_at", "promised_at"} <= columns:
            days_late = f"greatest(date_diff('microsecond', promised_at, delivered_at) / {MICROSECONDS_PER_DAY}, 0)"
            derived += f", {days_late} AS days_late, {days_late} > 0 AS late"
        connection.execute(f"CREATE TEMP VIEW orders AS SELECT *{derived} FROM orders_frame")
        connection.execute(f"""
            CREATE TEMP {kept(needed, ORDER_GAP_AGGREGATES)} order_gaps AS SELECT code, ordered_at,
                date_diff('microsecond', previous, ordered_at) / {MICROSECONDS_PER_DAY} AS gap_days,
                previous IS NULL OR date_trunc('day', previous) < date_trunc('day', ordered_at) AS new_day
            FROM (
                SELECT code, ordered_at, lag(ordered_at) OVER (PARTITION BY code ORDER BY ordered_at) AS previous
                FROM orders WHERE {readable(last_as_of, "ordered_at")}
            )
        """)
    if "activities" in frames:
        until = readable(last_as_of, "occurred_at")
        connection.execute("CREATE TEMP VIEW activities AS SELECT * FROM activities_frame")
        connection.execute(f"""
            CREATE TEMP {kept(needed, [escalation_name(settings)])} escalations AS
            SELECT complaint.code, complaint.occurred_at
            FROM (SELECT code, occurred_at FROM activities WHERE type = 'complaint' AND {until}) complaint
            ASOF JOIN (SELECT code, occurred_at FROM activities WHERE type = 'support_ticket' AND {until}) ticket
                ON complaint.code = ticket.code AND complaint.occurred_at >= ticket.occurred_at
            WHERE ticket.occurred_at >= complaint.occurred_at - INTERVAL ({ESCALATION_DAYS}) DAY
        """)
    for plain in ("mentions", "themed"):
        if plain in frames:
            connection.execute(f"CREATE TEMP VIEW {plain} AS SELECT * FROM {plain}_frame")
    return connection


def readable(last_as_of: np.datetime64 | None, time: str) -> str:
    """The events some request can read: before the last as_of asked (in whole microseconds, as SQL writes it)."""
    return "TRUE" if last_as_of is None else f"{time} < TIMESTAMP '{pd.Timestamp(last_as_of).ceil('us')}'"


def kept(needed: Needed, names) -> str:
    return "TABLE" if wants(needed, names) else "VIEW"


def asking(connection: duckdb.DuckDBPyConnection, asked: Pass, settings: FeatureSettings) -> None:
    """Makes the pass's requests (rid, code, as_of) and their dates the rows every query answers, replacing any
    earlier ones."""
    connection.register(
        "request_rows", pd.DataFrame({"rid": np.arange(len(asked.codes)), "code": asked.codes, "as_of": asked.as_of})
    )
    starts = window_starts(settings)
    if asked.customers is None:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE requests AS SELECT *, {starts} FROM request_rows")
    connection.execute(f"CREATE OR REPLACE TEMP TABLE dates AS SELECT DISTINCT as_of, {starts} FROM request_rows")


# Assembling the features ----------------------------------------------------------------------------


def derived_inputs(settings: FeatureSettings, horizon_days: int) -> dict[str, tuple[str, ...]]:
    """The aggregates each feature worked out in pandas below is made from: a build of named features computes only
    these and the features themselves (a test builds every feature alone and compares it with the whole build)."""
    long, rhythm = settings.longest, ("order_days", "first_day", "last_day")
    return dict.fromkeys(rhythm_features(horizon_days), rhythm) | {
        "days_since_last_order": ("last_order",),
        "order_gap_variation": ("gap_spread_numerator", "gaps", "gap_sum"),
        f"order_trend_{TREND_DAYS}d": ("orders_now", "orders_before"),
        f"spend_trend_{TREND_DAYS}d": ("spend_now", "spend_before", "orders_now", "orders_before"),
        "order_overdue_ratio": ("last_order", "typical_order_gap_days"),
        "days_since_first_order": ("first_order",),
        "days_from_first_to_last_order": ("first_day", "last_day"),
        "days_since_last_late_delivery": ("last_late_delivery",),
        "days_since_last_touch": ("last_touch",),
        f"win_rate_{long}d": (f"opportunities_won_{long}d", f"opportunities_lost_{long}d"),
        "days_since_last_negative_mention": ("last_negative",),
        f"sentiment_trend_{TREND_DAYS}d": ("sentiment_now", "sentiment_before"),
        f"sentiment_vs_brand_{long}d": ("sentiment_long", "everyone_sentiment"),
    }


def rhythm_features(horizon_days: int) -> tuple[str, ...]:
    """The features BG/NBD's fit to the whole base gives."""
    return ("probability_active", f"expected_orders_{horizon_days}d", f"probability_no_order_{horizon_days}d")


def needed_for(names, settings: FeatureSettings, horizon_days: int) -> frozenset[str]:
    inputs = derived_inputs(settings, horizon_days)
    return frozenset(names).union(*(inputs.get(name, ()) for name in names))


def days_since(latest: pd.Series, as_of: pd.Series) -> pd.Series:
    return (as_of - latest) / pd.Timedelta(days=1)


def purchase_columns(
    found: pd.DataFrame, as_of: pd.Series, settings: FeatureSettings, horizon_days: int, rhythms: Rhythms
) -> pd.DataFrame:
    """Orders' aggregates turned into features: recency, trends, the customer's rhythm and BG/NBD's expectations."""
    since_last = days_since(found["last_order"], as_of)
    typical_gap = found["typical_order_gap_days"]
    ordered = (found["orders_now"] + found["orders_before"]) > 0
    t_x = days_since(found["first_day"], found["last_day"])
    age = days_since(found["first_day"], as_of.dt.normalize())
    gaps = found["gaps"]
    gap_mean = found["gap_sum"] / gaps.where(gaps > 0)
    gap_spread = np.sqrt(
        found["gap_spread_numerator"] / (gaps * (gaps - 1)).where(gaps > 1)
    )  # n Σg² - (Σg)², exact, over n(n-1)
    columns = {
        "days_since_last_order": since_last,
        "order_gap_variation": gap_spread / gap_mean.where(gap_mean > 0),
        f"order_trend_{TREND_DAYS}d": ((found["orders_now"] + 1) / (found["orders_before"] + 1)).where(ordered),
        f"spend_trend_{TREND_DAYS}d": ((found["spend_now"] + 1) / (found["spend_before"] + 1)).where(ordered),
        "order_overdue_ratio": since_last / typical_gap.clip(lower=1.0),
        "days_since_first_order": days_since(found["first_order"], as_of),
        "days_from_first_to_last_order": t_x,
    }
    if "last_late_delivery" in found:
        columns["days_since_last_late_delivery"] = days_since(found["last_late_delivery"], as_of)
    x = found["order_days"] - 1.0
    expectations = {name: pd.Series(np.nan, index=found.index) for name in rhythm_features(horizon_days)}
    bought = found["order_days"].notna()
    anchors = (
        as_of[bought].to_numpy().astype("datetime64[M]").astype("datetime64[us]")
    )  # rhythm_anchor, for many dates at once
    for anchor, rows in found[bought].groupby(anchors).groups.items():
        model = rhythms.get(anchor)
        if model is None:
            continue
        arrays = (x[rows].to_numpy(float), t_x[rows].to_numpy(float), age[rows].to_numpy(float))
        expectations["probability_active"][rows] = model.probability_alive(*arrays)
        expectations[f"expected_orders_{horizon_days}d"][rows] = model.expected_purchases(horizon_days, *arrays)
        expectations[f"probability_no_order_{horizon_days}d"][rows] = model.probability_no_purchase(
            horizon_days, *arrays
        )
    return found.assign(**columns, **expectations)


def activity_columns(found: pd.DataFrame, as_of: pd.Series, settings: FeatureSettings) -> pd.DataFrame:
    long = settings.longest
    won, lost = found[f"opportunities_won_{long}d"], found[f"opportunities_lost_{long}d"]
    return found.assign(
        **{
            "days_since_last_touch": days_since(found["last_touch"], as_of),
            f"win_rate_{long}d": (won / (won + lost)).where(won + lost > 0),
        }
    )


def mention_columns(
    found: pd.DataFrame, as_of: pd.Series, brand: pd.DataFrame | None, settings: FeatureSettings
) -> pd.DataFrame:
    if "last_negative" not in found:
        return found
    mood = brand.reindex(as_of.to_numpy()).set_axis(found.index)
    return found.assign(
        **{
            "days_since_last_negative_mention": days_since(found["last_negative"], as_of),
            f"sentiment_trend_{TREND_DAYS}d": found["sentiment_now"] - found["sentiment_before"],
            f"sentiment_vs_brand_{settings.longest}d": found["sentiment_long"] - mood["everyone_sentiment"],
        }
    )


def customer_columns(tables: Tables, codes: pd.Series, as_of: pd.Series, settings: FeatureSettings) -> pd.DataFrame:
    """Who the customer is and for how long: the context every other signal is read against."""
    customers = tables.customers
    missing = [a for a in settings.customer_attributes if a not in customers.columns]
    if missing:
        raise ContractError(
            [
                Problem("customers", a, "is named in features.customer_attributes but is not a column of customers.")
                for a in missing
            ]
        )
    rows = codes.to_numpy()

    def picked(values: pd.Series) -> pd.Series:
        return values.iloc[rows].set_axis(codes.index)

    columns = {
        "tenure_days": days_since(picked(customers["signup_date"]), as_of),
        "segment": picked(customers["segment"]) if "segment" in customers else pd.Series(np.nan, index=codes.index),
    }
    for attribute in settings.customer_attributes:
        values = customers[attribute]
        numeric = pd.to_numeric(values, errors="coerce")
        columns[attribute] = picked(numeric if numeric.notna().sum() == values.notna().sum() else values.astype("str"))
    return pd.DataFrame(columns)


def query_frame(connection: duckdb.DuckDBPyConnection, sql: str, asked: Pass, needed: Needed) -> pd.DataFrame:
    """The query's rows by request (requests without a matching event get an empty row), found by position
    (`Pass.rows`) rather than by an index lookup: at millions of rows the lookup cost more than the query's transfer.
    Only the `needed` columns are computed (DuckDB drops the aggregates nobody selects); the others come back
    missing."""
    columns, found, keys = computed(connection, sql, "request", needed)
    rows = asked.rows(keys)
    missing = {kind: unknown(kind, len(rows)) for kind in set(columns.values())}
    return pd.DataFrame(
        {
            name: gathered(found[name].to_numpy(), rows) if name in found else missing[kind]
            for name, kind in columns.items()
        },
        index=pd.RangeIndex(len(rows)),
        copy=False,
    )


def computed(
    connection: duckdb.DuckDBPyConnection, sql: str, key: str, needed: Needed
) -> tuple[dict[str, np.dtype], pd.DataFrame, np.ndarray]:
    """The query's columns and their types, its `needed` columns by row, and each row's `key`."""
    relation = connection.sql(sql)
    columns = {
        name: np.dtype("datetime64[us]") if str(kind).startswith("TIMESTAMP") else np.dtype(float)
        for name, kind in zip(relation.columns, relation.types, strict=True)
        if name != key
    }
    chosen = [name for name in columns if needed is None or name in needed]
    if not chosen:
        return columns, pd.DataFrame(), np.array([], dtype=int)
    selected = ", ".join(f'"{name}"' for name in chosen)
    found = connection.sql(f"SELECT {key}, {selected} FROM ({sql})").to_arrow_table().to_pandas()
    return columns, found, found.pop(key).to_numpy()


def unknown(kind: np.dtype, length: int) -> np.ndarray:
    """A column of missing values, read-only: the columns a build does not compute share one."""
    values = np.full(length, np.datetime64("NaT") if kind.kind == "M" else np.nan, dtype=kind)
    values.setflags(write=False)
    return values


def gathered(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`values[rows]`, missing where a row is -1 (counts become floats, as NaN needs): -1 reads the missing value put
    at the end, one gather with no mask (4x faster on 250,000 rows)."""
    if values.dtype.kind == "M":
        return np.concatenate([values, np.array(["NaT"], dtype=values.dtype)])[rows]
    return np.concatenate([values.astype(float, copy=False), [np.nan]])[rows]


def query_frames(connection: duckdb.DuckDBPyConnection, sqls: list[str], asked: Pass, needed: Needed) -> pd.DataFrame:
    return pd.concat([query_frame(connection, sql, asked, needed) for sql in sqls], axis=1)


REQUESTS_PER_PASS = 250_000
"""Requests one DuckDB pass joins to their events, and customers a pass of one date aggregates. A pass holds every
aggregate's state, its result and its frames for each of its requests at once; 2 M training rows at 200,000
customers peaked 3.1 GB above the tables in passes of 1 M, 1.4 GB in passes of 300,000 and 1.1 GB in passes of
150,000, in no more time."""


@dataclass(frozen=True)
class Build:
    """What a build computes: its features (`catalogue`, in order), the columns they are made from (`needed`, None
    for every column), and what they are computed with."""

    settings: FeatureSettings
    horizon_days: int
    rhythms: Rhythms
    catalogue: dict[str, Feature]
    needed: Needed
    brand: BrandMoods | None
    """The brand's mood on every requested date (`brand_for`); None without scored mentions."""


def request_features(
    tables: Tables,
    requests: pd.DataFrame,
    settings: FeatureSettings,
    horizon_days: int,
    rhythms: Rhythms,
    only: Collection[str] | None = None,
    brand: BrandMoods | None = None,
) -> pd.DataFrame:
    """Every catalogue feature for each request (`customer_id`, `as_of`), in request order and catalogue order;
    `only` these features when named (only their aggregates are computed).

    `rhythms` holds the base's BG/NBD for each month a request falls in (`training_sets.base_rhythms`); `brand` the
    brand's mood on each requested date, needed when the tables hold one partition's mentions (`brand_moods`).
    """
    codes = customer_rows(tables, requests["customer_id"])
    return coded_features(tables, codes, requests["as_of"], settings, horizon_days, rhythms, only, brand).set_axis(
        requests.index
    )


def customer_rows(tables: Tables, customer_ids: pd.Series) -> np.ndarray:
    """Each customer's row in customers; an error naming a few that are not there."""
    codes = row_numbers(customer_ids, tables.customers["customer_id"])
    if (codes < 0).any():
        strangers = customer_ids[codes < 0].unique()[:5]
        raise ValueError(f"requests name customers that are not in customers, e.g. {', '.join(map(str, strangers))}")
    return codes


def coded_features(
    tables: Tables,
    codes: np.ndarray,
    as_of: np.ndarray | pd.Series,
    settings: FeatureSettings,
    horizon_days: int,
    rhythms: Rhythms,
    only: Collection[str] | None,
    brand: BrandMoods | None = None,
) -> pd.DataFrame:
    """`request_features` of requests given as customers' rows in customers (`codes`) and dates, by position."""
    as_of = np.asarray(as_of).astype(tables.customers["signup_date"].dtype)
    brand = brand_for(tables, brand, as_of, settings)
    build = build_of(catalogue_for(tables, settings, horizon_days), settings, horizon_days, rhythms, only, brand)
    catalogue = build.catalogue
    numeric = [name for name, spec in catalogue.items() if not spec.categorical]
    values = np.empty((len(numeric), len(codes)))  # every pass writes its rows here: the set is never copied whole
    categories = []
    frames = registered_tables(tables, settings, pd.Series(as_of).min(), build.needed)
    with connected(frames, settings, build.needed, as_of.max() if len(as_of) else None) as connection:
        for positions, customers in planned_passes(codes, as_of, len(tables.customers)):
            asked = Pass(codes[positions], as_of[positions], customers)
            found = features_of(connection, frames, tables, asked, build)
            rows = as_run(positions)
            for row, name in enumerate(numeric):  # column by column: no 2-D copy of the pass, no strided writes
                values[row, rows] = found[name].to_numpy(dtype=float)
            categories.append(found.drop(columns=numeric).set_axis(positions))
    released_arrow_memory()
    features = pd.DataFrame(values.T, columns=numeric, copy=False)
    categorical = pd.concat(categories).sort_index()
    for name in categorical:
        features.insert(list(catalogue).index(name), name, categorical[name])
    return features


def build_of(
    catalogue: dict[str, Feature],
    settings: FeatureSettings,
    horizon_days: int,
    rhythms: Rhythms,
    only: Collection[str] | None,
    brand: BrandMoods | None,
) -> Build:
    if only is None:
        return Build(settings, horizon_days, rhythms, catalogue, None, brand)
    unknown = sorted(set(only) - set(catalogue))
    if unknown:
        raise ValueError(f"no such features for these tables and settings: {', '.join(unknown)}")
    chosen = {name: spec for name, spec in catalogue.items() if name in set(only)}
    return Build(settings, horizon_days, rhythms, chosen, needed_for(chosen, settings, horizon_days), brand)


def planned_passes(codes: np.ndarray, as_of: np.ndarray, customers: int) -> Iterator[tuple[np.ndarray, range | None]]:
    """The requests' positions in passes, each with the customers a pass of one date aggregates (`Pass.customers`):
    a date asked for enough of the customers (`DATE_PASS_SHARE`: a scoring date, a training cutoff) in passes of
    `REQUESTS_PER_PASS` customers, the other requests (survey answers on many days) joined in passes of as many
    requests. No requests make one empty pass, which still has columns."""
    dates, date_of, counts = np.unique(as_of, return_inverse=True, return_counts=True)
    own_pass = counts >= max(DATE_PASS_SHARE * customers, DATE_PASS_MINIMUM, 1)
    for date in np.flatnonzero(own_pass):
        on_date = np.flatnonzero(date_of == date)
        for first in range(0, customers, REQUESTS_PER_PASS):
            chosen = (codes[on_date] >= first) & (codes[on_date] < first + REQUESTS_PER_PASS)
            if chosen.any():
                yield on_date[chosen], range(first, min(first + REQUESTS_PER_PASS, customers))
    joined = np.flatnonzero(~own_pass[date_of])
    for first in range(0, len(joined) if len(dates) else 1, REQUESTS_PER_PASS):
        yield joined[first : first + REQUESTS_PER_PASS], None


def as_run(positions: np.ndarray) -> np.ndarray | slice:
    """The positions as a slice when they are one run, as a date's requests usually are: numpy writes a slice 13x
    faster than by index."""
    if len(positions) and positions[-1] - positions[0] + 1 == len(positions):
        return slice(positions[0], positions[-1] + 1)
    return positions


def features_of(
    connection: duckdb.DuckDBPyConnection, frames: dict[str, pa.Table], tables: Tables, asked: Pass, build: Build
) -> pd.DataFrame:
    """One pass: the features of its requests (positions 0..n-1), by catalogue name."""
    settings, needed = build.settings, build.needed
    codes, as_of = pd.Series(asked.codes), pd.Series(asked.as_of)
    asking(connection, asked, settings)
    parts = [customer_columns(tables, codes, as_of, settings)]
    if "orders" in frames:
        columns = set(frames["orders"].column_names)
        queries = [order_query(columns, settings, asked), order_gap_query(asked)]
        parts.append(
            purchase_columns(
                query_frames(connection, queries, asked, needed), as_of, settings, build.horizon_days, build.rhythms
            )
        )
        if "channel" in columns:
            parts.append(query_frame(connection, channel_query(settings, asked), asked, needed))
    if "activities" in frames:
        columns = set(frames["activities"].column_names)
        queries = [activity_query(columns, settings, asked), escalation_query(settings, asked)]
        parts.append(activity_columns(query_frames(connection, queries, asked, needed), as_of, settings))
    if "mentions" in frames:
        parts.append(mention_features(connection, set(frames["mentions"].column_names), as_of, asked, build))
    if "themed" in frames:
        parts.append(query_frame(connection, theme_query(settings, asked), asked, needed))
    built = pd.concat(parts, axis=1)
    fills = {name: spec.when_missing for name, spec in build.catalogue.items() if not np.isnan(spec.when_missing)}
    return built.reindex(columns=list(build.catalogue)).fillna(fills)


def mention_features(
    connection: duckdb.DuckDBPyConnection,
    columns: set[str],
    as_of: pd.Series,
    asked: Pass,
    build: Build,
) -> pd.DataFrame:
    """The customer's mentions, read beside the brand's mood on the same date."""
    settings, brand = build.settings, build.brand
    found = mention_columns(
        query_frame(connection, mention_query(columns, settings, asked), asked, build.needed), as_of, brand, settings
    )
    if brand is None:
        return found
    return found.assign(**brand.reindex(as_of.to_numpy()).set_axis(found.index).drop(columns="everyone_sentiment"))


def brand_moods(tables: Tables, dates, settings: FeatureSettings) -> BrandMoods | None:
    """The brand's mood on each of these dates over all the tables' mentions, computed once for every partition of
    customers to read (`Tables.for_customers` keeps only a partition's own mentions); None without scored mentions."""
    if not has_sentiment(tables):
        return None
    return moods_from_parts([brand_parts(tables, dates, settings)], dates, settings)


def brand_parts(tables: Tables, dates, settings: FeatureSettings) -> pa.Table:
    """`brand_parts_query` over these tables' mentions on each of these dates: what a partition of customers read
    from its own files adds to the brand's mood (`moods_from_parts`)."""
    days = request_days(dates)
    frames = {"mentions": tables.coded_events["mentions"].select(["posted_at", "sentiment", "code"])}
    with connected(frames, settings, None) as connection:
        asking(connection, Pass(np.zeros(len(days), dtype=np.int64), days, range(0)), settings)
        return connection.sql(brand_parts_query(settings)).to_arrow_table()


def moods_from_parts(parts: list[pa.Table], dates, settings: FeatureSettings) -> BrandMoods:
    """The brand's mood on each of these dates from the parts of every partition of mentions (`brand_parts`); a date
    before any mention is missing, as in a build."""
    with duckdb_connection() as connection:
        connection.register("brand_parts", pa.concat_tables(parts))
        columns, found, days = computed(connection, brand_query(settings, "SELECT * FROM brand_parts"), "as_of", None)
    return found.set_axis(days).reindex(columns=list(columns)).astype(columns).reindex(request_days(dates))


def request_days(dates) -> np.ndarray:
    return np.unique(np.asarray(dates).astype(f"datetime64[{TIME_UNIT}]"))


def brand_for(
    tables: Tables, brand: BrandMoods | None, as_of: np.ndarray, settings: FeatureSettings
) -> BrandMoods | None:
    """The brand's mood on every requested date: the one given, checked to cover those dates (a partition's build
    needs it, its tables holding only its own customers' mentions), else worked out once for the whole build (once
    per pass, it took 12.7 s of a 12-cutoff training set at 1 M customers); None without scored mentions."""
    if not has_sentiment(tables):
        return None
    if brand is None:
        if tables.mentions_partial:
            raise ValueError(
                "these tables hold only some customers' mentions (a partition): give the brand's mood over all "
                "mentions (brand_moods) for the brand-wide features"
            )
        return brand_moods(tables, request_days(as_of), settings)
    missing = np.setdiff1d(as_of, brand.index.to_numpy())
    if len(missing):
        raise ValueError(
            f"the brand's mood given (brand_moods) lacks {len(missing)} of the requested dates, e.g. "
            f"{pd.Timestamp(missing[0])}"
        )
    return brand


def has_sentiment(tables: Tables) -> bool:
    return tables.mentions is not None and "sentiment" in tables.mentions


def base_rhythms(tables: Tables, dates: list[pd.Timestamp]) -> Rhythms:
    """BG/NBD of the whole customer base for each month these dates fall in (`rhythm_anchor`): x, t_x and T of
    every sampled customer at each month's first day from one pass over the distinct order days, then one fit per
    month."""
    anchors = rhythm_anchors(dates)
    if tables.orders is None or not anchors:
        return dict.fromkeys(anchors)
    spans = customer_spans(tables, anchors)
    return fitted_rhythms([sampled_histories(spans, buyers_by_anchor(spans, anchors), anchors)], anchors)


def rhythm_anchors(dates: list[pd.Timestamp]) -> list[pd.Timestamp]:
    return sorted({rhythm_anchor(d) for d in set(dates)})


def customer_spans(tables: Tables, anchors: list[pd.Timestamp]) -> pd.DataFrame:
    """`order_day_spans` of these tables' customers, each with one fixed draw from its id (what
    `features.btyd.anchored_histories` reads): a partition of customers gives its own customers' rows of the whole
    base's."""
    spans = order_day_spans(tables.coded_events["orders"], anchors)
    draws = stable_hashes(tables.customers["customer_id"]) / 2.0**64
    return spans.assign(draw=draws[spans.pop("code").to_numpy()])


def fitted_rhythms(samples: list[dict[pd.Timestamp, pd.DataFrame]], anchors: list[pd.Timestamp]) -> Rhythms:
    """One BG/NBD per anchor on the sampled histories (`sampled_histories`) of every partition of customers."""
    fits = {}
    for anchor in anchors:
        found = [sample[anchor] for sample in samples if anchor in sample]
        history = pd.concat(found) if found else None
        fits[anchor] = None if history is None else fit_bg_nbd(*(history[c].to_numpy() for c in ("x", "t_x", "T")))
    return fits


def order_day_spans(orders: pa.Table, anchors: list[pd.Timestamp]) -> pd.DataFrame:
    """Per customer (`code`, `Tables.coded_events`) and bucket of days between anchors
    (`features.btyd.anchored_histories`): the distinct order days' count, first and last."""
    bucket = " + ".join(f"(day >= TIMESTAMP '{anchor}')::INTEGER" for anchor in anchors)
    with duckdb_connection() as connection:
        connection.register("orders", orders.select(["code", "ordered_at"]))
        return connection.execute(f"""
            SELECT code, bucket, count(*) AS count, min(day) AS min, max(day) AS max FROM (
                SELECT code, day, {bucket} AS bucket
                FROM (
                    SELECT DISTINCT code, date_trunc('day', ordered_at)::TIMESTAMP AS day FROM orders
                    WHERE code >= 0 AND ordered_at < TIMESTAMP '{anchors[-1]}'
                )
            ) GROUP BY code, bucket
        """).df()


def catalogue_for(tables: Tables, settings: FeatureSettings, horizon_days: int) -> dict[str, Feature]:
    """The features these tables support under these settings and churn horizon."""
    themes = tuple(settings.themes) if any(has_text(tables, name) for name in TEXT_SOURCES) else ()
    return feature_catalogue(
        settings.windows_days, horizon_days, tables.event_sources, settings.customer_attributes, themes
    )


def has_text(tables: Tables, name: str) -> bool:
    frame = getattr(tables, name)
    return frame is not None and TEXT_SOURCES[name] in frame


def build_features(
    tables: Tables,
    as_of: pd.Timestamp,
    settings: FeatureSettings,
    horizon_days: int,
    rhythm: BgNbd | None = None,
    only: Collection[str] | None = None,
    brand: BrandMoods | None = None,
) -> pd.DataFrame:
    """Every catalogue feature for every customer signed up before `as_of`, indexed by customer_id; `only` these
    features when named, computing only what they are made from; `brand` as in `request_features`.

    `horizon_days` is the churn horizon: buying-rhythm expectations look that far ahead. `rhythm` is
    the base's BG/NBD fit, computed from `tables` when not given: give it when `tables` holds only
    some of the customers, so their features match a build over everyone.
    """
    signed_up = (tables.customers["signup_date"] < as_of).to_numpy()
    unfitted = rhythm is None and only is not None and set(only).isdisjoint(rhythm_features(horizon_days))
    rhythms = {rhythm_anchor(as_of): rhythm} if rhythm is not None or unfitted else base_rhythms(tables, [as_of])
    codes = np.flatnonzero(signed_up)
    dates = np.full(len(codes), as_of.to_datetime64().astype(tables.customers["signup_date"].dtype))
    features = coded_features(tables, codes, dates, settings, horizon_days, rhythms, only, brand)
    return features.set_axis(pd.Index(tables.customers["customer_id"].to_numpy()[signed_up], name="customer_id"))


def unused_attributes(tables: Tables, settings: FeatureSettings) -> list[str]:
    """Columns of customers beyond the contract's that the settings do not name as attributes."""
    declared = {column.name for column in CUSTOMERS.columns} | set(settings.customer_attributes)
    return [column for column in tables.customers.columns if column not in declared]
