"""Training sets: features and labels stacked over many cutoffs, each row seeing only its own past."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.builders import FeatureSettings, build_features
from features.contract import ContractError, Problem
from features.labels import ChurnDefinition, churn_labels, survey_answers
from features.tables import Tables

KEYS = ["as_of", "customer_id"]
MIN_OUTCOMES = 10


@dataclass(frozen=True)
class CutoffSchedule:
    """Explicit `dates`, or every `frequency` (a pandas offset alias such as 'MS') between `first` and `last`."""

    dates: tuple[pd.Timestamp, ...] = ()
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    frequency: str = "MS"
    history_days: int = 90


def data_start(tables: Tables) -> pd.Timestamp:
    """The first recorded event; for a snapshot of customers without events, the first signup."""
    events = [(tables.orders, "ordered_at"), (tables.activities, "occurred_at"), (tables.mentions, "posted_at")]
    starts = [frame[column].min() for frame, column in events if frame is not None and len(frame)]
    return min(starts or [tables.customers["signup_date"].min()]).normalize()


def labelled_cutoffs(tables: Tables, schedule: CutoffSchedule, definition: ChurnDefinition) -> list[pd.Timestamp]:
    """Cutoffs whose whole churn horizon is inside the data, so their labels are final."""
    latest = tables.data_end - definition.horizon
    if schedule.dates:
        cutoffs = sorted(d for d in schedule.dates if d <= latest)
    else:
        first = schedule.first or data_start(tables) + pd.Timedelta(days=schedule.history_days)
        cutoffs = list(pd.date_range(first, min(schedule.last or latest, latest), freq=schedule.frequency))
    if not cutoffs:
        raise ContractError([Problem("source", None, (
            f"no training cutoff has its whole {definition.horizon_days}-day churn horizon inside the data "
            f"(data from {data_start(tables).date()} to {tables.data_end.date()}, latest possible cutoff {latest.date()}); "
            "set cutoffs.dates or cutoffs.first, or a shorter churn.horizon_days."
        ))])
    return cutoffs


def churn_training_set(tables: Tables, cutoffs: list[pd.Timestamp], definition: ChurnDefinition, settings: FeatureSettings) -> pd.DataFrame:
    """One row per active customer and cutoff: features as of the cutoff, `churned` in the horizon after it."""
    frames = []
    for as_of in cutoffs:
        labels = churn_labels(tables, as_of, definition)
        features = build_features(tables, as_of, settings).reindex(labels.index)
        frames.append(features.assign(churned=labels, as_of=as_of).reset_index())
    return pd.concat(frames, ignore_index=True).set_index(KEYS)


def satisfaction_training_set(tables: Tables, settings: FeatureSettings) -> pd.DataFrame:
    """One row per survey answer: features as of the start of the answer's day, and the `score` given."""
    answers = survey_answers(tables)
    frames = []
    for as_of, answered in answers.groupby("as_of"):
        ids = pd.Index(answered["customer_id"].unique())
        features = build_features(tables.for_customers(ids), as_of, settings)
        rows = answered[["customer_id", "answered_at", "score"]].join(features, on="customer_id")
        frames.append(rows.assign(as_of=as_of))
    return pd.concat(frames, ignore_index=True).set_index(KEYS)


@dataclass(frozen=True)
class TrainingSets:
    """Churn rows over cutoffs, and satisfaction rows over survey answers (None without surveys)."""

    churn: pd.DataFrame
    satisfaction: pd.DataFrame | None


def build_training_set(tables: Tables, cutoffs: list[pd.Timestamp], definition: ChurnDefinition, settings: FeatureSettings) -> TrainingSets:
    """Both models' training rows; every row's features see only the past of its own as_of."""
    return checked(build_training_rows(tables, cutoffs, definition, settings), len(cutoffs))


def build_training_rows(tables: Tables, cutoffs: list[pd.Timestamp], definition: ChurnDefinition, settings: FeatureSettings) -> TrainingSets:
    """The rows of any group of customers (all of them, or one partition), sorted by (as_of, customer_id)."""
    has_surveys = tables.surveys is not None and len(tables.surveys) > 0
    return TrainingSets(
        churn=churn_training_set(tables, cutoffs, definition, settings).sort_index(kind="stable"),
        satisfaction=satisfaction_training_set(tables, settings).sort_index(kind="stable") if has_surveys else None,
    )


def checked(sets: TrainingSets, cutoffs: int) -> TrainingSets:
    """The sets, if the churn rows hold enough of both outcomes to learn from."""
    churned, stayed = int(sets.churn["churned"].sum()), int((sets.churn["churned"] == 0).sum())
    if min(churned, stayed) < MIN_OUTCOMES:
        raise ContractError([Problem("source", None, (
            f"the churn training set ({len(sets.churn):,} customer-cutoffs over {cutoffs} cutoffs) holds {churned:,} churned and {stayed:,} retained; "
            f"training needs at least {MIN_OUTCOMES} of each: more customers or history, or another churn.horizon_days."
        ))])
    return sets
