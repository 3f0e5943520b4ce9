"""The input contract: every table, column and type surveyless reads, declared once.

Validation, the loaders, the synthetic world and the README's contract table all read
these declarations, so a column added here is added everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd


@dataclass(frozen=True)
class Problem:
    table: str
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.table}: column '{self.column}'" if self.column else f"{self.table}:"
        return f"{where} {self.message}"


class ContractError(ValueError):
    """The data source breaks the input contract; `problems` says where, with example rows."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


ColumnKind = Literal["id", "timestamp", "number", "text", "category"]

ORDER_STATUSES = ("completed", "returned", "cancelled", "refunded")
ACTIVITY_TYPES = (
    "call",
    "meeting",
    "email",
    "demo",
    "support_ticket",
    "complaint",
    "opportunity_won",
    "opportunity_lost",
    "other",
)
DIRECTIONS = ("inbound", "outbound")
SurveyScale = Literal["nps", "csat"]
SURVEY_SCALES: dict[str, tuple[float, float]] = {"nps": (0.0, 10.0), "csat": (1.0, 5.0)}
NPS_DETRACTORS_UP_TO = 6
"""On the 0-10 scale, 0-6 are detractors, 7-8 passives and 9-10 promoters (Reichheld's cut points)."""
NPS_PROMOTERS_FROM = 9
RETURN_STATUSES = ("returned", "refunded")
LARGEST_NUMBER = 1e15
"""Larger magnitudes are an export error (or an overflow waiting to happen in a sum), not an amount."""
EARLIEST_TIME = "1900-01-01"
"""Earlier timestamps are placeholders or unit errors (seconds read as days), not events."""
"""Order statuses that mean the goods came back or the money went back."""


def promoter_and_detractor_shares(scores: pd.Series) -> tuple[float, float]:
    return float((scores >= NPS_PROMOTERS_FROM).mean()), float((scores <= NPS_DETRACTORS_UP_TO).mean())


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    description: str
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: str | None = None
    time_column: str | None = None
    required: bool = False
    is_event_source: bool = False

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


CUSTOMERS = TableSpec(
    name="customers",
    description="One row per customer; other columns are attributes, used when the config lists them.",
    primary_key="customer_id",
    required=True,
    columns=(
        Column("customer_id", "id", "Unique customer identifier."),
        Column("signup_date", "timestamp", "When the customer relationship began."),
        Column("segment", "text", "Customer segment, e.g. consumer / smb / enterprise.", required=False, nullable=True),
    ),
)

ORDERS = TableSpec(
    name="orders",
    description="Purchase history: one row per order.",
    primary_key="order_id",
    time_column="ordered_at",
    is_event_source=True,
    columns=(
        Column("order_id", "id", "Unique order identifier."),
        Column("customer_id", "id", "Customer who ordered."),
        Column("ordered_at", "timestamp", "When the order was placed."),
        Column("amount", "number", "Order value in the company's currency."),
        Column("status", "category", "Final order status.", required=False, nullable=True, allowed=ORDER_STATUSES),
        Column("promised_at", "timestamp", "Promised delivery time.", required=False, nullable=True),
        Column("delivered_at", "timestamp", "Actual delivery time.", required=False, nullable=True),
        Column(
            "discount",
            "number",
            "Discount given, as a share of the amount (0..1).",
            required=False,
            nullable=True,
            bounds=(0.0, 1.0),
        ),
        Column("channel", "text", "Sales channel (web, app, store, phone...).", required=False, nullable=True),
    ),
)

ACTIVITIES = TableSpec(
    name="activities",
    description="Sales activity and service contacts: one row per touch, ticket or opportunity.",
    primary_key="activity_id",
    time_column="occurred_at",
    is_event_source=True,
    columns=(
        Column("activity_id", "id", "Unique activity identifier."),
        Column("customer_id", "id", "Customer the activity concerns."),
        Column("occurred_at", "timestamp", "When the activity happened."),
        Column("type", "category", "What kind of activity.", allowed=ACTIVITY_TYPES),
        Column("direction", "category", "Who started it.", required=False, nullable=True, allowed=DIRECTIONS),
        Column("resolved_at", "timestamp", "When a ticket or complaint was resolved.", required=False, nullable=True),
        Column("value", "number", "Opportunity value, when the activity has one.", required=False, nullable=True),
        Column(
            "reason",
            "text",
            "Contact-reason code the CRM records (e.g. DELIVERY, BILLING), when there is one.",
            required=False,
            nullable=True,
        ),
        Column(
            "text",
            "text",
            "Ticket subject, or chat or call notes (English or Finnish); read for themes, never shown.",
            required=False,
            nullable=True,
        ),
    ),
)

MENTIONS = TableSpec(
    name="mentions",
    description="Social listening: posts that mention the brand, linked to a customer when known.",
    primary_key="mention_id",
    time_column="posted_at",
    is_event_source=True,
    columns=(
        Column("mention_id", "id", "Unique mention identifier."),
        Column("customer_id", "id", "Author's customer id; empty when not linked.", nullable=True),
        Column("posted_at", "timestamp", "When the mention was posted."),
        Column("text", "text", "The post's text (English or Finnish).", nullable=True),
        Column("channel", "text", "Where it was posted.", required=False, nullable=True),
        Column("lang", "text", "Language code, when the listening tool knows it.", required=False, nullable=True),
        Column(
            "sentiment",
            "number",
            "Sentiment in -1..1, when the listening tool scored it.",
            required=False,
            nullable=True,
            bounds=(-1.0, 1.0),
        ),
    ),
)

SURVEYS = TableSpec(
    name="surveys",
    description="Survey answers (labels only, never features).",
    time_column="answered_at",
    columns=(
        Column("customer_id", "id", "Customer who answered."),
        Column("answered_at", "timestamp", "When the answer was given."),
        Column("score", "number", "NPS 0-10 or CSAT 1-5, the scale set in the config."),
    ),
)

CHURN_EVENTS = TableSpec(
    name="churn_events",
    description="Contractual churn: when a customer ended the contract.",
    time_column="churned_at",
    columns=(
        Column("customer_id", "id", "Customer who left."),
        Column("churned_at", "timestamp", "When the contract ended."),
    ),
)

REVIEWS = TableSpec(
    name="reviews",
    description="Reviews on review sites or the web shop, linked to a customer when known; read for themes.",
    primary_key="review_id",
    time_column="posted_at",
    columns=(
        Column("review_id", "id", "Unique review identifier."),
        Column("customer_id", "id", "Reviewer's customer id; empty when not linked.", nullable=True),
        Column("posted_at", "timestamp", "When the review was posted."),
        Column("rating", "number", "Stars, 1..5.", bounds=(1.0, 5.0)),
        Column("text", "text", "The review's text (English or Finnish); read for themes, never shown.", nullable=True),
        Column("source", "text", "Where it was posted.", required=False, nullable=True),
    ),
)

TABLE_SPECS: dict[str, TableSpec] = {
    spec.name: spec for spec in (CUSTOMERS, ORDERS, ACTIVITIES, MENTIONS, SURVEYS, CHURN_EVENTS, REVIEWS)
}
TEXT_SOURCES = {"mentions": "text", "activities": "text", "reviews": "text"}
"""Where customers' own words are: read for themes of what they talk about."""
EVENT_SOURCES = tuple(name for name, spec in TABLE_SPECS.items() if spec.is_event_source)
