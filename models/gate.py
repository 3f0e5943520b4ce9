"""The promotion gate: a new model becomes champion only if it beats the champion and every baseline.

Pure data in, a decision with its reason out; `models.tracking` records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from features.settings import Settings


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
    """The champion's score to beat: on the same validation rows when they are new to it, else its own held-out score."""
    if champion_on_rows is not None:
        return champion_on_rows
    if champion_metrics is None:
        return None
    return champion_metrics.get(metric)
