"""Figures logged with every training run: SHAP summaries and the churn reliability curve.

Pure: each function returns matplotlib figures; `models.tracking` logs them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.artifact import TrainedModel
from models.training import Evaluation, model_matrix
from models.tree_shap import shap_values
from models.uncertainty import calibrated

SHAP_SAMPLE = 2000
SHOWN_FEATURES = 15


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def shap_figures(model: TrainedModel, rows: pd.DataFrame, prefix: str, seed: int) -> dict[str, object]:
    """Global importance (mean |SHAP|) and a beeswarm of each customer's SHAP values, coloured by the feature's value,
    for the most important features, on a sample of the training rows. The values are the exact TreeSHAP values
    scoring uses (equal to LightGBM's and shap.TreeExplainer's, tests check); the figures are plain matplotlib."""
    plt = pyplot()
    matrix = model_matrix(rows.sample(min(SHAP_SAMPLE, len(rows)), random_state=seed), model.feature_names)
    values = shap_values(model.booster, matrix).drop(columns="expected")
    top = values.abs().mean().sort_values(ascending=False).head(SHOWN_FEATURES)
    importance, axes = plt.subplots(figsize=(9, 7))
    axes.barh(top.index[::-1], top.to_numpy()[::-1], color="#4a6fa5")
    axes.set(
        xlabel="mean |SHAP value| (log-odds)" if prefix == "churn" else "mean |SHAP value| (score points)",
        title=f"{prefix}: feature importance",
    )
    beeswarm, axes = plt.subplots(figsize=(9, 7))
    jitter = np.random.default_rng(seed).uniform(-0.35, 0.35, len(matrix))
    for position, name in enumerate(top.index[::-1]):
        column = matrix[name]
        shade = (
            column.cat.codes.where(column.notna()) if isinstance(column.dtype, pd.CategoricalDtype) else column
        ).rank(pct=True)
        axes.scatter(
            values[name], position + jitter, c=shade.fillna(0.5), cmap="coolwarm", s=4, alpha=0.6, vmin=0, vmax=1
        )
    axes.set(
        yticks=range(len(top)),
        yticklabels=top.index[::-1],
        xlabel="SHAP value (effect on the model's output)",
        title=f"{prefix}: each customer's effects (red: high feature value)",
    )
    axes.axvline(0, color="grey", linewidth=0.8)
    for figure in (importance, beeswarm):
        figure.tight_layout()
    return {f"{prefix}_shap_importance.png": importance, f"{prefix}_shap_beeswarm.png": beeswarm}


def reliability_figure(churn: TrainedModel, evaluation: Evaluation) -> object:
    """Observed churn rate against predicted probability on the validation rows, raw and calibrated."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 6))
    truth, raw = evaluation.held_out["truth"].to_numpy(), evaluation.held_out["predicted"].to_numpy()
    for label, probabilities in (("LightGBM", raw), ("calibrated (Platt)", calibrated(raw, churn.calibration))):
        edges = np.unique(np.quantile(probabilities, np.linspace(0, 1, 11)))
        bins = np.clip(np.digitize(probabilities, edges[1:-1]), 0, len(edges) - 2)
        means = pd.DataFrame({"bin": bins, "p": probabilities, "y": truth}).groupby("bin").mean()
        axes.plot(means["p"], means["y"], marker="o", label=label)
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    axes.set(
        xlabel="predicted churn probability", ylabel="observed churn rate", title="Churn reliability (validation rows)"
    )
    axes.legend()
    figure.tight_layout()
    return figure


def training_figures(
    churn: TrainedModel,
    evaluation: Evaluation,
    satisfaction: TrainedModel | None,
    churn_rows: pd.DataFrame,
    satisfaction_rows: pd.DataFrame | None,
    seed: int,
) -> dict[str, object]:
    figures = {"churn_reliability.png": reliability_figure(churn, evaluation)} | shap_figures(
        churn, churn_rows, "churn", seed
    )
    if satisfaction is not None and satisfaction_rows is not None:
        figures |= shap_figures(satisfaction, satisfaction_rows, "satisfaction", seed)
    return figures
