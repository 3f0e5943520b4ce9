"""Every feature, declared once: what it means to a person, its unit, and how it reads as a reason.

Builders must produce exactly these columns (a test holds them to it); the explanations, the
report and the README read the descriptions and reason templates from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DRIVERS = ("delivery", "product quality", "service responsiveness", "engagement", "price", "social voice", "relationship")


@dataclass(frozen=True)
class Feature:
    """One feature; `{window}` in name, description and reason stands for the window in days.

    `raises_churn` marks features that can only push churn risk up (more late deliveries never
    make a customer more loyal); the churn model is held to it with a monotone constraint.
    """

    name: str
    source: str
    unit: str
    description: str
    reason: str
    driver: str
    windowed: bool = False
    when_missing: float = 0.0
    categorical: bool = False
    reason_when_missing: str = ""
    raises_churn: bool = False

    def for_window(self, window: int | None) -> ResolvedFeature:
        fill = {"window": window}
        return ResolvedFeature(
            name=self.name.format(**fill),
            source=self.source,
            window_days=window,
            unit=self.unit,
            description=self.description.format(**fill),
            reason=self.reason.replace("{window}", str(window)),
            driver=self.driver,
            when_missing=self.when_missing,
            categorical=self.categorical,
            reason_when_missing=self.reason_when_missing or f"{self.description.format(**fill).lower()}: none yet",
            raises_churn=self.raises_churn,
        )


@dataclass(frozen=True)
class ResolvedFeature:
    name: str
    source: str
    window_days: int | None
    unit: str
    description: str
    reason: str
    driver: str
    when_missing: float
    categorical: bool
    reason_when_missing: str
    raises_churn: bool

    def reason_text(self, value: object) -> str:
        """The reason template filled with a customer's value; a missing value reads as 'none yet'."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.reason_when_missing
        return self.reason.format(value=value if self.categorical else float(value))


NAN = float("nan")

FEATURES: tuple[Feature, ...] = (
    Feature("tenure_days", "customers", "days", "Days since the customer signed up", "customer for {value:.0f} days", "relationship"),
    Feature("segment", "customers", "category", "Customer segment", "segment {value}", "relationship", categorical=True, when_missing=NAN, reason_when_missing="no segment"),
    Feature("orders_{window}d", "orders", "orders", "Orders placed in the last {window} days", "{value:.0f} orders in the last {window} days", "engagement", windowed=True),
    Feature("spend_{window}d", "orders", "currency", "Value of orders in the last {window} days", "spent {value:,.0f} in the last {window} days", "engagement", windowed=True),
    Feature("days_since_last_order", "orders", "days", "Days since the last order", "last order {value:.0f} days ago", "engagement", when_missing=NAN, reason_when_missing="no orders yet", raises_churn=True),
    Feature("late_deliveries_{window}d", "orders", "deliveries", "Deliveries that arrived after the promised time in the last {window} days", "{value:.0f} late deliveries in the last {window} days", "delivery", windowed=True, raises_churn=True),
    Feature("returns_{window}d", "orders", "orders", "Orders returned or refunded, counted when their status became final in the last {window} days", "{value:.0f} returned or refunded orders in the last {window} days", "product quality", windowed=True, raises_churn=True),
    Feature("discount_share_{window}d", "orders", "share", "Share of orders with a discount in the last {window} days", "{value:.0%} of orders discounted in the last {window} days", "price", windowed=True, when_missing=NAN),
    Feature("support_tickets_{window}d", "activities", "tickets", "Support tickets opened in the last {window} days", "{value:.0f} support tickets in the last {window} days", "service responsiveness", windowed=True),
    Feature("complaints_{window}d", "activities", "complaints", "Complaints in the last {window} days", "{value:.0f} complaints in the last {window} days", "service responsiveness", windowed=True, raises_churn=True),
    Feature("open_tickets", "activities", "tickets", "Support tickets still unresolved", "{value:.0f} support tickets still open", "service responsiveness", raises_churn=True),
    Feature("inbound_contacts_{window}d", "activities", "contacts", "Calls and emails the customer started in the last {window} days", "{value:.0f} inbound contacts in the last {window} days", "service responsiveness", windowed=True),
    Feature("outbound_touches_{window}d", "activities", "touches", "Calls, emails, meetings and demos by the company in the last {window} days", "{value:.0f} outbound touches in the last {window} days", "engagement", windowed=True),
    Feature("days_since_last_touch", "activities", "days", "Days since the company last reached out", "last contacted {value:.0f} days ago", "engagement", when_missing=NAN, reason_when_missing="never contacted by the account team"),
    Feature("mentions_{window}d", "mentions", "mentions", "Social posts by the customer in the last {window} days", "{value:.0f} social posts in the last {window} days", "social voice", windowed=True),
)


def churn_directions(catalogue: dict[str, ResolvedFeature]) -> dict[str, int]:
    """LightGBM monotone constraints: +1 where a feature can only raise churn risk."""
    return {name: int(spec.raises_churn) for name, spec in catalogue.items()}


def feature_catalogue(windows: tuple[int, ...], sources: tuple[str, ...]) -> dict[str, ResolvedFeature]:
    """The concrete features for these windows and the sources a data set has, in build order."""
    catalogue = {}
    for feature in FEATURES:
        if feature.source != "customers" and feature.source not in sources:
            continue
        for window in windows if feature.windowed else (None,):
            resolved = feature.for_window(window)
            catalogue[resolved.name] = resolved
    return catalogue
