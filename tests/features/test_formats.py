"""Numbers in reasons are written exactly as Babel's CLDR formatting writes them, in both languages."""

from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from features.formats import LOCALES, Formats

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
