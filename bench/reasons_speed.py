"""What per-customer reasons cost: model capacity against accuracy and TreeSHAP speed, and the peers.

    python bench/reasons_speed.py [--customers 20000]

On one synthetic world, churn models of several capacities (trees x leaves) are trained out of time.
For each: held-out ROC AUC; scoring rows/s through `predict_proba` and bare `booster.predict` (the
limit); exact TreeSHAP rows/s through LightGBM's `pred_contrib` with 1 and 2 threads, through
`shap.TreeExplainer` on a sample, and through the tables scoring looks values up in (`models.tree_shap`, on the
prediction rows, tabulation included; models with larger trees go through `pred_contrib`). TreeSHAP cost grows
with trees x leaves x depth^2, so capacity is the lever. Writes bench/results/reasons_speed.json and .md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import Training, churn_model, training

from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.synthetic import WorldSpec
from models.training import BoosterSettings, ModelSettings, churn_probability, model_matrix
from models.tree_shap import MOST_SPLITS, shap_values, splits_in
from pipelines.writers import write_world

RESULTS = Path(__file__).resolve().parent / "results"
CAPACITIES = ((300, 31, -1), (200, 15, -1), (200, 15, 5), (300, 15, 4), (300, 7, -1), (150, 7, -1))
SHAP_SAMPLE = 2_000
CONTRIB_ROWS = 5_000


def rows_per_second(work, rows: int, repeats: int = 3) -> float:
    """Median over repeats, so one slow moment on a shared machine does not decide."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return round(rows / float(np.median(times)))


def measure(trained: Training, trees: int, leaves: int, depth: int, scoring: pd.DataFrame) -> dict:
    """`trees` is the ceiling: early stopping picks the count, reported as `trees_used`."""
    model, _ = churn_model(
        trained, ModelSettings(churn=BoosterSettings(n_estimators=trees, num_leaves=leaves, max_depth=depth))
    )
    matrix = model_matrix(scoring, model.feature_names)
    booster = model.booster
    sample, explained = matrix.head(SHAP_SAMPLE), matrix.head(CONTRIB_ROWS)
    import shap

    explainer = shap.TreeExplainer(booster)
    return {
        "trees": trees,
        "trees_used": int(model.metrics["trees"]),
        "leaves": leaves,
        "max_depth": depth,
        "deepest_tree": deepest(booster),
        "roc_auc": round(model.metrics["roc_auc"], 4),
        "roc_auc_low": round(model.metrics["roc_auc_low"], 4),
        "roc_auc_high": round(model.metrics["roc_auc_high"], 4),
        "predict_proba_rows_per_s": rows_per_second(lambda: churn_probability(model, scoring), len(matrix)),
        "booster_predict_rows_per_s": rows_per_second(lambda: booster.predict(matrix), len(matrix)),
        "pred_contrib_rows_per_s_2_threads": rows_per_second(
            lambda: booster.predict(explained, pred_contrib=True, num_threads=2), len(explained)
        ),
        "pred_contrib_rows_per_s_1_thread": rows_per_second(
            lambda: booster.predict(explained, pred_contrib=True, num_threads=1), len(explained)
        ),
        "shap_tree_explainer_rows_per_s": rows_per_second(
            lambda: explainer.shap_values(sample), len(sample), repeats=1
        ),
        "tabulated_rows_per_s": rows_per_second(lambda: shap_values(booster, matrix), len(matrix))
        if max(splits_in(tree["tree_structure"]) for tree in booster.dump_model()["tree_info"]) <= MOST_SPLITS
        else None,
    }


def depth_limit(result: dict) -> str:
    return "" if result["max_depth"] < 0 else f" (depth ≤ {result['max_depth']})"


def scoring_rate(result: dict) -> float:
    """Rows/s of the path scoring takes: the tables where the trees are small enough, else `pred_contrib`."""
    return result["tabulated_rows_per_s"] or result["pred_contrib_rows_per_s_2_threads"]


def scoring_speed(result: dict) -> str:
    return f"{result['tabulated_rows_per_s']:,}" if result["tabulated_rows_per_s"] else "(pred_contrib)"


def deepest(booster) -> int:
    """The deepest leaf of any tree: TreeSHAP's cost per tree grows with its square."""

    def depth(node: dict) -> int:
        return 0 if "leaf_value" in node else 1 + max(depth(node["left_child"]), depth(node["right_child"]))

    return max(depth(tree["tree_structure"]) for tree in booster.dump_model()["tree_info"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        write_world(WorldSpec(customers=arguments.customers, seed=3), Path(folder) / "world", "nps")
        tables = with_sentiment(load_tables(Path(folder) / "world", "nps"), LexiconScorer.shipped())
    trained = training(tables)
    rows = trained.rows.churn
    scoring = rows.tail(min(len(rows), 50_000))
    results = [measure(trained, trees, leaves, depth, scoring) for trees, leaves, depth in CAPACITIES]
    lines = [
        f"{arguments.customers:,} customers, {len(rows):,} training rows; prediction speed on {len(scoring):,} rows, "
        f"pred_contrib on {CONTRIB_ROWS:,} (medians of 3), TreeExplainer on {SHAP_SAMPLE:,}, the "
        f"tables on {len(scoring):,}.",
        "",
        "| trees (ceiling / used) x leaves (max depth) | deepest tree | held-out ROC AUC (95 % CI) | predict_proba "
        "rows/s | booster.predict rows/s | pred_contrib rows/s, 2 threads / 1 thread | shap.TreeExplainer rows/s | "
        "tabulated (scoring's) rows/s | 1M customers' SHAP values, minutes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['trees']} / {r['trees_used']} x {r['leaves']}{depth_limit(r)} | {r['deepest_tree']} | "
            f"{r['roc_auc']:.3f} ({r['roc_auc_low']:.3f}–{r['roc_auc_high']:.3f}) | {r['predict_proba_rows_per_s']:,} "
            f"| {r['booster_predict_rows_per_s']:,} "
            f"| {r['pred_contrib_rows_per_s_2_threads']:,} / {r['pred_contrib_rows_per_s_1_thread']:,} | "
            f"{r['shap_tree_explainer_rows_per_s']:,} | {scoring_speed(r)} | {1e6 / scoring_rate(r) / 60:.2f} |"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reasons_speed.json").write_text(
        json.dumps({"customers": arguments.customers, "training_rows": len(rows), "models": results}, indent=2)
    )
    (RESULTS / "reasons_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
