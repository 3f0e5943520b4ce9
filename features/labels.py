"""Labels: what customers did after `as_of` (churn) and what they said (surveys).

Labels look forward from `as_of`; features look back. Both cut at `as_of` with the same rule,
so a survey answer or a churn event can never be a feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.tables import Tables, between, known_before


@dataclass(frozen=True)
class ChurnDefinition:
    """Churn is a contract ending (`churn_events`) or, for lapse segments, no activity for `horizon_days`."""

    horizon_days: int = 90
    lapse_segments: tuple[str, ...] = ()

    @property
    def horizon(self) -> pd.Timedelta:
        return pd.Timedelta(days=self.horizon_days)


def lapses_silently(tables: Tables, definition: ChurnDefinition) -> pd.Series:
    """Per customer: True when churn means going quiet rather than a recorded contract end."""
    customers = tables.customers.set_index("customer_id")
    if tables.churn_events is None:
        return pd.Series(True, index=customers.index)
    if "segment" not in customers:
        return pd.Series(False, index=customers.index)
    return customers["segment"].isin(definition.lapse_segments)


def activity_events(tables: Tables) -> pd.DataFrame:
    """Events that show a customer is still buying: orders when the source has them, else any linked event (maybe none)."""
    if tables.orders is not None:
        return tables.orders[["customer_id", "ordered_at"]].rename(columns={"ordered_at": "at"})
    frames = [
        frame[["customer_id", column]].rename(columns={column: "at"})
        for frame, column in ((tables.activities, "occurred_at"), (tables.mentions, "posted_at"))
        if frame is not None
    ]
    if not frames:
        return pd.DataFrame({"customer_id": pd.Series(dtype="str"), "at": pd.Series(dtype="datetime64[us]")})
    return pd.concat(frames).dropna(subset=["customer_id"])


def active_customers(tables: Tables, as_of: pd.Timestamp, definition: ChurnDefinition) -> pd.Index:
    """Customers who could still churn at `as_of`: signed up, no contract ended, not already lapsed."""
    lapse = lapses_silently(tables, definition)
    signed_up = pd.Index(known_before(tables.customers, "signup_date", as_of)["customer_id"])
    ended = known_before(tables.churn_events, "churned_at", as_of)
    ended_ids = pd.Index([]) if ended is None else pd.Index(ended["customer_id"])
    recent = between(activity_events(tables), "at", as_of - definition.horizon, as_of)["customer_id"].unique()
    contractual_active = signed_up[~lapse.reindex(signed_up).to_numpy() & ~signed_up.isin(ended_ids)]
    lapse_active = signed_up[lapse.reindex(signed_up).to_numpy() & signed_up.isin(recent)]
    return pd.Index(contractual_active.append(lapse_active).sort_values(), name="customer_id")


def churn_labels(tables: Tables, as_of: pd.Timestamp, definition: ChurnDefinition) -> pd.Series:
    """1 when an active customer churns within the horizon after `as_of`, else 0."""
    population = active_customers(tables, as_of, definition)
    end = as_of + definition.horizon
    lapse = lapses_silently(tables, definition).reindex(population).to_numpy()
    still_buying = between(activity_events(tables), "at", as_of, end)["customer_id"].unique()
    ended = set() if tables.churn_events is None else set(between(tables.churn_events, "churned_at", as_of, end)["customer_id"])
    churned = (lapse & ~population.isin(still_buying)) | (~lapse & population.isin(list(ended)))
    return pd.Series(churned.astype(int), index=population, name="churned")


def survey_answers(tables: Tables, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Survey answers with the day their features are computed as of: the start of the answer's day."""
    surveys = tables.surveys
    if start is not None and end is not None:
        surveys = between(surveys, "answered_at", start, end)
    return surveys.assign(as_of=surveys["answered_at"].dt.normalize()).reset_index(drop=True)
