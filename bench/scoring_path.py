"""The scoring path a scheduled run takes, from raw tables to a complete prediction folder, through the CLI.

    python bench/scoring_path.py --customers 1000000 [--train-customers 100000] [--repeats 1]

Trains once on a smaller world of the same generator (training cost is measured per stage in
pipeline_stages.py), then times `surveyless score` on the large world in a fresh copy of the work
folder each time: load and validate, sentiment, features, churn and satisfaction scores, SHAP
reasons, drift, the atomic write and the report. Each run is a separate process, on both cores and
pinned to one core (taskset). Wall time is the median over repeats; peak memory is the process's
maximum resident set. Writes bench/results/scoring_path_<customers>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from features.synthetic import WorldSpec
from pipelines.writers import write_world

RESULTS = Path(__file__).resolve().parent / "results"
SURVEYLESS = Path(sys.executable).with_name("surveyless")
CORES = {"2 cores": None, "1 core": "0"}
TARGET_SECONDS, TARGET_GB = 120, 6  # part 6: raw tables to a complete prediction folder at 1 M customers


def timed_score(config: Path, data: Path, trained: Path, work: Path, core: str | None) -> dict:
    """One scoring run in its own process; peak RSS is that process's own, from wait4."""
    shutil.copytree(trained, work)
    command = [str(SURVEYLESS), "score", "--config", str(config), "--data", str(data), "--out", str(work)]
    if core is not None:
        command = ["taskset", "-c", core, *command]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    shutil.rmtree(work)
    return {"seconds": round(seconds, 1), "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--train-customers", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        counts = write_world(WorldSpec(customers=arguments.customers, seed=1), root / "world", "nps")
        write_world(WorldSpec(customers=arguments.train_customers, seed=2), root / "training_world", "nps")
        config = root / "bench.yaml"
        config.write_text(
            "promotion: {must_beat_baselines: false}\n"
        )  # speed is measured here, not whether a small world's model beats baselines
        subprocess.run(
            [
                str(SURVEYLESS),
                "train",
                "--config",
                str(config),
                "--data",
                str(root / "training_world"),
                "--out",
                str(root / "trained"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        runs = {
            name: [
                timed_score(config, root / "world", root / "trained", root / "work", core)
                for _ in range(arguments.repeats)
            ]
            for name, core in CORES.items()
        }
    events = counts["orders"] + counts["activities"] + counts["mentions"]
    summary = {
        name: {
            "median_seconds": float(np.median([r["seconds"] for r in rs])),
            "peak_rss_gb": max(r["peak_rss_gb"] for r in rs),
            "runs": rs,
        }
        for name, rs in runs.items()
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"scoring_path_{arguments.customers}.json").write_text(
        json.dumps(
            {
                "customers": arguments.customers,
                "events": events,
                "train_customers": arguments.train_customers,
                "results": summary,
            },
            indent=2,
        )
    )
    lines = [
        f"`surveyless score` on {arguments.customers:,} customers ({events:,} events), models trained on "
        f"{arguments.train_customers:,}; median of {arguments.repeats} run(s):",
        "",
        f"| cores | wall s (target {TARGET_SECONDS}) | peak RSS GB (target {TARGET_GB}) | customers/s |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {s['median_seconds']:.0f} | {s['peak_rss_gb']:.1f} | "
        f"{arguments.customers / s['median_seconds']:,.0f} |"
        for name, s in summary.items()
    ]
    (RESULTS / f"scoring_path_{arguments.customers}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
