"""The DuckDB feature engine computes exactly what the pandas builders it replaced computed.

`reference_builders.py` is that pandas implementation, kept as the oracle: generated worlds of two
shapes (every optional column, and none of them), at several dates, must give the same features,
given the same BG/NBD fit of the base (fitting it is `test_btyd.py`'s business).
"""

from dataclasses import replace

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from features import builders
from features.btyd import rhythm_anchor
from features.builders import FeatureSettings, base_rhythms, build_features, request_features
from features.contract import validated_tables
from features.sentiment import LexiconScorer, with_sentiment
from features.synthetic import WorldSpec, generate_world
from tests.features import reference_builders

OPTIONAL = {
    "orders": ["status", "promised_at", "delivered_at", "discount", "channel"],
    "activities": ["direction", "resolved_at", "value"],
    "mentions": ["channel", "lang"],
}


@pytest.fixture(autouse=True)
def dates_aggregated_alone_at_any_size(monkeypatch):
    """These worlds are small: a date asked for the whole base gets its own pass here as it would at scale."""
    monkeypatch.setattr(builders, "DATE_PASS_MINIMUM", 1)


@pytest.fixture(scope="module")
def worlds():
    full = with_sentiment(
        validated_tables(generate_world(WorldSpec(customers=900, seed=11)).tables, "nps"), LexiconScorer.shipped()
    )
    raw = generate_world(WorldSpec(customers=700, seed=12)).tables
    bare = validated_tables(
        {name: frame.drop(columns=[c for c in OPTIONAL.get(name, []) if c in frame]) for name, frame in raw.items()},
        "nps",
    )
    return {"every optional column": full, "no optional column": bare}


@pytest.mark.parametrize("shape", ["every optional column", "no optional column"])
@pytest.mark.parametrize("as_of", ["2024-03-15 09:30", "2024-11-01", "2025-06-17", "2025-12-30"])
def test_features_equal_the_pandas_reference(worlds, shape, as_of):
    tables, when = worlds[shape], pd.Timestamp(as_of).as_unit("us")
    settings = FeatureSettings(windows_days=(14, 60, 365), status_final_after_days=20, customer_attributes=("region",))
    rhythm = base_rhythms(tables, [when])[rhythm_anchor(when)]
    ours = build_features(tables, when, settings, 90, rhythm)
    theirs = reference_builders.build_features(tables, when, settings, 90, rhythm)
    assert list(ours.columns) == list(theirs.columns) and len(ours) > 100
    pdt.assert_frame_equal(ours, theirs, check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-12)


def test_many_dates_in_one_pass_equal_one_date_at_a_time(worlds):
    tables = worlds["every optional column"]
    dates = [pd.Timestamp(d).as_unit("us") for d in ("2024-08-01", "2025-02-01", "2025-02-14")]
    requests = pd.concat(
        [
            pd.DataFrame(
                {"customer_id": tables.customers["customer_id"][tables.customers["signup_date"] < d], "as_of": d}
            )
            for d in dates
        ],
        ignore_index=True,
    )
    together = request_features(tables, requests, FeatureSettings(), 90, base_rhythms(tables, dates))
    for date in dates:
        alone = build_features(tables, date, FeatureSettings(), 90)
        picked = together[(requests["as_of"] == date).to_numpy()].set_axis(alone.index)
        pdt.assert_frame_equal(picked, alone)


def test_requests_joined_on_many_dates_equal_each_date_aggregated_alone(worlds):
    """Few requests on each of many days (survey answers) are joined to their customers' events; a date asked for
    the whole base is aggregated over every customer at once (`Pass`). Both must give the same features."""
    tables = worlds["every optional column"]
    settings = FeatureSettings(themes={"billing": ("invoice", "charge", "lasku")}, customer_attributes=("region",))
    dates = [pd.Timestamp("2024-09-03 14:00").as_unit("us") + pd.Timedelta(days=37 * k) for k in range(12)]
    generator = np.random.default_rng(5)
    requests = pd.concat(
        [
            pd.DataFrame({"customer_id": generator.choice(ids, size=9), "as_of": date})
            for date in dates
            if len(ids := tables.customers["customer_id"][tables.customers["signup_date"] < date].to_numpy())
        ],
        ignore_index=True,
    )
    rhythms = base_rhythms(tables, dates)
    joined = request_features(tables, requests, settings, 90, rhythms)
    for date in dates:
        asked = (requests["as_of"] == date).to_numpy()
        alone = build_features(tables, date, settings, 90, rhythms[rhythm_anchor(date)])
        pdt.assert_frame_equal(joined[asked], alone.loc[requests["customer_id"][asked]].set_axis(joined.index[asked]))


def test_reruns_give_identical_bits(worlds):
    tables, when = worlds["every optional column"], pd.Timestamp("2025-06-01").as_unit("us")
    first, second = (build_features(tables, when, FeatureSettings(), 90) for _ in range(2))
    assert first.equals(second) and np.isfinite(first["spend_365d"]).all()


def test_requests_in_several_passes_equal_one_pass(worlds, monkeypatch):
    """Passes split the requests by position; a customer attribute is typed by its whole column, not by the pass,
    so a pass whose rows all look numeric still gets text."""
    tables = worlds["every optional column"]
    mixed = tables.customers["customer_id"].where(tables.customers.index == tables.customers.index[0], "7")
    tables = replace(tables, customers=tables.customers.assign(code=mixed))
    dates = [pd.Timestamp(d).as_unit("us") for d in ("2024-08-01", "2025-02-14")]
    requests = pd.concat(
        [pd.DataFrame({"customer_id": tables.customers["customer_id"], "as_of": d}) for d in dates], ignore_index=True
    ).set_axis(pd.RangeIndex(10, 10 + 2 * len(tables.customers)))
    settings, rhythms = FeatureSettings(customer_attributes=("code",)), base_rhythms(tables, dates)
    whole = request_features(tables, requests, settings, 90, rhythms)
    monkeypatch.setattr(builders, "REQUESTS_PER_PASS", 97)
    passes = request_features(tables, requests, settings, 90, rhythms)
    pdt.assert_frame_equal(passes, whole)
    assert whole["code"].dtype == "str" and whole.index.equals(requests.index)


def test_each_feature_built_alone_equals_the_whole_build(worlds):
    """A build of named features computes only the aggregates they are made from; a dependency left out would
    leave its feature missing or wrong here."""
    tables, when = worlds["every optional column"], pd.Timestamp("2025-06-17").as_unit("us")
    settings = FeatureSettings(themes={"billing": ("invoice", "charge", "lasku")}, customer_attributes=("region",))
    whole = build_features(tables, when, settings, 90)
    assert whole.notna().mean().gt(0.01).all(), "every feature should have values to compare"
    for name in whole.columns:
        alone = build_features(tables, when, settings, 90, only=[name])
        assert list(alone.columns) == [name]
        pdt.assert_series_equal(alone[name], whole[name], obj=name)


def test_a_build_of_unknown_features_names_them(worlds):
    with pytest.raises(ValueError, match="no_such_feature"):
        build_features(
            worlds["every optional column"],
            pd.Timestamp("2025-06-17"),
            FeatureSettings(),
            90,
            only=["orders_30d", "no_such_feature"],
        )


def test_texts_are_themed_only_for_theme_counts(worlds, monkeypatch):
    """Lemmatising texts is the slowest step of a build: none without themes, nor for a build of other features."""
    monkeypatch.setattr(builders, "themed_texts", lambda *args: pytest.fail("texts were themed"))
    tables, when = worlds["every optional column"], pd.Timestamp("2025-06-17")
    build_features(tables, when, FeatureSettings(), 90)
    built = build_features(tables, when, FeatureSettings(themes={"billing": ("invoice",)}), 90, only=["orders_30d"])
    assert built["orders_30d"].sum() > 0


@pytest.mark.parametrize("as_of", ["2024-11-01", "2025-06-17"])
def test_a_partition_with_the_brands_mood_equals_the_whole_build_and_without_it_stops(worlds, as_of):
    tables, when = worlds["every optional column"], pd.Timestamp(as_of).as_unit("us")
    rhythm = base_rhythms(tables, [when])[rhythm_anchor(when)]
    whole = build_features(tables, when, FeatureSettings(), 90, rhythm)
    brand = builders.brand_moods(tables, [when], FeatureSettings())
    assert brand.notna().all().all()
    for part in tables.partitions(3):
        alone = build_features(part, when, FeatureSettings(), 90, rhythm, brand=brand)
        pdt.assert_frame_equal(alone, whole.loc[alone.index])
        with pytest.raises(ValueError, match="brand_moods"):
            build_features(part, when, FeatureSettings(), 90, rhythm)
    with pytest.raises(ValueError, match="brand_moods"):
        build_features(part, when + pd.Timedelta(days=1), FeatureSettings(), 90, rhythm, brand=brand)
    before_any = builders.brand_moods(tables, [tables.mentions["posted_at"].min()], FeatureSettings())
    assert len(before_any) == 1 and before_any.isna().all().all()
