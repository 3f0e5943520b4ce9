"""Runs the same pure functions per customer partition on a Dask cluster: no second implementation of anything.

Features and training rows are built per partition of customers (`Tables.partitions`) and gathered;
scoring and SHAP reasons run per chunk of customers and are combined (`models.scoring.combined`).
Every per-customer number depends on that customer's own events and on the brand's mood over all
mentions, worked out once on the driver and sent with each task (`features.builders.brand_moods`):
a partition carries only its own customers' rows, and results equal a single-process run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from features.btyd import rhythm_anchor
from features.builders import FeatureSettings, brand_moods
from features.labels import ChurnDefinition
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
