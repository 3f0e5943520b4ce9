"""A trained model, whole: the LightGBM booster and everything needed to use it again, and nothing else.

`Recipe` is what the model was trained on and must be scored with: the resolved churn definition
(contract ends or lapses, per segment, and the horizon), the feature settings, the source tables
and the features it reads. `TrainedModel` adds the booster, the calibration and blend learned
beside it, satisfaction residuals, the drift profile and the held-out metrics. The registry stores
the booster as an MLflow LightGBM model (LightGBM's own text format, no pickle) and the rest as one JSON document
(`sidecar`), so a
loaded model is the same type a training run returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import lightgbm as lgb

from features.builders import FeatureSettings
from features.labels import ChurnDefinition
from features.registry import Feature, feature_catalogue
from features.schema import SurveyScale
from features.settings import Settings
from features.tables import Tables
from models.uncertainty import Calibration, Residuals

ModelKind = Literal["churn", "satisfaction"]


class Recipe(Settings):
    """How to rebuild a model's input; scoring refuses a source or config that contradicts it."""

    kind: ModelKind
    churn: ChurnDefinition
    features: FeatureSettings
    sources: tuple[str, ...]
    feature_names: tuple[str, ...]
    survey_scale: SurveyScale

    @property
    def catalogue(self) -> dict[str, Feature]:
        """The declarations of the features this model reads, for reasons and reports."""
        full = feature_catalogue(
            self.features.windows_days,
            self.churn.horizon_days,
            self.sources,
            self.features.customer_attributes,
            tuple(self.features.themes),
        )
        return {name: full[name] for name in self.feature_names}


class Blend(Settings):
    """For customers who churn by lapsing, the churn log-odds are (1 - weight) x LightGBM's + weight x the
    buying-rhythm model's (the logit of `feature`, BG/NBD's probability of no order in the horizon).

    `reference` is that prior's mean log-odds over the training rows: a customer's reasons credit the
    prior with how far their own prior sits from it.
    """

    feature: str
    weight: float
    reference: float


@dataclass(frozen=True)
class TrainedModel:
    booster: lgb.Booster
    recipe: Recipe
    metrics: dict[str, float]
    validation: str
    calibration: Calibration | None = None
    blend: Blend | None = None
    residuals: Residuals | None = None
    profile: dict = field(default_factory=dict)
    version: str = ""
    run_id: str = ""

    @property
    def feature_names(self) -> list[str]:
        return list(self.recipe.feature_names)

    def sidecar(self) -> dict:
        """Everything but the booster, as JSON."""
        return {
            "recipe": self.recipe.model_dump(mode="json"),
            "metrics": self.metrics,
            "validation": self.validation,
            "calibration": self.calibration.model_dump() if self.calibration else None,
            "blend": self.blend.model_dump() if self.blend else None,
            "residuals": self.residuals.model_dump() if self.residuals else None,
            "profile": self.profile,
        }

    @classmethod
    def from_sidecar(cls, booster: lgb.Booster, sidecar: dict, version: str, run_id: str) -> TrainedModel:
        return cls(
            booster=booster,
            recipe=Recipe.model_validate(sidecar["recipe"]),
            metrics=sidecar["metrics"],
            validation=sidecar["validation"],
            calibration=Calibration.model_validate(sidecar["calibration"]) if sidecar["calibration"] else None,
            blend=Blend.model_validate(sidecar["blend"]) if sidecar["blend"] else None,
            residuals=Residuals.model_validate(sidecar["residuals"]) if sidecar["residuals"] else None,
            profile=sidecar["profile"],
            version=version,
            run_id=run_id,
        )

    def registered(self, version: str, run_id: str) -> TrainedModel:
        return replace(self, version=version, run_id=run_id)


class ModelMismatch(ValueError):
    """The champion was trained for another setting or source than this run's: scoring it would silently mean something
    else."""

    def __init__(self, differences: list[str]):
        self.differences = differences
        super().__init__("\n".join(differences))


CHECKED_SETTINGS = {
    "churn": ("horizon_days", "lapse_segments", "max_inactive_days", "contract_ends", "lapse_events"),
    "features": ("windows_days", "status_final_after_days", "customer_attributes"),
}


def recipe_differences(recipe: Recipe, churn: ChurnDefinition, features: FeatureSettings, tables: Tables) -> list[str]:
    """What in this run's config or source contradicts the model, each naming the config key or table.

    Settings the config leaves to the source (contract_ends, lapse_events: null) are the model's to keep.
    """
    configured = {"churn": churn, "features": features}
    differences = []
    for section, keys in CHECKED_SETTINGS.items():
        for key in keys:
            wanted, trained = getattr(configured[section], key), getattr(getattr(recipe, section), key)
            if wanted is not None and wanted != trained:
                differences.append(
                    f"config {section}.{key} is {shown(wanted)}, but the {recipe.kind} model was trained with "
                    f"{shown(trained)}: retrain, or score with the training config."
                )
    for table in sorted(set(recipe.sources) | set(recipe.churn.lapse_events or ())):
        if getattr(tables, table) is None:
            differences.append(
                f"table {table} is missing, but the {recipe.kind} model reads it: give {table}, or retrain on this "
                "source."
            )
    if recipe.churn.contract_ends and tables.churn_events is None and tables.event_sources:
        differences.append(
            f"table churn_events is missing, but the {recipe.kind} model was trained with contract ends "
            f"({recipe.churn.describe()}): without it, "
            "customers who already left would be scored as current. Give churn_events (a header-only file if nobody "
            "has left)."
        )
    return differences


def recipe_warnings(recipe: Recipe, tables: Tables) -> list[str]:
    """What this source leaves the model to assume, said out loud."""
    if recipe.churn.contract_ends and tables.churn_events is None:
        return [
            f"churn_events is absent: the {recipe.kind} model counts contract ends as churn, so every customer listed "
            "is taken as still under contract."
        ]
    return []


def shown(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)
