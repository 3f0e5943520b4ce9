"""Runs the benchmarks and writes bench/results/summary_<mode>.md with the machine they ran on.

    python bench/run.py quick    # under 5 minutes: real datasets, one small synthetic world, 100k-customer features
    python bench/run.py full     # five 20,000-customer worlds, reasons' cost by model capacity, 1M-customer features

Each benchmark is its own script (and process, so peak memory is its own), writing JSON and
Markdown into bench/results/; this runner records wall time and a CPU-load check beside each.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"

PLANS = {
    "quick": [
        ("uci_churn", []),
        ("olist_reviews", []),
        ("sentiment_airline", []),
        ("synthetic_truth", ["--customers", "5000", "--seeds", "7"]),
        ("features_scale", ["--customers", "100000"]),
        ("features_peers", ["--customers", "100000"]),
        ("pipeline_stages", ["--customers", "10000"]),
        ("scoring_path", ["--customers", "20000", "--train-customers", "5000"]),
    ],
    "full": [
        ("uci_churn", []),
        ("olist_reviews", []),
        ("sentiment_airline", []),
        ("synthetic_truth", ["--customers", "20000"]),
        ("reasons_speed", ["--customers", "20000"]),
        ("features_scale", ["--customers", "1000000"]),
        ("features_peers", ["--customers", "1000000"]),
        ("pipeline_stages", ["--customers", "10000"]),
        ("pipeline_stages", ["--customers", "100000"]),
        ("pipeline_stages", ["--customers", "1000000", "--cutoffs", "2"]),
        ("scoring_path", ["--customers", "1000000"]),
        ("dask_scaling", ["--customers", "1000000"]),
        ("dask_driver", []),
    ],
}


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(line.split()[1]) / 1024**2
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    python = platform.python_version()
    return f"{cpu}; {os.cpu_count()} cores; {memory:.0f} GiB RAM; Python {python}; {platform.platform()}"


def run(script: str, arguments: list[str]) -> dict:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(BENCH.parent), str(BENCH)])}
    finished = subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), *arguments], env=environment, capture_output=True, text=True
    )
    return {
        "script": script,
        "arguments": " ".join(arguments),
        "seconds": round(time.perf_counter() - started, 1),
        "load_before": round(load_before, 2),
        "exit": finished.returncode,
        "error": finished.stderr.strip().splitlines()[-1:] if finished.returncode else [],
    }


def result_table(script: str, options: list[str]) -> Path | None:
    """The script's Markdown result: per scale when it writes one per scale, else its only one."""
    scale = options[options.index("--customers") + 1] if "--customers" in options else ""
    return next((path for path in (RESULTS / f"{script}_{scale}.md", RESULTS / f"{script}.md") if path.exists()), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=sorted(PLANS))
    arguments = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    runs = []
    for script, options in PLANS[arguments.mode]:
        print(f"{script} {' '.join(options)} ...", flush=True)
        runs.append(run(script, options))
        print(f"  {runs[-1]['seconds']} s, exit {runs[-1]['exit']}", flush=True)
    lines = [
        f"# Benchmarks, {arguments.mode} mode",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
        "| benchmark | arguments | wall s | 1-min load before | exit |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['script']} | {r['arguments']} | {r['seconds']} | {r['load_before']} | "
        f"{r['exit']}{' ' + r['error'][0] if r['error'] else ''} |"
        for r in runs
    ]
    for script, options in PLANS[arguments.mode]:
        if table := result_table(script, options):
            lines += ["", f"## {script} {' '.join(options)}", "", table.read_text().strip()]
    (RESULTS / f"summary_{arguments.mode}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    sys.exit(max(r["exit"] for r in runs))


if __name__ == "__main__":
    main()
