"""Where features, training rows and scores are computed: in this process, or per customer partition on a Dask
cluster. Both run the same pure functions; flows ask an executor and never branch on which one it is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field

from features.builders import FeatureSettings
from features.contract import ContractError, Problem, UnknownCustomers
from features.labels import ChurnDefinition
from features.loaders import is_database_url
from features.sentiment import LexiconScorer, TextModelScorer
from features.settings import Settings
from features.tables import Tables
from features.training_sets import TrainingSets, build_training_set, churn_rows
from models.scoring import Scored, combined, score_customers


class ExecutorSettings(Settings):
    kind: Literal["local", "dask"] = Field(
        "local",
        description="local: one process; dask: features, training rows and scoring per customer partition on a Dask "
        "cluster.",
    )
    address: str = Field(
        "local-cluster",
        description="Dask scheduler address (tcp://host:8786), or local-cluster to start one on this machine.",
    )
    workers: int = Field(2, gt=0, description="Worker processes of a local cluster.")
    partitions: int = Field(
        8,
        gt=0,
        description="Customer partitions (by a hash of customer_id) the work is split into. Workers read a folder "
        "source themselves, and each partition's task decodes every file to keep its share: as many as the workers "
        "reads fastest.",
    )


class InProcess:
    """Everything in this process."""

    def training_rows(
        self, tables: Tables, cutoffs: list[pd.Timestamp], definition: ChurnDefinition, settings: FeatureSettings
    ) -> TrainingSets:
        return build_training_set(tables, cutoffs, definition, settings)

    def rows(
        self, tables: Tables, as_of: pd.Timestamp, definition: ChurnDefinition, settings: FeatureSettings
    ) -> pd.DataFrame:
        return churn_rows(tables, as_of, definition, settings)

    def scored(self, rows: pd.DataFrame, *arguments) -> Scored:
        """Scored `SCORING_SLICE` customers at a time: the SHAP values, model matrix and reasons of a slice are freed
        before the next is scored."""
        slices = range(0, max(len(rows), 1), SCORING_SLICE)
        return combined([score_customers(rows.iloc[first : first + SCORING_SLICE], *arguments) for first in slices])


SCORING_SLICE = 250_000
"""Customers scored at once in this process."""


@dataclass(frozen=True)
class Reading:
    """How the source is read, so that Dask workers can read their own partitions of it as the driver read it all
    (`features.loaders.load_tables`, then `features.sentiment.with_sentiment`)."""

    source: str | Path
    survey_scale: str
    unknown_customers: UnknownCustomers
    scorer: LexiconScorer | TextModelScorer

    @property
    def folder(self) -> Path | None:
        """The folder of table files workers read, or None for a database or DuckDB file, which the driver reads."""
        if is_database_url(self.source) or not Path(self.source).is_dir():
            return None
        return Path(self.source).resolve()  # workers may not share the driver's working folder


@dataclass(frozen=True)
class OnDask:
    """Per customer partition on a Dask cluster (`pipelines.distributed`); results equal the in-process ones. A
    folder source is read by the workers, each its own partitions, once per executor
    (`pipelines.distributed.on_workers`); from another source the driver cuts the partitions of the tables it loaded
    and sends them."""

    client: object
    partitions: int
    reading: Reading | None = None

    @cached_property
    def partitions_on_workers(self):
        from pipelines.distributed import on_workers

        if self.reading is None or self.reading.folder is None:
            return None
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        read = self.reading
        return on_workers(
            self.client, read.folder, self.partitions, read.survey_scale, now, read.scorer, read.unknown_customers
        )

    def training_rows(
        self, tables: Tables, cutoffs: list[pd.Timestamp], definition: ChurnDefinition, settings: FeatureSettings
    ) -> TrainingSets:
        from pipelines.distributed import training_sets_by_partition, training_sets_on_workers

        if (source := self.read_by_workers(tables)) is not None:
            return training_sets_on_workers(source, tables, cutoffs, definition, settings)
        return training_sets_by_partition(self.client, tables, cutoffs, definition, settings, self.partitions)

    def rows(
        self, tables: Tables, as_of: pd.Timestamp, definition: ChurnDefinition, settings: FeatureSettings
    ) -> pd.DataFrame:
        from pipelines.distributed import rows_by_partition

        if (source := self.read_by_workers(tables)) is not None:
            return pd.concat(self.client.gather(source.rows(as_of, definition, settings))).sort_index()
        return rows_by_partition(self.client, tables, as_of, definition, settings, self.partitions)

    def scored(self, rows: pd.DataFrame, *arguments) -> Scored:
        from pipelines.distributed import scored_by_chunk

        return scored_by_chunk(self.client, rows, *arguments, chunks=self.partitions)

    def read_by_workers(self, tables: Tables):
        """The workers' own partitions of the source, when they read it, checked to hold what the driver loaded: a
        source rewritten between the two reads would otherwise mix two versions of the data."""
        source = self.partitions_on_workers
        if source is not None and source.data_end != tables.data_end:
            changed = (
                f"{self.reading.source} changed while it was read: the driver's tables end "
                f"{tables.data_end.date()}, the workers' {source.data_end.date()}. Run again once it is written."
            )
            raise ContractError([Problem("source", None, changed)])
        return source


Executor = InProcess | OnDask


@contextmanager
def executor(settings: ExecutorSettings, reading: Reading | None = None) -> Iterator[Executor]:
    """The executor the config asks for, with its cluster connected for the block; on a cluster, workers read a
    folder source as `reading` says."""
    if settings.kind == "local":
        yield InProcess()
        return
    from pipelines.distributed import dask_client

    with dask_client(settings.address, settings.workers) as client:
        yield OnDask(client, settings.partitions, reading)
