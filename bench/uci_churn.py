"""Non-contractual churn on real purchases (UCI Online Retail II), backtested over monthly cutoffs in 2011.

    python bench/uci_churn.py [--source ../shared/data/uci-online-retail]

Churn: no purchase in the 90 days after the cutoff. For each validation cutoff, the pipeline's own
training functions fit LightGBM on the cutoffs whose horizon closed before it; LightGBM, the
recency rule, logistic regression and BG/NBD "probability alive" are scored on the same customers.
Writes bench/results/uci_churn.json and .md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from adapters import uci_online_retail, write_tables
from features.builders import FeatureSettings, catalogue_for
from features.labels import ChurnDefinition
from features.loaders import load_tables
from features.registry import churn_directions
from features.training_sets import CutoffSchedule, build_training_set, labelled_cutoffs
from models.baselines import churn_baselines
from models.training import BoosterSettings, fit_churn

RESULTS = Path(__file__).resolve().parent / "results"
DEFINITION = ChurnDefinition(90, ())
VALIDATION_CUTOFFS = ("2011-06-01", "2011-07-01", "2011-08-01", "2011-09-01")
SHOWN = ("roc_auc", "top_decile_lift")


def backtest(tables, cutoff: pd.Timestamp, seed: int) -> dict:
    schedule = CutoffSchedule(last=cutoff, frequency="MS", history_days=90)
    cutoffs = labelled_cutoffs(tables, schedule, DEFINITION)
    settings = FeatureSettings()
    rows = build_training_set(tables, cutoffs, DEFINITION, settings)
    churn = fit_churn(rows.churn, DEFINITION.horizon, BoosterSettings(), seed, churn_directions(catalogue_for(tables, settings)))
    baselines = churn_baselines(rows.churn, churn.feature_names, churn.split.train, churn.split.valid, tables, DEFINITION.horizon, seed)
    keep = lambda metrics: {k: round(v, 4) for k, v in metrics.items() if k.split("_low")[0].split("_high")[0] in SHOWN or k in ("rows", "churn_rate")}  # noqa: E731
    return {"cutoff": str(cutoff.date()), "training_cutoffs": len(cutoffs) - 1, "lightgbm": keep(churn.metrics)} | {name: keep(m) for name, m in baselines.items()}


def markdown(folds: list[dict]) -> str:
    models = [m for m in folds[0] if m not in ("cutoff", "training_cutoffs")]
    lines = ["| validation cutoff | customers | churn rate | " + " | ".join(f"{m} ROC AUC (95 % CI) / lift" for m in models) + " |", "|---" * (3 + len(models)) + "|"]
    for fold in folds:
        cells = [f"{fold[m]['roc_auc']:.3f} ({fold[m]['roc_auc_low']:.3f}–{fold[m]['roc_auc_high']:.3f}) / {fold[m]['top_decile_lift']:.2f}" for m in models]
        lines.append(f"| {fold['cutoff']} | {fold['lightgbm']['rows']:,.0f} | {fold['lightgbm']['churn_rate']:.1%} | " + " | ".join(cells) + " |")
    means = [f"{np.mean([f[m]['roc_auc'] for f in folds]):.3f} / {np.mean([f[m]['top_decile_lift'] for f in folds]):.2f}" for m in models]
    lines.append("| **mean** | | | " + " | ".join(f"**{m}**" for m in means) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "uci-online-retail")
    parser.add_argument("--seed", type=int, default=42)
    arguments = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        tables = load_tables(write_tables(uci_online_retail(arguments.source), Path(folder)), "nps")
    folds = [backtest(tables, pd.Timestamp(cutoff), arguments.seed) for cutoff in VALIDATION_CUTOFFS]
    result = {"dataset": "UCI Online Retail II", "churn": "no purchase within 90 days", "folds": folds, "seconds": round(time.perf_counter() - started, 1)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "uci_churn.json").write_text(json.dumps(result, indent=2))
    (RESULTS / "uci_churn.md").write_text(markdown(folds) + "\n")
    print(markdown(folds))


if __name__ == "__main__":
    main()
