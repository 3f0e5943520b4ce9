"""What several benchmarks do the way the train flow does it: resolve the churn definition, build the training
rows over the labelled cutoffs, and fit the churn model, with the pipeline's own functions."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.builders import FeatureSettings
from features.labels import ChurnDefinition
from features.registry import churn_directions
from features.tables import Tables
from features.training_sets import CutoffSchedule, TrainingSets, build_training_set, labelled_cutoffs
from models.artifact import Recipe, TrainedModel
from models.training import Evaluation, ModelSettings, feature_columns, fit_churn


@dataclass(frozen=True)
class Training:
    definition: ChurnDefinition
    cutoffs: list[pd.Timestamp]
    rows: TrainingSets
    recipe: Recipe


def training(
    tables: Tables,
    churn: ChurnDefinition = ChurnDefinition(),
    schedule: CutoffSchedule = CutoffSchedule(),
    settings: FeatureSettings = FeatureSettings(),
    latest: int | None = None,
) -> Training:
    """Training rows as `surveyless train` builds them (the `latest` labelled cutoffs only, when given)."""
    definition = churn.resolved(tables)
    cutoffs = labelled_cutoffs(tables, schedule, definition)[-(latest or 0) :]
    rows = build_training_set(tables, cutoffs, definition, settings)
    recipe = Recipe(
        kind="churn",
        churn=definition,
        features=settings,
        sources=tables.event_sources,
        feature_names=tuple(feature_columns(rows.churn)),
        survey_scale="nps",
    )
    return Training(definition, cutoffs, rows, recipe)


def churn_model(trained: Training, settings: ModelSettings = ModelSettings()) -> tuple[TrainedModel, Evaluation]:
    return fit_churn(trained.rows.churn, trained.recipe, settings, churn_directions(trained.recipe.catalogue))
