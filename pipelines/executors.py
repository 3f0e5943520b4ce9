"""Where features, training rows and scores are computed: in this process, or per customer partition on a Dask
cluster. Both run the same pure functions; flows ask an executor and never branch on which one it is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from pydantic import Field

from features.builders import FeatureSettings
from features.labels import ChurnDefinition
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
        8, gt=0, description="Customer partitions (by a hash of customer_id) the work is split into."
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
class OnDask:
    """Per customer partition on a Dask cluster (`pipelines.distributed`); results equal the in-process ones."""

    client: object
    partitions: int

    def training_rows(
        self, tables: Tables, cutoffs: list[pd.Timestamp], definition: ChurnDefinition, settings: FeatureSettings
    ) -> TrainingSets:
        from pipelines.distributed import training_sets_by_partition

        return training_sets_by_partition(self.client, tables, cutoffs, definition, settings, self.partitions)

    def rows(
        self, tables: Tables, as_of: pd.Timestamp, definition: ChurnDefinition, settings: FeatureSettings
    ) -> pd.DataFrame:
        from pipelines.distributed import rows_by_partition

        return rows_by_partition(self.client, tables, as_of, definition, settings, self.partitions)

    def scored(self, rows: pd.DataFrame, *arguments) -> Scored:
        from pipelines.distributed import scored_by_chunk

        return scored_by_chunk(self.client, rows, *arguments, chunks=self.partitions)


Executor = InProcess | OnDask


@contextmanager
def executor(settings: ExecutorSettings) -> Iterator[Executor]:
    """The executor the config asks for, with its cluster connected for the block."""
    if settings.kind == "local":
        yield InProcess()
        return
    from pipelines.distributed import dask_client

    with dask_client(settings.address, settings.workers) as client:
        yield OnDask(client, settings.partitions)
