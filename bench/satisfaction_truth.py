"""Satisfaction against the synthetic world's latent truth: what surveys cannot show.

    python bench/satisfaction_truth.py [--customers 10000] [--seeds 7 11 23 31 47]

For customers who never answered a survey: Spearman correlation of inferred satisfaction with the
latent truth. Per segment: NPS as surveyed, inferred, and inferred with response-bias correction,
each against the NPS a survey of every active customer would find. One world per seed, because
one world's figures move by a few NPS points with the draw. Writes
bench/results/satisfaction_truth_<customers>.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from features.builders import FeatureSettings, build_features
from features.labels import ChurnDefinition, active_customers
from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.synthetic import WorldSpec, true_nps_probabilities
from features.training_sets import CutoffSchedule, build_training_set, labelled_cutoffs
from models.bias import SurveySettings, fit_satisfaction_corrected, predicted_scores
from models.training import BoosterSettings, fit_satisfaction
from pipelines.writers import write_world

RESULTS = Path(__file__).resolve().parent / "results"
DEFINITION = ChurnDefinition(90, ("consumer",))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
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
            "overall_nps_error": {e: float(np.mean([w["absolute_nps_error"][e]["all"] for w in worlds])) for e in estimates},
            "spearman_never_answered": {m: float(np.mean([w["spearman_with_latent_truth_never_answered"][m] for w in worlds])) for m in ("uncorrected", "corrected")},
        },
        "worlds_where_correction_lowers_segment_error": int(sum(c < u for c, u in zip(segment_error["inferred_corrected"], segment_error["inferred_uncorrected"]))),
        "worlds": worlds,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"satisfaction_truth_{arguments.customers}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "worlds"}, indent=2))


def one_world(customers: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        world = Path(folder) / "world"
        write_world(WorldSpec(customers, seed), world)
        truth = pd.read_parquet(world / "truth" / "satisfaction.parquet")
        tables = with_sentiment(load_tables(world, "nps"), LexiconScorer.shipped())
    settings, booster = FeatureSettings(), BoosterSettings()
    cutoffs = labelled_cutoffs(tables, CutoffSchedule(), DEFINITION)
    rows = build_training_set(tables, cutoffs, DEFINITION, settings)
    now = build_features(tables, tables.data_end, settings).reindex(active_customers(tables, tables.data_end, DEFINITION))
    corrected, nps_table = fit_satisfaction_corrected(rows, tables, now, cutoffs[-1], booster, 42, SurveySettings())
    uncorrected = fit_satisfaction(rows.satisfaction, cutoffs[-1], booster, 42)

    latest = truth[truth["date"] == truth["date"].max()].set_index("customer_id")["satisfaction"].reindex(now.index)
    never_answered = ~now.index.isin(tables.surveys["customer_id"]) & latest.notna().to_numpy()
    spearman = {
        name: float(spearmanr(predicted_scores(model, now)[never_answered], latest[never_answered]).statistic)
        for name, model in (("uncorrected", uncorrected), ("corrected", corrected))
    }
    promoter, detractor = true_nps_probabilities(latest.to_numpy())
    segments = tables.customers.set_index("customer_id")["segment"].reindex(now.index)
    truth_frame = pd.DataFrame({"promoter": promoter, "detractor": detractor, "segment": segments.to_numpy()}).dropna()
    true_nps = {s: float(100 * (g["promoter"].mean() - g["detractor"].mean())) for s, g in truth_frame.groupby("segment")}
    true_nps["all"] = float(100 * (truth_frame["promoter"].mean() - truth_frame["detractor"].mean()))
    errors = {
        estimate: {s: abs(nps_table[estimate][s] - true_nps[s]) for s in true_nps if s in nps_table[estimate]}
        for estimate in ("surveyed", "inferred_uncorrected", "inferred_corrected")
    }
    return {
        "seed": seed,
        "never_answered_customers": int(never_answered.sum()),
        "spearman_with_latent_truth_never_answered": spearman,
        "true_nps": true_nps,
        "nps": nps_table,
        "absolute_nps_error": errors,
        "mean_absolute_nps_error_over_segments": {k: float(np.mean([v for s, v in e.items() if s != "all"])) for k, e in errors.items()},
    }


if __name__ == "__main__":
    main()
