"""After scoring: how earlier predictions fared, how NPS compares with surveys, and what moved since the last run.

Pure functions over prediction frames and labels; `pipelines` reads the files and logs the results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.schema import promoter_and_detractor_shares
from models.evaluation import churn_scores_report, satisfaction_report
from models.uncertainty import nps, nps_probabilities

Z_95 = 1.96


class NotYetKnown(LookupError):
    """What customers did after a scoring date is not in the data yet (or that date was never scored)."""


def realised_performance(predictions: pd.DataFrame, churned: pd.Series, answers: pd.DataFrame, seed: int) -> dict:
    """Scored customers against what they then did: churn metrics, satisfaction error on surveys answered
    since, and churn among high-risk customers acted on (treated) against the untouched control group."""
    scored = predictions.set_index("customer_id")
    labels = churned.reindex(scored.index)
    known = labels.notna().to_numpy()
    result = {"customers": int(known.sum())}
    result["churn"] = churn_scores_report(
        labels[known].to_numpy(dtype=int), scored["churn_probability"].to_numpy()[known], seed
    )
    surveyed = answers.merge(scored[["satisfaction_score"]].dropna(), left_on="customer_id", right_index=True)
    if len(surveyed) >= 10:
        result["satisfaction"] = satisfaction_report(
            surveyed["score"].to_numpy(), surveyed["satisfaction_score"].to_numpy(), seed
        ) | {"answers": len(surveyed)}
    high = (scored["churn_risk"] == "high").to_numpy() & known
    for group, members in (
        ("treated", high & ~scored["control_group"].to_numpy()),
        ("control", high & scored["control_group"].to_numpy()),
    ):
        result[f"high_risk_{group}"] = {
            "customers": int(members.sum()),
            "churn_rate": float(labels[members].mean()) if members.any() else None,
        }
    return result


def performance_alert(realised: dict, validation_auc: float | None, max_drop: float) -> str | None:
    """A sentence when realised churn AUC fell more than `max_drop` below the model's validation AUC."""
    auc = realised["churn"].get("roc_auc")
    if auc is None or validation_auc is None or validation_auc - auc <= max_drop:
        return None
    drop = validation_auc - auc
    return f"realised churn ROC AUC {auc:.3f} is {drop:.3f} below the model's validation AUC {validation_auc:.3f}"


def surveyed_nps_interval(scores: pd.Series) -> dict:
    """NPS of the answers with a 95 % normal-approximation interval (NPS is a difference of two shares)."""
    promoter, detractor = promoter_and_detractor_shares(scores)
    value = promoter - detractor
    half = Z_95 * np.sqrt(max(promoter + detractor - value**2, 0.0) / len(scores))
    return {
        "surveyed": 100 * value,
        "surveyed_low": 100 * (value - half),
        "surveyed_high": 100 * (value + half),
        "answers": len(scores),
    }


def nps_table(
    satisfaction: pd.Series, uncertainty: dict, segments: pd.Series, recent_answers: pd.DataFrame
) -> pd.DataFrame:
    """Per segment and overall: inferred NPS of every scored customer beside surveyed NPS of recent answers."""
    probabilities = nps_probabilities(satisfaction.to_numpy(dtype=float), uncertainty).set_index(satisfaction.index)
    answer_segments = segments.reindex(recent_answers["customer_id"]).to_numpy()
    rows = []
    for segment in [*sorted(segments.dropna().unique()), "all"]:
        members = np.ones(len(segments), bool) if segment == "all" else (segments == segment).to_numpy()
        answered = recent_answers["score"][
            np.ones(len(recent_answers), bool) if segment == "all" else answer_segments == segment
        ]
        surveyed = surveyed_nps_interval(answered) if len(answered) else {"answers": 0}
        rows.append(
            {"segment": segment, "customers": int(members.sum()), "inferred": nps(probabilities[members])} | surveyed
        )
    return pd.DataFrame(rows)


def changes_since(previous: pd.DataFrame, current: pd.DataFrame) -> dict:
    """What moved between two scoring runs: mean churn probability, the high-risk group, and who joined it."""
    before = previous.set_index("customer_id")
    now = current.set_index("customer_id")
    both = now.index.intersection(before.index)
    was_high = before["churn_risk"].reindex(both) == "high"
    is_high = now["churn_risk"].reindex(both) == "high"
    return {
        "previous_as_of": str(pd.Timestamp(previous["as_of"].iloc[0]).date()),
        "mean_churn_change": float(now["churn_probability"].mean() - before["churn_probability"].mean()),
        "high_risk_change": int((now["churn_risk"] == "high").sum() - (before["churn_risk"] == "high").sum()),
        "newly_high_risk": int((is_high & ~was_high).sum()),
        "no_longer_high_risk": int((~is_high & was_high).sum()),
        "new_customers": int(len(now.index.difference(before.index))),
        "customers_gone": int(len(before.index.difference(now.index))),
    }
