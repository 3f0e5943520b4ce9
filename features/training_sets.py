"""Training sets: features and labels stacked over many cutoffs, each row seeing only its own past."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from pydantic import Field, field_validator, model_validator

from features.btyd import BgNbd, rhythm_anchor
from features.builders import BrandMoods, FeatureSettings, Rhythms, base_rhythms, coded_features, customer_rows
from features.contract import ContractError, Problem
from features.labels import ChurnDefinition, churn_outcomes, churn_populations, survey_answers
from features.schema import TABLE_SPECS
from features.settings import Settings
from features.tables import Tables, instant

KEYS = ["as_of", "customer_id"]
ROW_COLUMNS = ("churned", "status", "lapses", "score", "answered_at")
"""Columns of training rows that are not features: labels, the customer's status and churn kind, survey fields."""
MIN_OUTCOMES = 10


class CutoffSchedule(Settings):
    """Explicit `dates`, or every `frequency` (a pandas offset alias such as 'MS') between `first` and `last`."""

    dates: tuple[date, ...] = Field(
        (), description="Explicit training cutoffs; when set, the schedule below is ignored."
    )
    first: date | None = Field(None, description="First cutoff; default: data start + history_days.")
    last: date | None = Field(
        None, description="Last cutoff; default: the last date whose churn horizon is inside the data."
    )
    frequency: str = Field("MS", description="Pandas offset alias between cutoffs: MS monthly, W-MON weekly, 14D...")
    history_days: int = Field(90, ge=0, description="History needed before the first cutoff.")

    @field_validator("frequency")
    @classmethod
    def known_frequency(cls, value: str) -> str:
        offset = pd.tseries.frequencies.to_offset(value)
        if offset.n <= 0:
            raise ValueError(f"the step between cutoffs must move forward, got {value!r}")
        return value

    @model_validator(mode="after")
    def first_before_last(self) -> CutoffSchedule:
        if self.first and self.last and self.first > self.last:
            raise ValueError(f"first cutoff {self.first} is after the last {self.last}")
        return self


def data_start(tables: Tables) -> pd.Timestamp:
    """The first recorded event; for a snapshot of customers without events, the first signup."""
    events = [(getattr(tables, name), TABLE_SPECS[name].time_column) for name in ("orders", "activities", "mentions")]
    starts = [frame[column].min() for frame, column in events if frame is not None and len(frame)]
    return min(starts or [tables.customers["signup_date"].min()]).normalize()


def labelled_cutoffs(tables: Tables, schedule: CutoffSchedule, definition: ChurnDefinition) -> list[pd.Timestamp]:
    """Cutoffs whose whole churn horizon is inside the data, so their labels are final.

    A source without events is a snapshot of attributes as they are now: unless the schedule says
    otherwise, it trains on one cutoff, the latest labelled one, rather than on months its
    attributes did not describe.
    """
    latest = tables.data_end - definition.horizon
    if schedule.dates:
        cutoffs = sorted(instant(d) for d in schedule.dates if instant(d) <= latest)
    elif not tables.event_sources and schedule.first is None and tables.customers["signup_date"].min() < latest:
        cutoffs = [latest]
    else:
        first = (
            instant(schedule.first) if schedule.first else data_start(tables) + pd.Timedelta(days=schedule.history_days)
        )
        last = min(instant(schedule.last), latest) if schedule.last else latest
        cutoffs = [instant(c) for c in pd.date_range(first, last, freq=schedule.frequency)]
    if not cutoffs:
        raise ContractError(
            [
                Problem(
                    "source",
                    None,
                    (
                        f"no training cutoff has its whole {definition.horizon_days}-day churn horizon inside the data "
                        f"(data from {data_start(tables).date()} to {tables.data_end.date()}, latest possible cutoff "
                        f"{latest.date()}); "
                        "set cutoffs.dates or cutoffs.first, or a shorter churn.horizon_days."
                    ),
                )
            ]
        )
    return cutoffs


def churn_rows(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ChurnDefinition,
    settings: FeatureSettings,
    rhythm: BgNbd | None = None,
    brand: BrandMoods | None = None,
) -> pd.DataFrame:
    """Features of every customer who can churn at `as_of`, with their status and whether they churn by lapsing,
    indexed by customer_id: the rows scoring reads. `rhythm` and `brand` as in `build_features`."""
    requests = churn_populations(tables, [as_of], definition).set_index("customer_id", drop=False)
    rhythms = {rhythm_anchor(as_of): rhythm} if rhythm is not None else base_rhythms(tables, [as_of])
    features = coded_features(
        tables, requests["code"].to_numpy(), requests["as_of"], settings, definition.horizon_days, rhythms, None, brand
    ).set_axis(requests.index)
    return features.assign(status=requests["status"], lapses=requests["lapses"]).rename_axis("customer_id")


@dataclass(frozen=True)
class TrainingSets:
    """Churn rows over cutoffs, and satisfaction rows over survey answers (None without surveys)."""

    churn: pd.DataFrame
    satisfaction: pd.DataFrame | None


def build_training_set(
    tables: Tables, cutoffs: list[pd.Timestamp], definition: ChurnDefinition, settings: FeatureSettings
) -> TrainingSets:
    """Both models' training rows; every row's features see only the past of its own as_of."""
    return checked(
        build_training_rows(tables, cutoffs, definition, settings, training_rhythms(tables, cutoffs)), len(cutoffs)
    )


def training_rhythms(tables: Tables, cutoffs: list[pd.Timestamp]) -> Rhythms:
    """The base's BG/NBD for every month a training row falls in."""
    return base_rhythms(tables, training_dates(tables, cutoffs))


def training_dates(tables: Tables, cutoffs: list[pd.Timestamp]) -> list[pd.Timestamp]:
    """The dates training rows are built as of: the cutoffs' and the survey answers' days."""
    return [*cutoffs, *(survey_answers(tables)["as_of"] if has_surveys(tables) else [])]


def has_surveys(tables: Tables) -> bool:
    return tables.surveys is not None and len(tables.surveys) > 0


def build_training_rows(
    tables: Tables,
    cutoffs: list[pd.Timestamp],
    definition: ChurnDefinition,
    settings: FeatureSettings,
    rhythms: Rhythms,
    brand: BrandMoods | None = None,
) -> TrainingSets:
    """The rows of any group of customers (all of them, or one partition), sorted by (as_of, customer_id), in one pass:
    every customer who can churn at each cutoff (with `churned` in the horizon after it) and every survey answer
    (features as of the start of its day, with the `score` given). `brand` as in `request_features`."""
    population = churn_populations(tables, cutoffs, definition)
    answers = survey_answers(tables) if has_surveys(tables) else None
    requests = population[["code", "as_of"]]
    if answers is not None:
        answered = pd.DataFrame({"code": customer_rows(tables, answers["customer_id"]), "as_of": answers["as_of"]})
        requests = pd.concat([requests, answered], ignore_index=True)
    features = coded_features(
        tables, requests["code"].to_numpy(), requests["as_of"], settings, definition.horizon_days, rhythms, None, brand
    )
    churn = features.iloc[: len(population)].set_axis(population.index)
    churn = churn.assign(
        status=population["status"], lapses=population["lapses"], churned=churn_outcomes(tables, population, definition)
    )
    satisfaction = None
    if answers is not None:
        satisfaction = pd.concat(
            [answers[["answered_at", "score"]], features.iloc[len(population) :].set_axis(answers.index)], axis=1
        )
        satisfaction = satisfaction.set_index(pd.MultiIndex.from_frame(answers[KEYS])).sort_index(kind="stable")
    return TrainingSets(
        churn=churn.set_index(pd.MultiIndex.from_frame(population[KEYS])).sort_index(kind="stable"),
        satisfaction=satisfaction,
    )


def checked(sets: TrainingSets, cutoffs: int) -> TrainingSets:
    """The sets, if the churn rows hold enough of both outcomes to learn from."""
    churned, stayed = int(sets.churn["churned"].sum()), int((sets.churn["churned"] == 0).sum())
    if min(churned, stayed) < MIN_OUTCOMES:
        raise ContractError(
            [
                Problem(
                    "source",
                    None,
                    (
                        f"the churn training set ({len(sets.churn):,} customer-cutoffs over {cutoffs} cutoffs) holds "
                        f"{churned:,} churned and {stayed:,} retained; "
                        f"training needs at least {MIN_OUTCOMES} of each: more customers or history, or another "
                        "churn.horizon_days."
                    ),
                )
            ]
        )
    return sets
