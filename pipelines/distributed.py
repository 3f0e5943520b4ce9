"""Runs the same pure functions per customer partition on a Dask cluster: no second implementation of anything.

Two ways in. From tables the driver loaded (`rows_by_partition`, `training_sets_by_partition`, what the flows'
Dask executor does): the driver cuts partitions and sends each to a worker. From a folder of table files
(`SourceOnWorkers`): each worker reads, validates and scores the mentions of its own partition of customers
(`features.loaders.Partition`), and keeps it; the driver holds futures and what the whole base adds up to, so its
memory does not grow with the customers.

Every per-customer number depends on that customer's own events and on two things of the whole base, worked out
once and sent with each task: the brand's mood over all mentions (`features.builders.brand_moods`, or added up from
each partition's parts) and BG/NBD's population parameters (`features.builders.base_rhythms`, or fitted on the
sample every partition contributes to). Results equal a single-process run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.btyd import buyers_by_anchor, rhythm_anchor, sampled_histories
from features.builders import (
    BrandMoods,
    FeatureSettings,
    Rhythms,
    brand_moods,
    brand_parts,
    customer_spans,
    fitted_rhythms,
    moods_from_parts,
    rhythm_anchors,
)
from features.contract import (
    ContractError,
    Problem,
    UnknownCustomers,
    customer_count_problems,
    id_problems,
    scale_problems,
    survey_answer_counts,
    trimmed_ids,
    validated_partition,
)
from features.labels import ChurnDefinition
from features.loaders import Partition, read_folder, read_table_file, table_files
from features.schema import EVENT_SOURCES, TABLE_SPECS
from features.sentiment import LexiconScorer, TextModelScorer, with_sentiment
from features.tables import Tables
from features.training_sets import (
    TrainingSets,
    base_rhythms,
    build_training_rows,
    checked,
    churn_rows,
    training_dates,
    training_rhythms,
)
from models.scoring import Scored, combined, score_customers

LOCAL_CLUSTER = "local-cluster"
LOG = logging.getLogger(__name__)


@contextmanager
def dask_client(address: str, workers: int) -> Iterator[object]:
    """A client of the scheduler at `address`, or of a cluster of `workers` processes started on loopback."""
    from distributed import Client, LocalCluster

    if address != LOCAL_CLUSTER:
        with Client(address) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def scattered(client, tables: Tables, partitions: int) -> list:
    """Each partition sent straight to a worker as it is cut, so the driver never holds a second copy of all the
    data."""
    return [client.scatter(part) for part in tables.partitions(partitions)]


def rows_by_partition(
    client, tables: Tables, as_of: pd.Timestamp, definition: ChurnDefinition, settings: FeatureSettings, partitions: int
) -> pd.DataFrame:
    """`churn_rows` per partition, with the whole base's BG/NBD and the brand's mood, in the single-process row
    order."""
    rhythm = base_rhythms(tables, [as_of])[rhythm_anchor(as_of)]
    brand = brand_moods(tables, [as_of], settings)
    parts = client.gather(
        client.map(
            churn_rows,
            scattered(client, tables, partitions),
            as_of=as_of,
            definition=definition,
            settings=settings,
            rhythm=rhythm,
            brand=brand,
            pure=False,
        )
    )
    return pd.concat(parts).sort_index()


def training_sets_by_partition(
    client,
    tables: Tables,
    cutoffs: list[pd.Timestamp],
    definition: ChurnDefinition,
    settings: FeatureSettings,
    partitions: int,
) -> TrainingSets:
    """Training rows per partition, gathered for training on one machine (they fit: one row per customer and cutoff)."""
    rhythms = training_rhythms(tables, cutoffs)
    brand = brand_moods(tables, training_dates(tables, cutoffs), settings)
    parts = client.gather(
        client.map(
            build_training_rows,
            scattered(client, tables, partitions),
            cutoffs=cutoffs,
            definition=definition,
            settings=settings,
            rhythms=rhythms,
            brand=brand,
            pure=False,
        )
    )
    return gathered_training_sets(parts, cutoffs)


def training_sets_on_workers(
    source: SourceOnWorkers,
    tables: Tables,
    cutoffs: list[pd.Timestamp],
    definition: ChurnDefinition,
    settings: FeatureSettings,
) -> TrainingSets:
    """Training rows per partition the workers read (`on_workers`), gathered for training on the driver, which has
    `tables` for the dates rows are asked at (cutoffs and survey answers)."""
    dates = training_dates(tables, cutoffs)
    parts = source.client.map(
        build_training_rows,
        source.partitions,
        cutoffs=cutoffs,
        definition=definition,
        settings=settings,
        rhythms=source.rhythms(dates),
        brand=source.brand_moods(dates, settings),
        pure=False,
    )
    return gathered_training_sets(source.client.gather(parts), cutoffs)


def gathered_training_sets(parts: list[TrainingSets], cutoffs: list[pd.Timestamp]) -> TrainingSets:
    """The partitions' training rows as one set, in the single-process row order."""
    satisfaction = [p.satisfaction for p in parts if p.satisfaction is not None]
    return checked(
        TrainingSets(
            pd.concat([p.churn for p in parts]).sort_index(kind="stable"),
            pd.concat(satisfaction).sort_index(kind="stable") if satisfaction else None,
        ),
        len(cutoffs),
    )


def scored_by_chunk(client, features: pd.DataFrame, *arguments, chunks: int) -> Scored:
    """`score_customers` per contiguous chunk of customers, combined in order."""
    pieces = [
        features.iloc[rows] for rows in np.array_split(np.arange(len(features)), min(chunks, max(len(features), 1)))
    ]
    return combined(
        client.gather(
            client.map(score_customers, client.scatter(pieces), *[[a] * len(pieces) for a in arguments], pure=False)
        )
    )


@dataclass(frozen=True)
class LoadedPartition:
    """One partition of customers read and validated on a worker: its tables (None when it broke the contract),
    and what the driver needs to judge the whole source."""

    tables: Tables | None
    problems: list[Problem]
    warnings: list[str]
    customers: int = 0
    answers: tuple[int, int] = (0, 0)
    data_end: pd.Timestamp | None = None

    def summary(self) -> LoadedPartition:
        return LoadedPartition(None, self.problems, self.warnings, self.customers, self.answers, self.data_end)


def loaded_partition(
    folder: Path,
    partition: Partition,
    survey_scale: str,
    unknown_customers: UnknownCustomers,
    now: pd.Timestamp,
    scorer: LexiconScorer | TextModelScorer,
) -> LoadedPartition:
    """A worker's own partition of a folder source, validated and with its mentions' sentiment scored."""
    with captured_warnings() as warnings:
        try:
            raw = read_folder(folder, partition)
            tables = validated_partition(raw, survey_scale, now=now, unknown_customers=unknown_customers)
        except ContractError as error:
            return LoadedPartition(None, error.problems, warnings)
    customers = len(tables.customers)
    return LoadedPartition(
        with_sentiment(tables, scorer).as_partition(),
        [],
        warnings,
        customers,
        survey_answer_counts(tables),
        tables.data_end if customers else None,
    )


@contextmanager
def captured_warnings() -> Iterator[list[str]]:
    """The warnings validation logs on a worker, for the driver to log where the user sees them."""
    captured: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record.getMessage())

    handler, logger = Capture(logging.WARNING), logging.getLogger("features")
    logger.addHandler(handler)
    try:
        yield captured
    finally:
        logger.removeHandler(handler)


def repeated_ids(path: Path, table: str, partition: Partition) -> list[Problem]:
    """Event ids given to more than one row, among one partition of the ids (partitioned by the id itself, so each
    id's rows meet in one task whichever customers they name)."""
    key = TABLE_SPECS[table].primary_key
    ids = read_table_file(path, table, partition, columns=[key])
    return id_problems({table: ids.assign(**{key: trimmed_ids(ids[key])})})


@dataclass(frozen=True)
class SourceOnWorkers:
    """A folder source read, validated and kept one partition of customers per worker task (`on_workers`): every
    feature and score is worked out where its partition is, and the driver holds futures and the whole base's
    aggregates only."""

    client: object
    partitions: list
    """Futures of each partition's `Tables`."""
    data_end: pd.Timestamp
    event_sources: tuple[str, ...]

    def rows(self, as_of: pd.Timestamp, definition: ChurnDefinition, settings: FeatureSettings) -> list:
        """Futures of each partition's `churn_rows` at `as_of`, left on its worker."""
        return self.client.map(
            churn_rows,
            self.partitions,
            as_of=as_of,
            definition=definition,
            settings=settings,
            rhythm=self.rhythms([as_of])[rhythm_anchor(as_of)],
            brand=self.brand_moods([as_of], settings),
            pure=False,
        )

    def scored(self, rows: list, *arguments) -> list:
        """Futures of each partition's `score_customers` of its rows (`rows`), left on its worker."""
        return self.client.map(score_customers, rows, *[[a] * len(rows) for a in arguments], pure=False)

    def brand_moods(self, dates: list[pd.Timestamp], settings: FeatureSettings) -> BrandMoods | None:
        """The brand's mood on these dates from every partition's parts (`features.builders.brand_parts`)."""
        if "mentions" not in self.event_sources:
            return None
        parts = self.client.gather(self.client.map(brand_parts, self.partitions, dates=dates, settings=settings))
        return moods_from_parts(parts, dates, settings)

    def rhythms(self, dates: list[pd.Timestamp]) -> Rhythms:
        """The base's BG/NBD for the months of these dates, fitted on the sample each partition holds part of:
        each partition's order-day spans stay on its worker; only their counts and the sampled histories (about
        `features.btyd.FIT_CUSTOMERS` customers in all) come to the driver."""
        anchors = rhythm_anchors(dates)
        if "orders" not in self.event_sources or not anchors:
            return dict.fromkeys(anchors)
        spans = self.client.map(customer_spans, self.partitions, anchors=anchors, pure=False)
        buyers = sum(self.client.gather(self.client.map(buyers_by_anchor, spans, anchors=anchors)))
        samples = self.client.map(sampled_histories, spans, buyers=buyers, anchors=anchors)
        return fitted_rhythms(self.client.gather(samples), anchors)


def on_workers(
    client,
    folder: Path,
    count: int,
    survey_scale: str,
    now: pd.Timestamp,
    scorer: LexiconScorer | TextModelScorer,
    unknown_customers: UnknownCustomers = "error",
) -> SourceOnWorkers:
    """A folder source read and validated on the cluster in `count` partitions of customers, with the checks only
    the whole source can answer worked out from every partition's counts; raises ContractError with every
    partition's problems (once each: a file no partition can read is every partition's problem). Logs the warnings
    validation gave on the workers."""
    if not Path(folder).is_dir():
        raise ContractError([Problem("source", None, f"{folder} is not a folder of table files.")])
    loads = [
        client.submit(
            loaded_partition, folder, Partition(k, count), survey_scale, unknown_customers, now, scorer, pure=False
        )
        for k in range(count)
    ]
    summaries = client.gather(client.map(LoadedPartition.summary, loads))
    problems = list(dict.fromkeys(p for s in summaries for p in s.problems))
    files = table_files(folder)
    if not problems:  # every file is readable and has its columns: check what no partition can alone
        problems = [p for found in client.gather(repeated_id_checks(client, files, count)) for p in found]
        answers = np.sum([s.answers for s in summaries], axis=0)
        problems += customer_count_problems(sum(s.customers for s in summaries))
        problems += scale_problems(int(answers[0]), int(answers[1]), survey_scale)
    for warning in (w for s in summaries for w in s.warnings):
        LOG.warning(warning)
    if problems:
        raise ContractError(problems)
    return SourceOnWorkers(
        client,
        client.map(tables_of, loads),
        max(s.data_end for s in summaries if s.data_end is not None),
        tuple(name for name in EVENT_SOURCES if name in files),
    )


def repeated_id_checks(client, files: dict[str, Path], count: int) -> list:
    """`repeated_ids` of every table with its own ids, each over `count` partitions of the ids."""
    keyed = [name for name in files if TABLE_SPECS[name].primary_key not in (None, "customer_id")]
    return [
        client.submit(repeated_ids, files[name], name, Partition(k, count, TABLE_SPECS[name].primary_key))
        for name in keyed
        for k in range(count)
    ]


def tables_of(loaded: LoadedPartition) -> Tables:
    return loaded.tables
