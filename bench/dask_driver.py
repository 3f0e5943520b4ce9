"""The Dask driver's memory as customers grow, when workers read their own partitions and when the driver loads.

    python bench/dask_driver.py [--customers 250000 500000 1000000] [--workers 2] [--partitions 8]

For each size, one synthetic world written as Parquet, then two ways to score every customer who can churn at the
data's last date with SHAP reasons on a LocalCluster of worker processes, each in a fresh process so that its peak
memory is its own:

- workers read (`pipelines.distributed.on_workers`): each worker reads, validates and scores the mentions of its
  own partitions of customers from the files; features and scores stay on the workers, each partition's
  predictions are written by its worker, and the driver gathers whole-base aggregates and a digest.
- driver loads (the flows' Dask executor): the driver loads and validates every table, cuts and sends the
  partitions (`rows_by_partition`), and gathers the features and the predictions (`scored_by_chunk`).

Reports the peak resident memory of the driver process (the scheduler runs in it) and of the busiest worker, and
wall seconds. The predictions of both ways are checked equal by an order-free digest of every row. Writes
bench/results/dask_driver_<partitions>_partitions.json and .md.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import churn_model, training

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("workers read", "driver loads")


def peak_bytes() -> int:
    """This process's peak resident memory, from Linux's high-water mark of its address space: getrusage's peak
    outlives exec, so a process started by a big parent reports the parent's."""
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line.split()[1] for line in status if line.startswith("VmHWM:"))) * 1024


def digest(predictions: pd.DataFrame) -> int:
    """A sum of every row's hash: equal for the same rows in any order or split."""
    return int(pd.util.hash_pandas_object(predictions, index=False).sum())


def written(scored, folder: Path, number: int) -> dict:
    """A worker's partition of predictions written where it is, and what the driver gathers of it."""
    scored.predictions.to_parquet(folder / f"part-{number}.parquet", index=False)
    return {"rows": len(scored.predictions), "digest": digest(scored.predictions)}


def measured(mode: str, world: Path, model_path: Path, workers: int, partitions: int) -> dict:
    """One way of scoring the world, timed, in this process."""
    from features.loaders import load_tables
    from features.sentiment import LexiconScorer, with_sentiment
    from models.scoring import ScoringSettings
    from pipelines.distributed import dask_client, on_workers, rows_by_partition, scored_by_chunk

    model = pickle.loads(model_path.read_bytes())
    recipe, scorer = model.recipe, LexiconScorer.shipped()
    started = time.perf_counter()
    with dask_client("local-cluster", workers) as client:
        ready = time.perf_counter()
        if mode == "workers read":
            source = on_workers(client, world, partitions, "nps", pd.Timestamp.now(), scorer)
            loaded = time.perf_counter()
            arguments = (source.data_end, model, None, recipe.catalogue, ScoringSettings(), "en")
            scored = source.scored(source.rows(source.data_end, recipe.churn, recipe.features), *arguments)
            out = world.parent / "predictions"
            out.mkdir(exist_ok=True)
            parts = client.gather(client.map(written, scored, folder=out, number=range(len(scored))))
            rows, total = sum(p["rows"] for p in parts), sum(p["digest"] for p in parts) % 2**64
        else:
            tables = with_sentiment(load_tables(world, "nps"), scorer)
            loaded = time.perf_counter()
            arguments = (tables.data_end, model, None, recipe.catalogue, ScoringSettings(), "en")
            features = rows_by_partition(client, tables, tables.data_end, recipe.churn, recipe.features, partitions)
            predictions = scored_by_chunk(client, features, *arguments, chunks=partitions).predictions
            rows, total = len(predictions), digest(predictions) % 2**64
        finished = time.perf_counter()
        worker_peaks = client.run(peak_bytes)
    return {
        "rows": rows,
        "digest": total,
        "cluster_start_seconds": round(ready - started, 1),
        "load_seconds": round(loaded - ready, 1),
        "features_and_scoring_seconds": round(finished - loaded, 1),
        "driver_peak_gb": round(peak_bytes() / 1e9, 2),
        "worker_peak_gb": round(max(worker_peaks.values()) / 1e9, 2),
    }


def trained_model(folder: Path) -> Path:
    """A churn model with the default settings, trained on a small world of the same generator, pickled."""
    from features.loaders import load_tables
    from features.sentiment import LexiconScorer, with_sentiment
    from features.synthetic import WorldSpec
    from pipelines.writers import write_world

    write_world(WorldSpec(customers=20_000, seed=2), folder / "training_world", "nps")
    tables = with_sentiment(load_tables(folder / "training_world", "nps"), LexiconScorer.shipped())
    model, _ = churn_model(training(tables, latest=6))
    path = folder / "model.pickle"
    path.write_bytes(pickle.dumps(model.registered("bench", "bench")))
    return path


def in_own_process(mode: str, world: Path, model: Path, workers: int, partitions: int) -> dict:
    command = [sys.executable, __file__, "--measure", mode, str(world), str(model), str(workers), str(partitions)]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--measure", nargs=5, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        mode, world, model, workers, partitions = arguments.measure
        print(json.dumps(measured(mode, Path(world), Path(model), int(workers), int(partitions))))
        return
    from features.synthetic import WorldSpec
    from pipelines.writers import write_world

    results = []
    with tempfile.TemporaryDirectory() as temporary:
        model = trained_model(Path(temporary))
        for customers in arguments.customers:
            world = Path(temporary) / str(customers) / "world"
            write_world(WorldSpec(customers=customers, seed=1), world, "nps")
            runs = {mode: in_own_process(mode, world, model, arguments.workers, arguments.partitions) for mode in MODES}
            if len({(run["rows"], run["digest"]) for run in runs.values()}) != 1:
                raise SystemExit(f"the two ways scored {customers:,} customers differently: {runs}")
            results.append({"customers": customers, **runs})
            print(customers, runs, flush=True)
    RESULTS.mkdir(exist_ok=True)
    name = f"dask_driver_{arguments.partitions}_partitions"
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2))
    lines = [
        f"A LocalCluster of {arguments.workers} worker processes, {arguments.partitions} partitions; every customer "
        "who can churn at the data's last date scored with SHAP reasons; the two ways' predictions checked equal.",
        "",
        "| customers | scored | way | driver peak, GB | busiest worker peak, GB | load, s | features + scoring, s |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['customers']:,} | {r[mode]['rows']:,} | {mode} | {r[mode]['driver_peak_gb']} | "
        f"{r[mode]['worker_peak_gb']} | {r[mode]['load_seconds']} | {r[mode]['features_and_scoring_seconds']} |"
        for r in results
        for mode in MODES
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
