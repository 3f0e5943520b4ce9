"""Any timestamp resolution trains and scores: a property of the whole path, not of one column.

One generated world is written with every time column at second, millisecond, microsecond and
nanosecond resolution, time-zone aware, as Parquet dates (date32) and as date-only CSV; each copy is
loaded, trained on (churn and satisfaction, with the survey-bias correction) and scored.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.builders import FeatureSettings
from features.labels import ChurnDefinition
from features.loaders import load_tables
from features.registry import churn_directions
from features.sentiment import LexiconScorer, with_sentiment
from features.synthetic import WorldSpec, generate_world
from features.training_sets import CutoffSchedule, build_training_set, churn_rows, labelled_cutoffs
from models.artifact import Recipe
from models.bias import SurveySettings, fit_satisfaction_corrected
from models.scoring import ScoringSettings, score_customers
from models.training import BoosterSettings, ModelSettings, feature_columns, fit_churn
from pipelines.cli import main

FAST = ModelSettings(
    churn=BoosterSettings(n_estimators=30, learning_rate=0.2),
    satisfaction=BoosterSettings(n_estimators=30, learning_rate=0.2),
)


@pytest.fixture(scope="module")
def world():
    return generate_world(
        WorldSpec(customers=500, seed=21, start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2025-03-31"))
    ).tables


def times(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]


def written(world: dict[str, pd.DataFrame], folder: Path, form: str) -> Path:
    folder.mkdir()
    for name, frame in world.items():
        columns = times(frame)
        if form == "date-only csv":
            frame.assign(**{c: frame[c].dt.strftime("%Y-%m-%d") for c in columns}).to_csv(
                folder / f"{name}.csv", index=False
            )
            continue
        if form in ("s", "ms", "us", "ns"):
            frame = frame.assign(**{c: frame[c].astype(f"datetime64[{form}]") for c in columns})
        elif form == "date32":
            frame = frame.assign(**{c: frame[c].dt.date.where(frame[c].notna(), None) for c in columns})
        elif form == "aware":
            frame = frame.assign(
                **{c: frame[c].dt.tz_localize("UTC").dt.tz_convert("Europe/Helsinki") for c in columns}
            )
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def trained_and_scored(folder: Path) -> pd.DataFrame:
    tables = with_sentiment(load_tables(folder, "nps"), LexiconScorer.shipped())
    definition = ChurnDefinition().resolved(tables)
    cutoffs = labelled_cutoffs(tables, CutoffSchedule(history_days=60), definition)
    rows = build_training_set(tables, cutoffs, definition, FeatureSettings())
    recipe = Recipe(
        kind="churn",
        churn=definition,
        features=FeatureSettings(),
        sources=tables.event_sources,
        feature_names=tuple(feature_columns(rows.churn)),
        survey_scale="nps",
    )
    churn, _ = fit_churn(rows.churn, recipe, FAST, churn_directions(recipe.catalogue))
    now = churn_rows(tables, tables.data_end, definition, FeatureSettings())
    satisfaction, _ = fit_satisfaction_corrected(
        rows, tables, now, recipe.model_copy(update={"kind": "satisfaction"}), cutoffs[-1], FAST, SurveySettings()
    )
    return score_customers(
        now, tables.data_end, churn, satisfaction[0], recipe.catalogue, ScoringSettings(), "en"
    ).predictions


@pytest.mark.parametrize("form", ["s", "ms", "us", "ns", "aware", "date32", "date-only csv"])
def test_every_timestamp_resolution_trains_and_scores(world, tmp_path, form):
    predictions = trained_and_scored(written(world, tmp_path / "world", form))
    assert len(predictions) > 300 and predictions["churn_probability"].between(0, 1).all()
    assert predictions["satisfaction_score"].notna().all() and np.isfinite(predictions["churn_probability"]).all()


def test_resolutions_that_keep_the_time_of_day_give_the_same_scores(world, tmp_path):
    scored = {form: trained_and_scored(written(world, tmp_path / form, form)) for form in ("us", "ns", "aware")}
    for form in ("ns", "aware"):
        pd.testing.assert_series_equal(scored[form]["churn_probability"], scored["us"]["churn_probability"])


@pytest.mark.slow
def test_the_cli_trains_and_scores_a_date_only_csv_world(world, tmp_path):
    folder = written(world, tmp_path / "world", "date-only csv")
    gate_open = tmp_path / "config.yaml"
    gate_open.write_text(
        "promotion: {must_beat_baselines: false}\n"
    )  # a 500-customer world need not beat recency to show its dates load
    arguments = ["--config", str(gate_open), "--data", str(folder), "--out", str(tmp_path / "work")]
    assert main(["train", *arguments]) == 0 and main(["score", *arguments]) == 0
    (predictions,) = (tmp_path / "work" / "predictions").glob("as_of=*/predictions.parquet")
    assert len(pd.read_parquet(predictions)) > 300
