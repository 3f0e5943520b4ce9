"""The promotion gate: a new model becomes champion only if it beats the champion and every applicable baseline.

Pure data in, a decision with its reason out; `models.tracking` records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from features.settings import Settings
from models.artifact import TrainedModel
from models.baselines import applicable
from models.evaluation import churn_scores_report
from models.training import churn_log_odds


class GateSettings(Settings):
    """Higher-is-better metrics; the new model must exceed the champion by `min_improvement`."""

    churn_metric: Literal["roc_auc", "pr_auc", "top_decile_lift"] = Field(
        "roc_auc", description="Measured on the held-out validation rows."
    )
    satisfaction_metric: Literal["spearman"] = "spearman"
    min_improvement: float = Field(0.0, ge=0, description="The new model must beat the champion by at least this much.")
    must_beat_baselines: bool = Field(True, description="And beat every applicable churn baseline.")


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def gate_decision(
    metric: str, new: float, champion: float | None, baselines: dict[str, float], settings: GateSettings
) -> Decision:
    """Promote when `new` beats every baseline (if required) and the champion by the margin; say why either way."""
    if np.isnan(new):
        return Decision(False, f"{metric} could not be measured on the validation rows")
    failures = []
    if settings.must_beat_baselines:
        failures += [
            f"{metric} {new:.4f} does not beat baseline {name} ({value:.4f})"
            for name, value in baselines.items()
            if not new > value
        ]
    if champion is not None and not new >= champion + settings.min_improvement:
        failures.append(
            f"{metric} {new:.4f} is not at least {settings.min_improvement:.4f} above the champion's {champion:.4f}"
        )
    if failures:
        return Decision(False, "; ".join(failures))
    against = [f"champion {champion:.4f}"] if champion is not None else ["no champion yet"]
    against += [f"{name} {value:.4f}" for name, value in baselines.items()] if settings.must_beat_baselines else []
    return Decision(True, f"{metric} {new:.4f} beats {', '.join(against)}")


def champion_metric(
    champion_metrics: dict[str, float] | None, champion_on_rows: float | None, metric: str
) -> float | None:
    """The champion's score to beat: on the same validation rows when they are new to it, else its own held-out
    score."""
    if champion_on_rows is not None:
        return champion_on_rows
    if champion_metrics is None:
        return None
    return champion_metrics.get(metric)


@dataclass(frozen=True)
class ChampionStanding:
    """The current champion and what it scored when it was trained."""

    model: TrainedModel
    metrics: dict[str, float]
    last_training_cutoff: pd.Timestamp | None


def champion_on_validation_rows(
    standing: ChampionStanding | None, new: TrainedModel, rows: pd.DataFrame, valid: np.ndarray, metric: str
) -> float | None:
    """The champion's score on the new model's validation rows, when it never trained on them, means the same churn
    and can read their features: then both are judged on the same customers."""
    if standing is None or standing.last_training_cutoff is None or standing.model.recipe.churn != new.recipe.churn:
        return None
    validation = rows[valid]
    trained_on_them = validation.index.get_level_values("as_of").min() <= standing.last_training_cutoff
    if trained_on_them or not set(standing.model.feature_names) <= set(rows.columns):
        return None
    log_odds = churn_log_odds(standing.model, validation)
    return churn_scores_report(validation["churned"].to_numpy(), log_odds, seed=0, probabilities=False).get(metric)


def promotion_decisions(
    churn: TrainedModel,
    churn_rows: pd.DataFrame,
    valid: np.ndarray,
    baselines: dict[str, dict],
    satisfaction: TrainedModel | None,
    standings: dict[str, ChampionStanding | None],
    gate: GateSettings,
) -> dict[str, Decision]:
    """The gate's verdict per model (`churn`, `satisfaction`), against the current champions and, for churn, every
    applicable baseline."""
    metric = gate.churn_metric
    standing = standings.get("churn")
    reference = champion_metric(
        standing.metrics if standing else None,
        champion_on_validation_rows(standing, churn, churn_rows, valid, metric),
        metric,
    )
    baseline_scores = {name: m[metric] for name, m in applicable(baselines).items() if metric in m}
    decisions = {
        "churn": gate_decision(metric, churn.metrics.get(metric, float("nan")), reference, baseline_scores, gate)
    }
    if satisfaction is not None:
        standing = standings.get("satisfaction")
        reference = champion_metric(standing.metrics if standing else None, None, gate.satisfaction_metric)
        new = satisfaction.metrics.get(gate.satisfaction_metric, float("nan"))
        decisions["satisfaction"] = gate_decision(gate.satisfaction_metric, new, reference, {}, gate)
    return decisions
