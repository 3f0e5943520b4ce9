"""`surveyless train` on a generated world, timed from the outside, with the time of each of its steps.

    python bench/train_speed.py [--customers 25000]

Runs the command in its own process on a fresh work folder (Prefect and MLflow start-up included),
then reads the per-step times the run logged with its summary. Writes bench/results/train_speed_<customers>.json and
.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SURVEYLESS = Path(sys.executable).with_name("surveyless")


def logged_summary(work: Path) -> dict:
    import mlflow

    from models.tracking.store import use_store

    use_store(work)
    (run,) = mlflow.search_runs(
        experiment_names=["surveyless"], filter_string="attributes.status = 'FINISHED'", output_format="list"
    )
    return mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/summary.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=25_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        world, work = Path(folder) / "world", Path(folder) / "work"
        subprocess.run(
            [SURVEYLESS, "generate", "--customers", str(arguments.customers), "--data", str(world), "--out", str(work)],
            check=True,
            capture_output=True,
        )
        started = time.perf_counter()
        subprocess.run([SURVEYLESS, "train", "--data", str(world), "--out", str(work)], check=True, capture_output=True)
        wall = time.perf_counter() - started
        summary = logged_summary(work)
    steps = summary["steps"]
    churn = summary["card"]["churn"]["metrics"]
    result = {
        "customers": arguments.customers,
        "wall_seconds": round(wall, 1),
        "steps": steps,
        "steps_seconds": round(sum(s["seconds"] for s in steps), 1),
        "churn_roc_auc": round(churn["roc_auc"], 4),
        "validation": summary["card"]["churn"]["validation"],
    }
    lines = [
        f"`surveyless train` on a generated world of {arguments.customers:,} customers: {wall:.1f} s wall in its own "
        "process "
        f"(steps {result['steps_seconds']} s; the rest is start-up, Prefect and MLflow); held-out churn ROC AUC "
        f"{churn['roc_auc']:.3f}.",
        "",
        "| step | seconds |",
        "|---|---|",
    ] + [f"| {s['step']} | {s['seconds']} |" for s in steps]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"train_speed_{arguments.customers}.json").write_text(json.dumps(result, indent=2))
    (RESULTS / f"train_speed_{arguments.customers}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
