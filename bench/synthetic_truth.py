"""Churn and satisfaction against the synthetic world's truth: what labels and surveys cannot show.

    python bench/synthetic_truth.py [--customers 20000] [--seeds 7 11 23 31 47]

Churn: held-out ROC AUC of the model beside an oracle that knows each customer's true 90-day churn
probability (from truth/), on the same customers, and their ratio. Satisfaction, for customers who
never answered a survey: Spearman correlation with the latent truth of the inferred score, with and
without response-bias correction, and of a ridge-regression baseline on the same features. Per
segment: NPS as surveyed, inferred, and inferred with correction, each against the NPS a survey of
every active customer would find. One world per seed, because one world's figures move by a few
NPS points with the draw. Writes bench/results/synthetic_truth_<customers>.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import Training, churn_model, training
from scipy.stats import spearmanr
from sklearn.linear_model import Ridge
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.synthetic import WorldSpec, true_nps_probabilities
from features.training_sets import churn_rows
from models.bias import SurveySettings, fit_satisfaction_corrected, predicted_scores
from models.training import ModelSettings, fit_satisfaction
from pipelines.writers import write_world

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23, 31, 47])
    arguments = parser.parse_args()
    worlds = [one_world(arguments.customers, seed) for seed in arguments.seeds]
    estimates = ("surveyed", "inferred_uncorrected", "inferred_corrected")
    segment_error = {e: [w["mean_absolute_nps_error_over_segments"][e] for w in worlds] for e in estimates}
    result = {
        "customers": arguments.customers,
        "seeds": arguments.seeds,
        "mean_over_worlds": {
            "segment_nps_error": {e: float(np.mean(v)) for e, v in segment_error.items()},
            "overall_nps_error": {
                e: float(np.mean([w["absolute_nps_error"][e]["all"] for w in worlds])) for e in estimates
            },
            "spearman_never_answered": {
                m: float(np.mean([w["spearman_with_latent_truth_never_answered"][m] for w in worlds]))
                for m in ("uncorrected", "corrected", "ridge_baseline")
            },
            "churn_roc_auc": {
                m: float(np.mean([w["churn"][m] for w in worlds])) for m in ("model", "oracle", "model_over_oracle")
            },
        },
        "worlds_where_correction_lowers_segment_error": int(
            sum(
                c < u
                for c, u in zip(segment_error["inferred_corrected"], segment_error["inferred_uncorrected"], strict=True)
            )
        ),
        "worlds": worlds,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"synthetic_truth_{arguments.customers}.json").write_text(json.dumps(result, indent=2))
    (RESULTS / "synthetic_truth.md").write_text(markdown(result) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "worlds"}, indent=2))


def markdown(result: dict) -> str:
    lines = [
        f"{result['customers']:,} customers per world.",
        "",
        "| world seed | churn AUC model / oracle (ratio) | Spearman never answered: inferred / corrected / ridge | "
        "segment NPS error: surveyed / inferred / corrected |",
        "|---|---|---|---|",
    ]
    for w in result["worlds"]:
        churn, rho, error = (
            w["churn"],
            w["spearman_with_latent_truth_never_answered"],
            w["mean_absolute_nps_error_over_segments"],
        )
        lines.append(
            f"| {w['seed']} | {churn['model']:.3f} / {churn['oracle']:.3f} ({churn['model_over_oracle']:.2f}) | "
            f"{rho['uncorrected']:.3f} / {rho['corrected']:.3f} / {rho['ridge_baseline']:.3f} "
            f"| {error['surveyed']:.1f} / {error['inferred_uncorrected']:.1f} / {error['inferred_corrected']:.1f} |"
        )
    m = result["mean_over_worlds"]
    lines.append(
        f"| **mean** | {m['churn_roc_auc']['model']:.3f} / {m['churn_roc_auc']['oracle']:.3f} "
        f"({m['churn_roc_auc']['model_over_oracle']:.2f}) "
        f"| {m['spearman_never_answered']['uncorrected']:.3f} / {m['spearman_never_answered']['corrected']:.3f} / "
        f"{m['spearman_never_answered']['ridge_baseline']:.3f} "
        f"| {m['segment_nps_error']['surveyed']:.1f} / {m['segment_nps_error']['inferred_uncorrected']:.1f} / "
        f"{m['segment_nps_error']['inferred_corrected']:.1f} |"
    )
    return "\n".join(lines)


def one_world(customers: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        world = Path(folder) / "world"
        write_world(WorldSpec(customers=customers, seed=seed), world, "nps")
        truth = pd.read_parquet(world / "truth" / "satisfaction.parquet")
        tables = with_sentiment(load_tables(world, "nps"), LexiconScorer.shipped())
    trained = training(tables)
    rows, cutoffs, recipe = trained.rows, trained.cutoffs, trained.recipe.model_copy(update={"kind": "satisfaction"})
    now = churn_rows(tables, tables.data_end, trained.definition, trained.recipe.features)
    (corrected, _), nps_table = fit_satisfaction_corrected(
        rows, tables, now, recipe, cutoffs[-1], ModelSettings(), SurveySettings()
    )
    uncorrected, _ = fit_satisfaction(rows.satisfaction, recipe, cutoffs[-1], ModelSettings())
    churn = churn_against_oracle(trained, truth)

    latest = truth[truth["date"] == truth["date"].max()].set_index("customer_id")["satisfaction"].reindex(now.index)
    never_answered = ~now.index.isin(tables.surveys["customer_id"]) & latest.notna().to_numpy()
    spearman = {
        name: float(spearmanr(predicted_scores(model, now)[never_answered], latest[never_answered]).statistic)
        for name, model in (("uncorrected", uncorrected), ("corrected", corrected))
    }
    ridge = ridge_baseline(rows.satisfaction, uncorrected.feature_names)
    spearman["ridge_baseline"] = float(
        spearmanr(
            ridge.predict(numeric(now, uncorrected.feature_names))[never_answered], latest[never_answered]
        ).statistic
    )
    promoter, detractor = true_nps_probabilities(latest.to_numpy())
    segments = tables.customers.set_index("customer_id")["segment"].reindex(now.index)
    truth_frame = pd.DataFrame({"promoter": promoter, "detractor": detractor, "segment": segments.to_numpy()}).dropna()
    true_nps = {
        s: float(100 * (g["promoter"].mean() - g["detractor"].mean())) for s, g in truth_frame.groupby("segment")
    }
    true_nps["all"] = float(100 * (truth_frame["promoter"].mean() - truth_frame["detractor"].mean()))
    errors = {
        estimate: {s: abs(nps_table[estimate][s] - true_nps[s]) for s in true_nps if s in nps_table[estimate]}
        for estimate in ("surveyed", "inferred_uncorrected", "inferred_corrected")
    }
    return {
        "seed": seed,
        "churn": churn,
        "never_answered_customers": int(never_answered.sum()),
        "spearman_with_latent_truth_never_answered": spearman,
        "true_nps": true_nps,
        "nps": nps_table,
        "absolute_nps_error": errors,
        "mean_absolute_nps_error_over_segments": {
            k: float(np.mean([v for s, v in e.items() if s != "all"])) for k, e in errors.items()
        },
    }


def churn_against_oracle(trained: Training, truth: pd.DataFrame) -> dict:
    """Held-out churn ROC AUC of the model and of the truth's own churn probability, on the same customers."""
    model, evaluation = churn_model(trained)
    validation = trained.rows.churn[evaluation.split.valid]
    cutoff = validation.index.get_level_values("as_of")[0]
    known = truth[truth["date"] <= cutoff]
    snapshot = known[known["date"] == known["date"].max()].set_index("customer_id")["churn_probability_90d"]
    oracle = snapshot.reindex(validation.index.get_level_values("customer_id")).fillna(snapshot.median()).to_numpy()
    oracle_auc = float(roc_auc_score(validation["churned"], oracle))
    return {
        "model": model.metrics["roc_auc"],
        "oracle": oracle_auc,
        "model_over_oracle": model.metrics["roc_auc"] / oracle_auc,
        "validation_customers": len(validation),
    }


def numeric(rows: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    return rows[[n for n in names if pd.api.types.is_numeric_dtype(rows[n])]].fillna(0.0)


def ridge_baseline(answers: pd.DataFrame, names: list[str]):
    """A linear model of the survey score on the same (numeric) features: what the boosted model must beat."""
    return make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(numeric(answers, names), answers["score"])


if __name__ == "__main__":
    main()
