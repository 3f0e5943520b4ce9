"""Every stage of a scoring pipeline at one scale: wall time, rows per second and peak memory.

    python bench/pipeline_stages.py --customers 100000 [--cutoffs 6]

Stages, through the same functions the flows call: generate the world, load and validate, score
mention sentiment, build the training set (the latest `--cutoffs` labelled cutoffs), train the
churn model, build features at the scoring date, score with SHAP reasons, write the prediction
folder, render the report. Writes bench/results/pipeline_stages_<customers>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import churn_model, training

from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.synthetic import WorldSpec
from features.training_sets import churn_rows
from models.card import model_card
from models.drift import drift_summary
from models.scoring import score_customers
from pipelines.config import load_config
from pipelines.report import priority_list, report_context, write_report
from pipelines.writers import write_predictions, write_world

RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--cutoffs", type=int, default=6, help="latest labelled cutoffs to train on")
    arguments = parser.parse_args()
    config = load_config()
    stages: list[dict] = []

    def stage(name: str, rows_of, work):
        started = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - started
        rows = rows_of(result)
        stages.append(
            {
                "stage": name,
                "seconds": round(seconds, 2),
                "rows": rows,
                "rows_per_second": round(rows / seconds) if seconds else None,
                "peak_rss_gb": round(peak_rss_gb(), 2),
            }
        )
        print(stages[-1], flush=True)
        return result

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        counts = stage(
            "generate",
            lambda c: sum(c.values()),
            lambda: write_world(WorldSpec(customers=arguments.customers, seed=1), root / "world", "nps"),
        )
        tables = stage(
            "load and validate",
            lambda t: sum(len(f) for f in t.present().values()),
            lambda: load_tables(root / "world", "nps"),
        )
        tables = stage("sentiment", lambda t: len(t.mentions), lambda: with_sentiment(tables, LexiconScorer.shipped()))
        trained = stage(
            "training set",
            lambda t: len(t.rows.churn),
            lambda: training(tables, config.churn, config.cutoffs, config.features, latest=arguments.cutoffs),
        )
        cutoffs = trained.cutoffs
        churn, _ = stage(
            "train churn model", lambda m: len(trained.rows.churn), lambda: churn_model(trained, config.model)
        )
        as_of = tables.data_end
        rows = stage(
            "features at scoring date",
            len,
            lambda: churn_rows(tables, as_of, churn.recipe.churn, churn.recipe.features),
        )
        model = churn.registered("bench", "bench")
        scored = stage(
            "score with SHAP reasons",
            lambda s: len(s.predictions),
            lambda: score_customers(rows, as_of, model, None, churn.recipe.catalogue, config.scoring, config.language),
        )
        drift = drift_summary(
            churn.profile,
            rows[churn.feature_names],
            scored.predictions["churn_probability"].to_numpy(),
            config.monitoring.drift_threshold,
        )
        stage(
            "write prediction folder",
            lambda f: len(scored.predictions),
            lambda: write_predictions(scored.predictions, root / "out", as_of, True, {"drift": drift}),
        )
        card = model_card(tables.event_sources, "lexicon", cutoffs, churn, None)
        history = pd.DataFrame(columns=["as_of", "roc_auc", "in_sample", "alert"])
        stage(
            "report",
            lambda p: len(scored.predictions),
            lambda: write_report(
                report_context(
                    config,
                    tables,
                    scored,
                    priority_list(scored, tables.customers, None, None),
                    model,
                    None,
                    drift,
                    None,
                    card,
                    history,
                ),
                root / "out" / "report.html",
            ),
        )

    events = counts["orders"] + counts["activities"] + counts["mentions"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"pipeline_stages_{arguments.customers}.json").write_text(
        json.dumps(
            {"customers": arguments.customers, "events": events, "training_cutoffs": len(cutoffs), "stages": stages},
            indent=2,
        )
    )
    lines = [
        f"{arguments.customers:,} customers, {events:,} events, {len(cutoffs)} training cutoffs:",
        "",
        "| stage | seconds | rows | rows/s | peak RSS so far, GB |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {s['stage']} | {s['seconds']} | {s['rows']:,} | {s['rows_per_second']:,} | {s['peak_rss_gb']} |"
        for s in stages
    ]
    lines.append(f"| **total** | **{sum(s['seconds'] for s in stages):.1f}** | | | |")
    (RESULTS / f"pipeline_stages_{arguments.customers}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
