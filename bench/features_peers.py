"""How far surveyless's feature code is from one-query columnar peers, on the same aggregates.

    python bench/features_peers.py [--customers 100000]

The same windowed aggregates (orders and spend; support tickets, complaints and meetings; mentions
and their mean sentiment; per window, plus days since the last order) computed three ways on one
synthetic world: by the pipeline's own `build_features` asked for only these features (tables registered,
point-in-time cut, only the aggregates they are made from), as one DuckDB SQL query and as one Polars lazy query;
and the whole catalogue by `build_features` beside them. The results are checked equal before any time counts.
Medians of 3 runs; 2 cores. Writes bench/results/features_peers.json and .md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from features.builders import FeatureSettings, build_features
from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.synthetic import WorldSpec
from pipelines.writers import write_world

RESULTS = Path(__file__).resolve().parent / "results"
WINDOWS = (30, 90, 365)
ACTIVITY_TYPES = {"support_tickets": ("support_ticket",), "complaints": ("complaint",), "meetings": ("meeting", "demo")}


def with_surveyless(tables, as_of: pd.Timestamp) -> pd.DataFrame:
    return build_features(tables, as_of, FeatureSettings(), 90)


def with_surveyless_only(tables, as_of: pd.Timestamp, names: list[str]) -> pd.DataFrame:
    """The pipeline's own build of just these features: its point-in-time cut, its registered tables, only the
    aggregates they are made from."""
    return build_features(tables, as_of, FeatureSettings(), 90, only=names)


def duckdb_sql(as_of: pd.Timestamp) -> str:
    def since(window: int) -> str:
        return f"TIMESTAMP '{as_of}' - INTERVAL {window} DAY"

    order_columns = ",\n".join(
        f"count(*) FILTER (WHERE ordered_at >= {since(w)}) AS orders_{w}d, sum(amount) FILTER (WHERE ordered_at >= "
        f"{since(w)}) AS spend_{w}d"
        for w in WINDOWS
    )
    activity_columns = ",\n".join(
        f"count(*) FILTER (WHERE type IN ({', '.join(repr(k) for k in kinds)}) AND occurred_at >= {since(w)}) AS "
        f"{name}_{w}d"
        for name, kinds in ACTIVITY_TYPES.items()
        for w in WINDOWS
    )
    mention_columns = ",\n".join(
        f"count(*) FILTER (WHERE posted_at >= {since(w)}) AS mentions_{w}d, avg(sentiment) FILTER (WHERE posted_at >= "
        f"{since(w)}) AS mean_sentiment_{w}d"
        for w in WINDOWS
    )
    return f"""
        WITH o AS (SELECT customer_id, {order_columns},
                          date_diff('millisecond', max(ordered_at), TIMESTAMP '{as_of}') / 86400000.0
                              AS days_since_last_order
                   FROM orders WHERE ordered_at < TIMESTAMP '{as_of}' GROUP BY customer_id),
             a AS (SELECT customer_id, {activity_columns} FROM activities
                   WHERE occurred_at < TIMESTAMP '{as_of}' GROUP BY customer_id),
             m AS (SELECT customer_id, {mention_columns} FROM mentions
                   WHERE posted_at < TIMESTAMP '{as_of}' AND customer_id IS NOT NULL GROUP BY customer_id)
        SELECT c.customer_id, o.* EXCLUDE (customer_id), a.* EXCLUDE (customer_id), m.* EXCLUDE (customer_id)
        FROM customers c LEFT JOIN o USING (customer_id) LEFT JOIN a USING (customer_id) LEFT JOIN m USING (customer_id)
    """


def with_duckdb(connection, as_of: pd.Timestamp) -> pd.DataFrame:
    return connection.execute(duckdb_sql(as_of)).df().set_index("customer_id")


def with_polars(frames: dict, as_of: pd.Timestamp) -> pd.DataFrame:
    import polars as pl

    moment = as_of.to_pydatetime()
    since = {w: moment - pd.Timedelta(days=w).to_pytimedelta() for w in WINDOWS}
    orders = (
        frames["orders"]
        .lazy()
        .filter(pl.col("ordered_at") < moment)
        .group_by("customer_id")
        .agg(
            *[(pl.col("ordered_at") >= since[w]).sum().alias(f"orders_{w}d") for w in WINDOWS],
            *[pl.col("amount").filter(pl.col("ordered_at") >= since[w]).sum().alias(f"spend_{w}d") for w in WINDOWS],
            ((pl.lit(moment) - pl.col("ordered_at").max()).dt.total_milliseconds() / 86_400_000).alias(
                "days_since_last_order"
            ),
        )
    )
    activities = (
        frames["activities"]
        .lazy()
        .filter(pl.col("occurred_at") < moment)
        .group_by("customer_id")
        .agg(
            *[
                (pl.col("type").is_in(list(kinds)) & (pl.col("occurred_at") >= since[w])).sum().alias(f"{name}_{w}d")
                for name, kinds in ACTIVITY_TYPES.items()
                for w in WINDOWS
            ],
        )
    )
    mentions = (
        frames["mentions"]
        .lazy()
        .filter((pl.col("posted_at") < moment) & pl.col("customer_id").is_not_null())
        .group_by("customer_id")
        .agg(
            *[(pl.col("posted_at") >= since[w]).sum().alias(f"mentions_{w}d") for w in WINDOWS],
            *[
                pl.col("sentiment").filter(pl.col("posted_at") >= since[w]).mean().alias(f"mean_sentiment_{w}d")
                for w in WINDOWS
            ],
        )
    )
    joined = (
        frames["customers"]
        .lazy()
        .select("customer_id")
        .join(orders, on="customer_id", how="left")
        .join(activities, on="customer_id", how="left")
        .join(mentions, on="customer_id", how="left")
    )
    return joined.collect().to_pandas().set_index("customer_id")


def median_seconds(work, repeats: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return round(float(np.median(times)), 2), result


def comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Counts and sums of nothing are 0 in every engine's terms; means of nothing stay missing."""
    counted = [c for c in columns if not c.startswith(("mean_", "days_"))]
    return frame[columns].astype(float).fillna(dict.fromkeys(counted, 0.0)).sort_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--as-of", default="2025-06-01")
    arguments = parser.parse_args()
    import duckdb
    import polars as pl

    as_of = pd.Timestamp(arguments.as_of)
    with tempfile.TemporaryDirectory() as folder:
        write_world(WorldSpec(customers=arguments.customers, seed=1), Path(folder) / "world", "nps")
        tables = with_sentiment(load_tables(Path(folder) / "world", "nps"), LexiconScorer.shipped())
    frames = {
        name: getattr(tables, name)[columns]
        for name, columns in {
            "customers": ["customer_id"],
            "orders": ["customer_id", "ordered_at", "amount"],
            "activities": ["customer_id", "occurred_at", "type"],
            "mentions": ["customer_id", "posted_at", "sentiment"],
        }.items()
    }
    connection = duckdb.connect()
    for name, frame in frames.items():
        connection.register(name, frame)
    polars_frames = {name: pl.from_pandas(frame) for name, frame in frames.items()}

    timings = {}
    timings["duckdb (one SQL query)"], theirs = median_seconds(lambda: with_duckdb(connection, as_of))
    timings["polars (one lazy query)"], polars_result = median_seconds(lambda: with_polars(polars_frames, as_of))
    names = list(with_duckdb(connection, as_of).columns)
    timings["surveyless build_features, only these features"], own = median_seconds(
        lambda: with_surveyless_only(tables, as_of, names)
    )
    timings["surveyless build_features (whole catalogue)"], ours = median_seconds(
        lambda: with_surveyless(tables, as_of)
    )
    columns = list(theirs.columns)
    for other in (own, ours, polars_result):  # surveyless leaves out who signed up later; the peers give them zeros
        pd.testing.assert_frame_equal(
            comparable(other.reindex(theirs.index), columns), comparable(theirs, columns), check_names=False, rtol=1e-9
        )

    events = sum(len(frames[n]) for n in ("orders", "activities", "mentions"))
    base = timings["duckdb (one SQL query)"]
    lines = [
        f"{arguments.customers:,} customers, {events:,} events, {len(columns)} aggregates, results checked equal; "
        "medians of 3, 2 cores.",
        "",
        "| engine | seconds | vs the DuckDB query |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {seconds} | {seconds / base:.2f}x |" for name, seconds in timings.items()]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "features_peers.json").write_text(
        json.dumps(
            {"customers": arguments.customers, "events": events, "aggregates": columns, "seconds": timings}, indent=2
        )
    )
    (RESULTS / "features_peers.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
