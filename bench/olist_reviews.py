"""Bad reviews from what was known at delivery (Olist classified reviews), with the pipeline's own satisfaction model.

    python bench/olist_reviews.py [--source ../shared/data/olist-classified-reviews]

A bad review is a score of 1 or 2. The adapter maps each order to the input contract (the review is
a CSAT survey, what was known at purchase becomes customer attributes, review text is unused);
features are built as of the start of the review's day (a parcel still on its way then counts as
not delivered: 11.5 % of reviews come before delivery). Time-ordered split: the last 25 % of
reviews by date are held out. Compared: the pipeline's LightGBM satisfaction model (its predicted
score, negated), a LightGBM bad-review classifier on the same features, and logistic regression on
delay features only. Writes bench/results/olist_reviews.json and .md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd
from adapters import OLIST_ATTRIBUTES, olist_classified_reviews, write_tables
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from features.builders import FeatureSettings, base_rhythms, request_features
from features.labels import survey_answers
from features.loaders import load_tables
from models.evaluation import churn_scores_report
from models.training import BoosterSettings, churn_classifier, feature_columns, model_matrix, satisfaction_regressor

RESULTS = Path(__file__).resolve().parent / "results"
SMALL_DATA = BoosterSettings(n_estimators=300, learning_rate=0.03, num_leaves=15, min_child_samples=30)
HORIZON_DAYS = 90  # the BG/NBD expectations' horizon; each Olist customer has one order, so they stay empty


def delay_features(rows: pd.DataFrame) -> list[str]:
    """What the delivery's timing shows: lateness, time since purchase, the promised delivery time."""
    return [
        c
        for c in rows.columns
        if c.startswith(("late_", "mean_days_late", "days_since_last_order")) or c == "estimated_delivery_days"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data" / "olist-classified-reviews",
    )
    parser.add_argument("--seed", type=int, default=42)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tables = load_tables(write_tables(olist_classified_reviews(arguments.source), Path(folder)), "csat")
    settings = FeatureSettings(customer_attributes=OLIST_ATTRIBUTES)
    answers = survey_answers(tables)
    features = request_features(
        tables, answers[["customer_id", "as_of"]], settings, HORIZON_DAYS, base_rhythms(tables, list(answers["as_of"]))
    )
    rows = pd.concat([answers[["answered_at", "score"]], features], axis=1).sort_values("answered_at", kind="stable")
    holdout_from = rows["answered_at"].quantile(0.75)
    held_out = (rows["answered_at"] >= holdout_from).to_numpy()
    bad = (rows["score"] <= 2).to_numpy().astype(int)

    names = feature_columns(rows)
    matrix = model_matrix(rows, names)
    regressor = satisfaction_regressor(settings=SMALL_DATA, seed=arguments.seed).fit(
        matrix[~held_out], rows["score"].to_numpy()[~held_out]
    )
    classifier = churn_classifier(settings=SMALL_DATA, seed=arguments.seed).fit(matrix[~held_out], bad[~held_out])
    delays = delay_features(rows)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        rows.loc[~held_out, delays].fillna(0), bad[~held_out]
    )

    truth = bad[held_out]
    scores = {
        "lightgbm_satisfaction_model": -regressor.predict(matrix[held_out]),
        "lightgbm_bad_review_classifier": classifier.predict_proba(matrix[held_out])[:, 1],
        "logistic_regression_delay_features": logistic.predict_proba(rows.loc[held_out, delays].fillna(0))[:, 1],
    }
    report = {
        name: {k: round(v, 4) for k, v in churn_scores_report(truth, s, arguments.seed, probabilities=False).items()}
        for name, s in scores.items()
    }
    result = {
        "dataset": "Olist classified reviews",
        "target": "review score <= 2",
        "reviews": len(rows),
        "held_out_reviews": int(held_out.sum()),
        "held_out_from": str(holdout_from.date()),
        "bad_review_rate_held_out": round(float(truth.mean()), 4),
        "delay_features": delays,
        "models": report,
    }
    lines = ["| model | ROC AUC (95 % CI) | top-decile lift |", "|---|---|---|"]
    lines += [
        f"| {name} | {m['roc_auc']:.3f} ({m['roc_auc_low']:.3f}–{m['roc_auc_high']:.3f}) | {m['top_decile_lift']:.2f} |"
        for name, m in report.items()
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "olist_reviews.json").write_text(json.dumps(result, indent=2))
    (RESULTS / "olist_reviews.md").write_text("\n".join(lines) + "\n")
    print(
        f"{len(rows):,} reviews, {int(held_out.sum()):,} held out from {holdout_from.date()} (bad-review rate "
        f"{truth.mean():.1%}):"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
