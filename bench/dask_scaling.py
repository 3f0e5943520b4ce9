"""Features and scoring in one process against a local Dask cluster, and what 100M customers would take.

    python bench/dask_scaling.py --customers 1000000 [--workers 2] [--partitions 8]

On one synthetic world: load and validate once, then build the 66 features at the last date and
score every active customer with SHAP reasons, in one process and on a LocalCluster of worker
processes (the same functions per customer partition, pipelines/distributed.py). Per-partition
compute times come from Dask's task stream; from them, a paper estimate of 100M customers on N
workers. Writes bench/results/dask_scaling_<customers>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import churn_model, training
from distributed import get_task_stream

from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.synthetic import WorldSpec
from features.training_sets import churn_rows
from models.artifact import TrainedModel
from models.scoring import ScoringSettings, score_customers
from pipelines.distributed import dask_client, rows_by_partition, scored_by_chunk
from pipelines.writers import write_world

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_CUSTOMERS = 100_000_000
WORKER_COUNTS = (8, 32, 128)
NETWORK_BYTES_PER_SECOND = 1e9  # 10 Gbit/s links, an assumption, not a measurement


def timed(work):
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def compute_seconds(stream: list[dict]) -> list[float]:
    """Seconds each task spent computing on its worker (transfers excluded)."""
    return [sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute") for task in stream]


def trained_model(folder: Path) -> TrainedModel:
    """A churn model with the default settings, trained on a small world of the same generator."""
    write_world(WorldSpec(customers=20_000, seed=2), folder / "training_world", "nps")
    tables = with_sentiment(load_tables(folder / "training_world", "nps"), LexiconScorer.shipped())
    model, _ = churn_model(training(tables, latest=6))
    return model.registered("bench", "bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=8)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = trained_model(Path(folder))
        write_world(WorldSpec(customers=arguments.customers, seed=1), Path(folder) / "world", "nps")
        tables, load_seconds = timed(
            lambda: with_sentiment(load_tables(Path(folder) / "world", "nps"), LexiconScorer.shipped())
        )
    as_of = tables.data_end
    definition, settings, catalogue, scoring = (
        model.recipe.churn,
        model.recipe.features,
        model.recipe.catalogue,
        ScoringSettings(),
    )
    single_features, single_features_seconds = timed(lambda: churn_rows(tables, as_of, definition, settings))
    single_scored, single_scoring_seconds = timed(
        lambda: score_customers(single_features, as_of, model, None, catalogue, scoring, "en")
    )
    partition_bytes = float(
        np.mean([len(pickle.dumps(part, protocol=5)) for part in tables.partitions(arguments.partitions)])
    )
    with dask_client("local-cluster", arguments.workers) as client:
        with get_task_stream(client) as feature_stream:
            features, cluster_features_seconds = timed(
                lambda: rows_by_partition(client, tables, as_of, definition, settings, arguments.partitions)
            )
        with get_task_stream(client) as scoring_stream:
            scored, cluster_scoring_seconds = timed(
                lambda: scored_by_chunk(
                    client, features, as_of, model, None, catalogue, scoring, "en", chunks=arguments.partitions
                )
            )
    pd.testing.assert_frame_equal(features, single_features)
    pd.testing.assert_frame_equal(scored.predictions, single_scored.predictions)
    feature_tasks, scoring_tasks = compute_seconds(feature_stream.data), compute_seconds(scoring_stream.data)
    per_customer = (sum(feature_tasks) + sum(scoring_tasks)) / arguments.customers
    efficiency = (
        (single_features_seconds + single_scoring_seconds)
        / (cluster_features_seconds + cluster_scoring_seconds)
        / arguments.workers
    )
    load_per_customer = load_seconds / arguments.customers
    estimates = {
        workers: {
            "compute_minutes": round(TARGET_CUSTOMERS * per_customer / workers / efficiency / 60, 1),
            "transfer_minutes": round(
                TARGET_CUSTOMERS
                / arguments.customers
                * partition_bytes
                * arguments.partitions
                / NETWORK_BYTES_PER_SECOND
                / 60,
                1,
            ),
            "load_minutes_if_each_worker_reads_its_partition": round(
                TARGET_CUSTOMERS * load_per_customer / workers / 60, 1
            ),
        }
        for workers in WORKER_COUNTS
    }
    result = {
        "customers": arguments.customers,
        "scored": len(single_features),
        "workers": arguments.workers,
        "partitions": arguments.partitions,
        "load_and_validate_seconds": round(load_seconds, 1),
        "single_process": {
            "features_seconds": round(single_features_seconds, 1),
            "scoring_seconds": round(single_scoring_seconds, 1),
        },
        "local_cluster": {
            "features_seconds": round(cluster_features_seconds, 1),
            "scoring_seconds": round(cluster_scoring_seconds, 1),
        },
        "per_partition_compute_seconds": {
            "features": [round(t, 1) for t in feature_tasks],
            "scoring": [round(t, 1) for t in scoring_tasks],
        },
        "mean_partition_megabytes": round(partition_bytes / 1e6),
        "parallel_efficiency": round(efficiency, 2),
        "estimate_100m": estimates,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"dask_scaling_{arguments.customers}.json").write_text(json.dumps(result, indent=2))
    lines = [
        f"{arguments.customers:,} customers ({len(single_features):,} scored), {arguments.partitions} partitions; a "
        f"LocalCluster of {arguments.workers} worker processes on this machine; results checked equal.",
        "",
        "| stage | one process, s | local cluster, s | per-partition compute, s (median) |",
        "|---|---|---|---|",
        f"| features | {single_features_seconds:.1f} | {cluster_features_seconds:.1f} | {np.median(feature_tasks):.1f} "
        "|",
        f"| scoring with reasons | {single_scoring_seconds:.1f} | {cluster_scoring_seconds:.1f} | "
        f"{np.median(scoring_tasks):.1f} |",
        "",
        f"Parallel efficiency {efficiency:.2f}; each partition pickles to {partition_bytes / 1e6:,.0f} MB (its own "
        "customers' rows; the brand's mood over all mentions is worked out once and sent with each task).",
        "",
        f"Paper estimate for {TARGET_CUSTOMERS:,} customers (compute scaled from the measured per-customer cost and "
        f"efficiency; transfer at an assumed {NETWORK_BYTES_PER_SECOND / 1e9:.0f} GB/s):",
        "",
        "| workers | features + scoring, min | scattering partitions from one driver, min | load + validate, if each "
        "worker read its own partition, min |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {w} | {e['compute_minutes']} | {e['transfer_minutes']} | "
        f"{e['load_minutes_if_each_worker_reads_its_partition']} |"
        for w, e in estimates.items()
    ]
    (RESULTS / f"dask_scaling_{arguments.customers}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
