"""Feature building at scale: wall time, rows per second and peak memory, through the real loading path.

    python bench/features_scale.py --customers 100000        # quick
    python bench/features_scale.py --customers 1000000       # full
    python bench/features_scale.py --customers 1000000 --cutoffs 12   # and a training set over 12 monthly cutoffs

Writes bench/results/features_scale_<customers>.json and prints a Markdown row.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import training

from features.builders import FeatureSettings, build_features
from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.synthetic import WorldSpec
from pipelines.writers import write_world

RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def timed(stages: dict, name: str, work):
    started = time.perf_counter()
    result = work()
    stages[name] = {"seconds": round(time.perf_counter() - started, 2), "peak_rss_gb_so_far": round(peak_rss_gb(), 2)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--as-of", default="2025-06-01")
    parser.add_argument("--cutoffs", type=int, default=0, help="also build a training set over the latest N cutoffs")
    arguments = parser.parse_args()
    stages: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        world = Path(folder) / "world"
        timed(stages, "generate", lambda: write_world(WorldSpec(customers=arguments.customers, seed=1), world, "nps"))
        tables = timed(stages, "load_and_validate", lambda: load_tables(world, "nps"))
        tables = timed(stages, "sentiment", lambda: with_sentiment(tables, LexiconScorer.shipped()))
        features = timed(
            stages,
            "features",
            lambda: build_features(tables, pd.Timestamp(arguments.as_of).as_unit("us"), FeatureSettings(), 90),
        )
        if arguments.cutoffs:
            built = timed(
                stages, f"training_set_{arguments.cutoffs}_cutoffs", lambda: training(tables, latest=arguments.cutoffs)
            )
            stages[f"training_set_{arguments.cutoffs}_cutoffs"]["rows"] = len(built.rows.churn)
    events = sum(len(frame) for name, frame in tables.present().items() if name in tables.event_sources)
    result = {
        "customers": arguments.customers,
        "events": events,
        "feature_rows": len(features),
        "features": features.shape[1],
        "stages": stages,
        "feature_customers_per_second": round(len(features) / stages["features"]["seconds"]),
        "feature_events_per_second": round(events / stages["features"]["seconds"]),
        "peak_rss_gb": round(peak_rss_gb(), 2),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"features_scale_{arguments.customers}.json").write_text(json.dumps(result, indent=2))
    rows = [f"| {name} | {stage['seconds']} | {stage['peak_rss_gb_so_far']} |" for name, stage in stages.items()]
    table = [
        f"{arguments.customers:,} customers, {events:,} events, {features.shape[1]} features.",
        "",
        "| stage | seconds | peak RSS so far, GB |",
        "|---|---|---|",
        *rows,
    ]
    (RESULTS / "features_scale.md").write_text("\n".join(table) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
