"""Who is scored at `as_of`, and what they did after it (churn) or said (surveys).

Labels look forward from `as_of`; features look back. Both cut at `as_of` with the same rule,
so a survey answer or a churn event can never be a feature.

Churn has two meanings, decided per customer by the churn definition:
- contractual: the customer ends a contract (a row in `churn_events`);
- lapse: the customer places no order (or, without orders, has no linked event) in the horizon.
A lapse customer who has already gone a whole horizon without buying is *lapsed*, not gone: they
are scored too (the chance they still buy nothing is what matters, and some come back), and the
same population fills the training rows at every cutoff, so the model learns to rank them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from features.contract import ContractError, Problem
from features.schema import TABLE_SPECS
from features.settings import Settings
from features.tables import TIME_UNIT, Tables, between, row_numbers

STATUSES = ("new", "active", "lapsed")
Status = Literal["new", "active", "lapsed"]
LAPSE_EVENT_SOURCES = ("orders", "activities", "mentions")


class ChurnDefinition(Settings):
    """What churn means. `contract_ends` and `lapse_events` are settled at training from the source
    (`resolved`) and kept with the model, so scoring never switches definitions with the data."""

    horizon_days: int = Field(90, gt=0, description="Churn means leaving within this many days after the scoring date.")
    lapse_segments: tuple[str, ...] = Field(
        ("consumer",),
        description="Segments that churn by going quiet (no order within the horizon) even when churn_events exist.",
    )
    max_inactive_days: int | None = Field(
        None,
        gt=0,
        description="Score lapse customers only while their last order is at most this many days old; null scores the "
        "whole base.",
    )
    contract_ends: bool | None = Field(
        None,
        description="Whether churn_events mark churn for customers outside lapse_segments; null: decided at training "
        "by whether the source has churn_events.",
    )
    lapse_events: tuple[str, ...] | None = Field(
        None,
        description="Tables whose events show a lapse customer is still buying; null: decided at training (orders when "
        "present, else activities and mentions).",
    )

    @property
    def horizon(self) -> pd.Timedelta:
        return pd.Timedelta(days=self.horizon_days)

    def resolved(self, tables: Tables) -> ChurnDefinition:
        """The definition with every choice the source decides made explicit, for a model to keep."""
        contract_ends = tables.churn_events is not None if self.contract_ends is None else self.contract_ends
        if contract_ends and tables.churn_events is None:
            raise ContractError(
                [
                    Problem(
                        "churn_events",
                        None,
                        "table is missing, but churn.contract_ends is true: contract ends need churn_events.",
                    )
                ]
            )
        events = self.lapse_events or (
            ("orders",)
            if tables.orders is not None
            else tuple(s for s in LAPSE_EVENT_SOURCES if getattr(tables, s) is not None)
        )
        resolved = self.model_copy(update={"contract_ends": contract_ends, "lapse_events": events})
        if not events and lapses_silently(tables, resolved).any():
            who = (
                "every customer"
                if not contract_ends
                else f"customers of churn.lapse_segments ({', '.join(self.lapse_segments)})"
            )
            raise ContractError(
                [
                    Problem(
                        "source",
                        None,
                        (
                            f"{who} churn by going quiet, but the source has no orders, activities or mentions to see "
                            "it: give one of them, "
                            "or churn_events for contract ends (and churn.lapse_segments: [] if no segment lapses)."
                        ),
                    )
                ]
            )
        return resolved

    def describe(self) -> str:
        """One line for the model card and the console."""
        lapse = f"no {'order' if self.lapse_events == ('orders',) else 'linked event'} within {self.horizon_days} days"
        if not self.contract_ends:
            return f"every customer lapses: churn = {lapse}"
        segments = ", ".join(self.lapse_segments) or "none"
        return f"contract end (churn_events) within {self.horizon_days} days; lapse segments ({segments}): {lapse}"


def lapses_silently(tables: Tables, definition: ChurnDefinition) -> pd.Series:
    """Per customer: True when churn means going quiet rather than a recorded contract end."""
    customers = tables.customers.set_index("customer_id")
    if not definition.contract_ends:
        return pd.Series(True, index=customers.index)
    if "segment" not in customers:
        return pd.Series(False, index=customers.index)
    return customers["segment"].isin(definition.lapse_segments).fillna(False).astype(bool)


def buying_events(tables: Tables, definition: ChurnDefinition) -> pd.DataFrame:
    """(code, at) of the events that show a lapse customer is still buying (`coded_events`)."""
    sources = [source for source in definition.lapse_events or () if getattr(tables, source) is not None]
    return coded_events(tables, {source: TABLE_SPECS[source].time_column for source in sources})


def nearest_event(requests: pd.DataFrame, events: pd.DataFrame, direction: str, exact: bool) -> pd.Series:
    """For each request (code, as_of): the time of the customer's last event before as_of (`backward`, exact
    times excluded unless `exact`) or first event at or after it (`forward`), NaT when none; in request order."""
    keyed = requests[["code", "as_of"]].assign(position=np.arange(len(requests))).sort_values("as_of", kind="stable")
    found = pd.merge_asof(
        keyed,
        events.sort_values("at", kind="stable"),
        left_on="as_of",
        right_on="at",
        by="code",
        direction=direction,
        allow_exact_matches=exact,
    )
    return found.sort_values("position")["at"].set_axis(requests.index)


def coded_events(tables: Tables, times: dict[str, str]) -> pd.DataFrame:
    """(code, at) of these tables' dated events by known customers, each customer as its row in customers
    (`Tables.customer_codes`): integer codes make merging millions of them cheap."""
    frames = [
        pd.DataFrame({"code": tables.customer_codes[name], "at": getattr(tables, name)[time].to_numpy()})
        for name, time in times.items()
    ]
    if not frames:
        return pd.DataFrame({"code": pd.Series(dtype="int64"), "at": pd.Series(dtype="datetime64[us]")})
    coded = pd.concat(frames, ignore_index=True)
    return coded[coded["code"].to_numpy() >= 0]


def contract_ends(tables: Tables) -> pd.DataFrame:
    """(code, at) of the recorded contract ends (`coded_events`); none without churn_events."""
    return coded_events(tables, {"churn_events": "churned_at"} if tables.churn_events is not None else {})


def churn_populations(tables: Tables, dates: list[pd.Timestamp], definition: ChurnDefinition) -> pd.DataFrame:
    """(as_of, customer_id, code, status, lapses) of every customer who can still churn at each date, by date then
    customer; `code` is the customer's row in customers.

    Signed up before `as_of` and no recorded contract end before it. A customer is `new` for their
    first horizon; a lapse customer with no buying event in the horizon before `as_of` is `lapsed`
    (and dropped past `max_inactive_days` without one, when set).
    """
    if definition.contract_ends is None or definition.lapse_events is None:
        raise ValueError(
            "resolve the churn definition against the source (ChurnDefinition.resolved) before building a population"
        )
    in_id_order = tables.customers["customer_id"].argsort(kind="stable").to_numpy()
    ids = tables.customers["customer_id"].array
    lapse = lapses_silently(tables, definition).to_numpy(dtype=bool)
    signup = tables.customers["signup_date"].to_numpy()
    frames = [
        pd.DataFrame({"as_of": as_of, "code": in_id_order[signup[in_id_order] < as_of.to_datetime64()]})
        for as_of in dates
    ]
    requests = pd.concat(frames, ignore_index=True).astype({"as_of": f"datetime64[{TIME_UNIT}]"})
    ended = nearest_event(requests, contract_ends(tables), "backward", exact=False).notna().to_numpy()
    requests = requests[~ended].reset_index(drop=True)
    as_of, code = requests["as_of"], requests["code"].to_numpy()
    last_event = nearest_event(requests, buying_events(tables, definition), "backward", exact=False)
    tenure = ((as_of - signup[code]) / pd.Timedelta(days=1)).to_numpy()
    silent_days = ((as_of - last_event.fillna(pd.Series(signup[code]))) / pd.Timedelta(days=1)).to_numpy()
    lapses = lapse[code]
    status = np.select(
        [tenure < definition.horizon_days, lapses & (silent_days > definition.horizon_days)],
        ["new", "lapsed"],
        "active",
    )
    kept = ~lapses | (definition.max_inactive_days is None) | (silent_days <= (definition.max_inactive_days or 0))
    return pd.DataFrame(
        {"as_of": as_of, "customer_id": ids.take(code), "code": code, "status": status, "lapses": lapses}
    )[kept].reset_index(drop=True)


def churn_population(tables: Tables, as_of: pd.Timestamp, definition: ChurnDefinition) -> pd.Series:
    """Status (new / active / lapsed) of every customer who can still churn at `as_of`, indexed by customer_id."""
    population = churn_populations(tables, [as_of], definition)
    return pd.Series(
        population["status"].to_numpy(), index=pd.Index(population["customer_id"], name="customer_id"), name="status"
    )


def churn_outcomes(tables: Tables, requests: pd.DataFrame, definition: ChurnDefinition) -> pd.Series:
    """1 when the request's customer (`code`, their row in customers, and `as_of`, as `churn_populations` gives them)
    churns within the horizon after as_of, else 0, in request order.

    A lapse customer churns by buying nothing in the horizon; any other customer by a contract end in it.
    """
    codes = requests["code"].to_numpy()
    keyed = pd.DataFrame({"code": codes, "as_of": requests["as_of"].to_numpy()}, index=requests.index)
    end = keyed["as_of"] + definition.horizon
    next_purchase = nearest_event(keyed, buying_events(tables, definition), "forward", exact=True)
    next_end = nearest_event(keyed, contract_ends(tables), "forward", exact=True)
    lapse = np.append(lapses_silently(tables, definition).to_numpy(dtype=bool), False)[codes]  # -1: no such customer
    churned = np.where(lapse, ~(next_purchase < end).to_numpy(), (next_end < end).to_numpy())
    return pd.Series(churned.astype(int), index=requests.index, name="churned")


def churn_labels(tables: Tables, as_of: pd.Timestamp, definition: ChurnDefinition, population: pd.Index) -> pd.Series:
    """1 when a customer of `population` churns within the horizon after `as_of`, else 0, indexed by customer_id."""
    requests = pd.DataFrame({"code": row_numbers(population, tables.customers["customer_id"]), "as_of": as_of}).astype(
        {"as_of": f"datetime64[{TIME_UNIT}]"}
    )
    return churn_outcomes(tables, requests, definition).set_axis(population)


def survey_answers(tables: Tables, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Survey answers with the day their features are computed as of: the start of the answer's day."""
    surveys = tables.surveys
    if start is not None and end is not None:
        surveys = between(surveys, "answered_at", start, end)
    return surveys.assign(as_of=surveys["answered_at"].dt.normalize()).reset_index(drop=True)
