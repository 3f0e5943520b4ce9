"""In process, customers are scored a slice at a time; the result equals scoring them all at once."""

import pandas.testing as pdt
import pytest

from features.loaders import load_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.training_sets import churn_rows
from models.scoring import score_customers
from models.tracking.registry import CHURN_MODEL, SATISFACTION_MODEL, load_champion
from pipelines.config import load_config
from pipelines.executors import InProcess

pytestmark = pytest.mark.slow


def test_scoring_in_slices_equals_scoring_everyone_at_once(demo_run, monkeypatch):
    root = demo_run[0]
    tables = with_sentiment(load_tables(root / "world", "nps"), LexiconScorer.shipped())
    churn, satisfaction = load_champion(root / "work", CHURN_MODEL), load_champion(root / "work", SATISFACTION_MODEL)
    rows = churn_rows(tables, tables.data_end, churn.recipe.churn, churn.recipe.features)
    scoring = load_config(root / "config.yaml").scoring
    arguments = (tables.data_end, churn, satisfaction, churn.recipe.catalogue, scoring, "en")
    monkeypatch.setattr("pipelines.executors.SCORING_SLICE", len(rows) // 3 + 1)
    single, sliced = score_customers(rows, *arguments), InProcess().scored(rows, *arguments)
    pdt.assert_frame_equal(sliced.predictions, single.predictions)
    pdt.assert_frame_equal(sliced.pain_points, single.pain_points, check_exact=False, rtol=1e-9)
    assert (sliced.customer_value == single.customer_value).all() and sliced.value_measure == single.value_measure
