"""Survey response bias: who answers depends on how they feel, so answers are reweighted.

A response model learns P(answers a survey within RESPONSE_WINDOW_DAYS | behaviour, satisfaction)
on the churn rows (every active customer at every cutoff). Behaviour alone cannot explain the bias:
answering depends on the very satisfaction the survey measures, and features see it only partly.
So the model also reads the customer's stated satisfaction: at a cutoff, their last answer before
it (when they have one, which is what identifies how answering varies with satisfaction); at an
answer, the score given. Each answer is then weighted by 1 / its response probability, so the
kinds of customers who rarely answer count for as many as they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from features.schema import SurveyScale, promoter_and_detractor_shares
from features.settings import Settings
from features.tables import Tables
from features.training_sets import TrainingSets
from models.artifact import Recipe, TrainedModel
from models.training import (
    BoosterSettings,
    Evaluation,
    ModelSettings,
    churn_classifier,
    feature_columns,
    fit_satisfaction,
    model_matrix,
)
from models.uncertainty import Residuals, nps, nps_probabilities


class SurveySettings(Settings):
    """The survey scale and whether to reweight answers against response bias."""

    scale: SurveyScale = Field("nps", description="nps (0-10) or csat (1-5): the scale of surveys.score.")
    correct_response_bias: bool = Field(
        True, description="Weight answers by 1 / P(answering | behaviour, stated score): the happy answer more often."
    )


RESPONSE_WINDOW_DAYS = 30
MIN_PROPENSITY = 0.02
PROPENSITY_ROWS = 100_000
PROPENSITY_MODEL = BoosterSettings(n_estimators=150, learning_rate=0.05, num_leaves=15, min_child_samples=100)


def answered_soon(churn_rows: pd.DataFrame, surveys: pd.DataFrame) -> np.ndarray:
    """1 where the customer answered a survey within RESPONSE_WINDOW_DAYS after the row's as_of."""
    as_of = churn_rows.index.get_level_values("as_of")
    customers = churn_rows.index.get_level_values("customer_id")
    keys = pd.DataFrame({"customer_id": customers, "as_of": as_of})
    answers = surveys[["customer_id", "answered_at"]].merge(keys.drop_duplicates(), on="customer_id")
    window = (answers["answered_at"] >= answers["as_of"]) & (
        answers["answered_at"] < answers["as_of"] + pd.Timedelta(days=RESPONSE_WINDOW_DAYS)
    )
    hit = pd.MultiIndex.from_frame(answers.loc[window, ["as_of", "customer_id"]])
    return pd.MultiIndex.from_arrays([as_of, customers]).isin(hit).astype(int)


def last_stated_score(rows: pd.DataFrame, surveys: pd.DataFrame) -> np.ndarray:
    """Each row's customer's last survey score strictly before the row's as_of (NaN if none yet)."""
    keys = (
        rows.index.to_frame(index=False)[["as_of", "customer_id"]]
        .reset_index(names="position")
        .sort_values("as_of", kind="stable")
    )
    answers = surveys[["customer_id", "answered_at", "score"]].sort_values("answered_at", kind="stable")
    matched = pd.merge_asof(
        keys, answers, left_on="as_of", right_on="answered_at", by="customer_id", allow_exact_matches=False
    )
    return matched.sort_values("position")["score"].to_numpy(dtype=float)


def response_probability_model(
    churn_rows: pd.DataFrame, names: list[str], surveys: pd.DataFrame, settings: ModelSettings
):
    """P(answering soon | behaviour, last stated score), fitted on the scored customers at every cutoff (a
    random PROPENSITY_ROWS of them: a share of a few percent is learned long before that)."""
    if len(churn_rows) > PROPENSITY_ROWS:
        churn_rows = churn_rows.iloc[
            np.sort(np.random.default_rng(settings.seed).choice(len(churn_rows), PROPENSITY_ROWS, replace=False))
        ]
    matrix = model_matrix(churn_rows, names).assign(**{STATED_SCORE: last_stated_score(churn_rows, surveys)})
    return churn_classifier(settings=PROPENSITY_MODEL, seed=settings.seed, threads=settings.threads).fit(
        matrix, answered_soon(churn_rows, surveys)
    )


STATED_SCORE = "stated_score"


def response_weights(
    churn_rows: pd.DataFrame, satisfaction_rows: pd.DataFrame, tables: Tables, settings: ModelSettings
) -> np.ndarray:
    """Inverse response-probability weights for the survey answers, normalised to mean 1."""
    names = [n for n in feature_columns(churn_rows) if n in satisfaction_rows.columns]
    model = response_probability_model(churn_rows, names, tables.surveys, settings)
    answers = model_matrix(satisfaction_rows, names).assign(
        **{STATED_SCORE: satisfaction_rows["score"].to_numpy(dtype=float)}
    )
    weights = 1 / np.clip(model.predict_proba(answers)[:, 1], MIN_PROPENSITY, 1)
    return weights / weights.mean()


def segment_nps(predicted: np.ndarray, residuals: Residuals, segments: pd.Series) -> pd.Series:
    """Inferred NPS per segment (and 'all') from each customer's category probabilities."""
    probabilities = nps_probabilities(predicted, residuals).set_index(segments.index)
    by_segment = {
        segment: nps(group) for segment, group in probabilities.groupby(segments.fillna("unknown").to_numpy())
    }
    return pd.Series({**by_segment, "all": nps(probabilities)})


def surveyed_nps(scores: pd.Series, segments: pd.Series) -> pd.Series:
    """NPS of the answers as given (biased toward whoever chose to answer)."""
    by_segment = {s: answered_nps(scores[segments == s]) for s in segments.dropna().unique()}
    return pd.Series({**by_segment, "all": answered_nps(scores)})


def answered_nps(scores: pd.Series) -> float:
    promoters, detractors = promoter_and_detractor_shares(scores)
    return 100 * (promoters - detractors)


def fit_satisfaction_corrected(
    rows: TrainingSets,
    tables: Tables,
    now: pd.DataFrame,
    recipe: Recipe,
    holdout_from: pd.Timestamp,
    settings: ModelSettings,
    survey: SurveySettings,
) -> tuple[tuple[TrainedModel, Evaluation] | None, dict[str, dict[str, float]]]:
    """The satisfaction model (reweighted for response bias when asked) and, on the NPS scale, segment NPS with and
    without it.

    `now` holds every scored customer's features at the scoring date: the population whose NPS is inferred.
    """
    uncorrected = fit_satisfaction(rows.satisfaction, recipe, holdout_from, settings)
    if uncorrected is None or (not survey.correct_response_bias and survey.scale != "nps"):
        return uncorrected, {}
    weights = response_weights(rows.churn, rows.satisfaction, tables, settings)
    corrected = fit_satisfaction(rows.satisfaction, recipe, holdout_from, settings, weights)
    chosen = corrected if survey.correct_response_bias else uncorrected
    if survey.scale != "nps":
        return chosen, {}
    segment_of = tables.customers.set_index("customer_id")["segment"] if "segment" in tables.customers else None
    segments = segment_of.reindex(now.index) if segment_of is not None else pd.Series("all", index=now.index)
    answers = rows.satisfaction
    answer_segments = (
        segment_of.reindex(answers.index.get_level_values("customer_id"))
        if segment_of is not None
        else pd.Series("all", index=answers.index)
    )
    report = {
        "surveyed": surveyed_nps(
            answers["score"].reset_index(drop=True), answer_segments.reset_index(drop=True)
        ).to_dict(),
        "inferred_uncorrected": segment_nps(
            predicted_scores(uncorrected[0], now), uncorrected[0].residuals, segments
        ).to_dict(),
        "inferred_corrected": segment_nps(
            predicted_scores(corrected[0], now), corrected[0].residuals, segments
        ).to_dict(),
    }
    return chosen, report


def predicted_scores(model: TrainedModel, features: pd.DataFrame) -> np.ndarray:
    return np.clip(model.booster.predict(model_matrix(features, model.feature_names)), 0, 10)
