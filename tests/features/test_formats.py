"""Numbers in reasons are written exactly as Babel's CLDR formatting writes them, in both languages."""

import numpy as np
from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from features.formats import LOCALES, Formats
from features.registry import feature_catalogue

FORMATS = {language: Formats(language) for language in LOCALES}


@given(
    value=st.one_of(
        st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.sampled_from([2.675, 0.125, -0.04, 0.5, 1.5, 2.5, -2.5, 1234.5, 0.0, -0.0]),
    ),
    digits=st.integers(min_value=0, max_value=3),
    grouped=st.booleans(),
    language=st.sampled_from(sorted(LOCALES)),
)
def test_numbers_match_babel(value, digits, grouped, language):
    formats = FORMATS[language]
    pattern = ("#,##0" if grouped else "0") + ("." + "0" * digits if digits else "")
    assert formats.number(value, digits, grouped) == format_decimal(value, format=pattern, locale=formats.locale)


def test_finnish_writes_no_break_space_groups_and_a_decimal_comma():
    assert FORMATS["fi"].number(1234567.25, 1) == "1\xa0234\xa0567,2"
    assert FORMATS["en"].number(1234567.25, 1) == "1,234,567.2"
    assert FORMATS["en"].number(float("inf")) == "∞"


@given(
    values=st.lists(
        st.one_of(
            st.floats(min_value=-1e16, max_value=1e16),
            st.sampled_from([2.675, 0.125, -0.04, 0.5, 1.5, -2.5, 0.0, -0.0, 0.05, -0.15, float("nan"), float("-inf")]),
        ),
        max_size=30,
    ),
    digits=st.integers(min_value=0, max_value=3),
    grouped=st.booleans(),
    language=st.sampled_from(sorted(LOCALES)),
)
def test_many_numbers_at_once_read_as_each_alone(values, digits, grouped, language):
    formats = FORMATS[language]
    many = formats.numbers(np.array(values, dtype=float), digits, grouped)
    assert many == [formats.number(value, digits, grouped) for value in values]


@given(
    values=st.lists(st.one_of(st.none(), st.floats(min_value=-1e7, max_value=1e7)), max_size=20),
    language=st.sampled_from(sorted(LOCALES)),
)
def test_every_reason_template_fills_many_values_as_one_at_a_time(values, language):
    catalogue = feature_catalogue((30, 90), 90, ("orders", "activities", "mentions"), (), ("billing",))
    column = np.array(values, dtype=object)
    for feature in catalogue.values():
        if not feature.categorical:
            assert feature.reason_texts(column, language) == [feature.reason_text(v, language) for v in values]


@given(
    shares=st.lists(
        st.one_of(
            st.floats(min_value=-2, max_value=2),
            st.sampled_from([0.295, 0.285, 0.125, 0.005, 0.0, -0.0, 1.0, -0.5, float("nan")]),
        ),
        max_size=30,
    ),
    digits=st.integers(min_value=0, max_value=2),
    language=st.sampled_from(sorted(LOCALES)),
)
def test_many_percents_at_once_read_as_each_alone(shares, digits, language):
    formats = FORMATS[language]
    assert formats.percents(np.array(shares, dtype=float), digits) == [formats.percent(s, digits) for s in shares]
