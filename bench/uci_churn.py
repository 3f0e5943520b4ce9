"""Non-contractual churn on real purchases (UCI Online Retail II), the whole customer base, backtested over four
cutoffs.

    python bench/uci_churn.py [--source ../shared/data/uci-online-retail] [--horizon 90] [--cutoffs 2011-06-01 ...]

Churn: no order in the `horizon` days after the cutoff. Every customer with an order before the
cutoff is scored, most of them lapsed. For each validation cutoff, the pipeline's own training
(`models.training.trained_churn_model`: early stopping, BG/NBD blend) fits on the monthly cutoffs
whose horizon closed before it; the classic models score the same customers: days since the last
order, BG/NBD's expected orders and probability of no order (fitted on orders before the cutoff),
logistic regression on log recency, frequency, monetary value and age, and LightGBM on those four
alone. Intervals are paired bootstraps of the AUC difference (LightGBM minus the model) over the
same resampled customers. Writes bench/results/uci_churn.json and .md (uci_churn_<horizon>d.* for another horizon).
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

from features.builders import FeatureSettings
from features.labels import ChurnDefinition
from features.loaders import load_tables
from features.registry import churn_directions
from features.training_sets import CutoffSchedule, build_training_set, labelled_cutoffs
from models.artifact import Recipe
from models.baselines import recency_scores, rfmt_baselines, rhythm_scores
from models.evaluation import roc_auc, top_decile_lift
from models.training import (
    BoosterSettings,
    ModelSettings,
    churn_classifier,
    churn_log_odds,
    feature_columns,
    trained_churn_model,
)

RESULTS = Path(__file__).resolve().parent / "results"
VALIDATION_CUTOFFS = ("2011-06-01", "2011-07-01", "2011-08-01", "2011-09-01")
BOOTSTRAP = 1000
SETTINGS = ModelSettings()
MODELS = (
    "lightgbm",
    "recency_rule",
    "bg_nbd_expected_orders",
    "bg_nbd_no_order",
    "logistic_regression_log_rfmt",
    "lightgbm_rfmt",
)


def paired_interval(labels: np.ndarray, ours: np.ndarray, theirs: np.ndarray, seed: int) -> tuple[float, float]:
    """95 % interval of AUC(ours) - AUC(theirs) over stratified resamples of the same customers."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(labels == value) for value in (0, 1)]
    differences = []
    for _ in range(BOOTSTRAP):
        sample = np.concatenate([rng.choice(group, len(group)) for group in groups])
        differences.append(roc_auc(labels[sample], ours[sample]) - roc_auc(labels[sample], theirs[sample]))
    low, high = np.percentile(differences, [2.5, 97.5])
    return float(low), float(high)


def backtest(tables, cutoff: pd.Timestamp, definition: ChurnDefinition, seed: int) -> dict:
    training_cutoffs = [
        c for c in labelled_cutoffs(tables, CutoffSchedule(last=cutoff), definition) if c + definition.horizon <= cutoff
    ]
    rows = build_training_set(tables, [*training_cutoffs, cutoff], definition, FeatureSettings()).churn
    as_of = rows.index.get_level_values("as_of")
    train, valid = np.asarray(as_of < cutoff), np.asarray(as_of == cutoff)
    recipe = Recipe(
        kind="churn",
        churn=definition,
        features=FeatureSettings(),
        sources=tables.event_sources,
        feature_names=tuple(feature_columns(rows)),
        survey_scale="nps",
    )
    model = trained_churn_model(rows[train], recipe, SETTINGS, churn_directions(recipe.catalogue))
    validation = rows[valid]
    labels = validation["churned"].to_numpy()
    scores = {
        "lightgbm": churn_log_odds(model, validation),
        "recency_rule": recency_scores(validation),
    } | rhythm_scores(validation, definition.horizon_days)
    scores |= rfmt_baselines(rows, train, valid, seed, lambda: churn_classifier(settings=BoosterSettings(), seed=seed))
    fold = {
        "cutoff": str(cutoff.date()),
        "training_cutoffs": len(training_cutoffs),
        "customers": int(valid.sum()),
        "churn_rate": float(labels.mean()),
        "lapsed": int((validation["status"] == "lapsed").sum()),
        "trees": model.metrics["trees"],
        "blend_weight": model.metrics["blend_weight"],
    }
    for name in MODELS:
        fold[name] = {
            "roc_auc": roc_auc(labels, scores[name]),
            "top_decile_lift": top_decile_lift(labels, scores[name]),
        }
        if name != "lightgbm":
            fold[name]["lightgbm_minus_this"] = paired_interval(labels, scores["lightgbm"], scores[name], seed)
    return fold


def markdown(folds: list[dict], horizon: int) -> str:
    lines = [
        f"Churn = no order in the {horizon} days after the cutoff; every customer with an order before it scored. ROC "
        "AUC (top-decile lift); "
        "below each baseline, the paired 95 % interval of LightGBM's AUC minus its AUC.",
        "",
        "| validation cutoff | customers (lapsed) | churn rate | " + " | ".join(MODELS) + " |",
        "|---" * (3 + len(MODELS)) + "|",
    ]
    for fold in folds:
        cells = [
            f"{fold[m]['roc_auc']:.3f} ({fold[m]['top_decile_lift']:.2f})"
            + (
                f"<br>{fold[m]['lightgbm_minus_this'][0]:+.3f}…{fold[m]['lightgbm_minus_this'][1]:+.3f}"
                if m != "lightgbm"
                else ""
            )
            for m in MODELS
        ]
        lines.append(
            f"| {fold['cutoff']} | {fold['customers']:,} ({fold['lapsed']:,}) | {fold['churn_rate']:.1%} | "
            + " | ".join(cells)
            + " |"
        )
    means = [np.mean([f[m]["roc_auc"] for f in folds]) for m in MODELS]
    lines.append("| **mean** | | | " + " | ".join(f"**{value:.3f}**" for value in means) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--source", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "uci-online-retail"
    )
    parser.add_argument("--horizon", type=int, default=90)
    parser.add_argument(
        "--cutoffs",
        nargs="+",
        default=list(VALIDATION_CUTOFFS),
        help="validation cutoffs (each needs its whole horizon inside the data)",
    )
    parser.add_argument("--seed", type=int, default=42)
    arguments = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        tables = load_tables(write_tables(uci_online_retail(arguments.source), Path(folder)), "nps")
    definition = ChurnDefinition(horizon_days=arguments.horizon, lapse_segments=()).resolved(tables)
    folds = [
        backtest(tables, pd.Timestamp(cutoff).as_unit("us"), definition, arguments.seed)
        for cutoff in arguments.cutoffs
        if pd.Timestamp(cutoff) + definition.horizon <= tables.data_end
    ]
    result = {
        "dataset": "UCI Online Retail II",
        "churn": f"no order within {arguments.horizon} days",
        "folds": folds,
        "seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    name = "uci_churn" if arguments.horizon == 90 else f"uci_churn_{arguments.horizon}d"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    (RESULTS / f"{name}.md").write_text(markdown(folds, arguments.horizon) + "\n")
    print(markdown(folds, arguments.horizon))


if __name__ == "__main__":
    main()
