"""Figures logged with every training run: SHAP summaries and the churn reliability curve.

Pure: each function returns matplotlib figures; `models.tracking` logs them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.artifact import TrainedModel
from models.training import Evaluation, model_matrix
from models.uncertainty import calibrated

SHAP_SAMPLE = 2000


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def shap_figures(model: TrainedModel, rows: pd.DataFrame, prefix: str, seed: int) -> dict[str, object]:
    """Global importance (mean |SHAP|) and beeswarm plots with `shap`, on a sample of the training rows."""
    import shap

    plt = pyplot()
    matrix = model_matrix(rows.sample(min(SHAP_SAMPLE, len(rows)), random_state=seed), model.feature_names)
    explanation = shap.TreeExplainer(model.estimator)(matrix)
    if explanation.values.ndim == 3:
        explanation = explanation[:, :, 1]
    figures = {}
    for kind, draw in (("importance", shap.plots.bar), ("beeswarm", shap.plots.beeswarm)):
        plt.figure()
        draw(explanation, max_display=15, show=False)
        figure = plt.gcf()
        figure.set_size_inches(9, 7)
        figure.tight_layout()
        figures[f"{prefix}_shap_{kind}.png"] = figure
    return figures


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
    axes.set(xlabel="predicted churn probability", ylabel="observed churn rate", title="Churn reliability (validation rows)")
    axes.legend()
    figure.tight_layout()
    return figure


def training_figures(churn: TrainedModel, evaluation: Evaluation, satisfaction: TrainedModel | None, churn_rows: pd.DataFrame, satisfaction_rows: pd.DataFrame | None, seed: int) -> dict[str, object]:
    figures = {"churn_reliability.png": reliability_figure(churn, evaluation)} | shap_figures(churn, churn_rows, "churn", seed)
    if satisfaction is not None and satisfaction_rows is not None:
        figures |= shap_figures(satisfaction, satisfaction_rows, "satisfaction", seed)
    return figures
