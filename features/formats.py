"""Numbers, shares, amounts and dates as a reader of each language writes them (Babel's CLDR data).

Reasons, the report and the CLI summary format through here, so "13 435" and "0,5" in Finnish and "13,435" and
"0.5" in English come from one place.
"""

from __future__ import annotations

import functools
import math
import string
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

LOCALES = {"en": "en_GB", "fi": "fi_FI"}


class Formats:
    def __init__(self, language: str, currency: str = "EUR"):
        self.locale = Locale.parse(LOCALES[language])
        self.currency = currency
        symbols = self.locale.number_symbols["latn"]
        self.separators = str.maketrans({",": symbols["group"], ".": symbols["decimal"]})

    def number(self, value: float, digits: int = 0, grouped: bool = True) -> str:
        """What Babel's format_decimal writes (the value's shortest decimal form rounded half to even, the locale's
        separators), in Python's decimal formatting: scoring writes a million reasons, and Babel's pattern engine
        took 30 µs a number."""
        if not math.isfinite(value):
            pattern = ("#,##0" if grouped else "0") + ("." + "0" * digits if digits else "")
            return format_decimal(value, format=pattern, locale=self.locale)
        return self.decimal(Decimal(str(value)), digits, grouped)

    def decimal(self, exact: Decimal, digits: int, grouped: bool) -> str:
        rounded = exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
        return f"{rounded:{',' if grouped else ''}.{digits}f}".translate(self.separators)

    def numbers(self, values: np.ndarray, digits: int = 0, grouped: bool = True) -> list[str]:
        """`number` of each value. Values clear of a rounding tie are rounded by numpy and written by Python's
        formatting, the same digits at a tenth of the cost; the few within a hair of a tie (where the shortest
        decimal form and the binary value may round apart), and the huge and the infinite, go through `number`.
        Each distinct rounded value is written once: a million reasons' points and counts repeat a few thousand."""
        scaled = np.abs(values) * 10.0**digits
        with np.errstate(invalid="ignore"):
            exact = ~(scaled < 1e15) | (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6)
        spec = f"{',' if grouped else ''}.{digits}f"
        rounded = np.round(np.asarray(values, dtype=float), digits)
        bits, position = np.unique(rounded.view(np.int64), return_inverse=True)  # bits: -0.0 stays apart from 0.0
        written = [format(value, spec).translate(self.separators) for value in bits.view(np.float64).tolist()]
        texts = np.array(written, dtype=object)[position.reshape(-1)]
        for place in np.flatnonzero(exact):
            texts[place] = self.number(float(values[place]), digits, grouped)
        return texts.tolist()

    def percents(self, shares: np.ndarray, digits: int = 1) -> list[str]:
        """`percent` of each share: the percentage between the locale's positive prefix and suffix, written by
        `numbers`, or for the many a hair from a rounding tie (an eighth is 12.5 %) from the share's shortest decimal
        form times 100, as Babel does; negative and missing shares go through `percent`."""
        pattern = self.locale.percent_formats[None]
        scaled = shares * 100.0
        with np.errstate(invalid="ignore"):
            near_tie = np.abs(scaled * 10.0**digits % 1 - 0.5) < 1e-6
        texts = self.numbers(scaled, digits)
        for position in np.flatnonzero(near_tie):
            texts[position] = self.decimal(Decimal(str(float(shares[position]))).scaleb(2), digits, grouped=True)
        texts = [pattern.prefix[0] + text + pattern.suffix[0] for text in texts]
        for position in np.flatnonzero(~(scaled >= 0)):
            texts[position] = self.percent(float(shares[position]), digits)
        return texts

    def signed(self, value: float, digits: int = 0) -> str:
        return ("+" if value > 0 else "") + self.number(value, digits)

    def percent(self, share: float, digits: int = 1) -> str:
        pattern = self.locale.percent_formats[None].pattern.replace(
            "0", "0" + ("." + "0" * digits if digits else ""), 1
        )
        return format_percent(share, format=pattern, locale=self.locale)

    def money(self, amount: float) -> str:
        """Whole units with the locale's symbol placement: '€2,494,726' in English, '2 494 726 €' in Finnish."""
        pattern = self.locale.currency_formats["standard"].pattern.split(";")[0].replace(".00", "")
        return format_currency(amount, self.currency, format=pattern, locale=self.locale, currency_digits=False)

    def date(self, day: str | pd.Timestamp) -> str:
        return format_date(pd.Timestamp(day).date(), format="long", locale=self.locale)


class TemplateFormatter(string.Formatter):
    """str.format for sentence templates, with `.Nf`, `,.Nf`, `+.Nf` and `.N%` fields written in the locale."""

    def __init__(self, formats: Formats):
        self.formats = formats

    def format_field(self, value: object, spec: str) -> str:
        if not isinstance(value, int | float) or not spec or spec[-1] not in "f%":
            return super().format_field(value, spec)
        digits = spec_digits(spec)
        if spec.endswith("%"):
            return self.formats.percent(value, digits)
        text = self.formats.number(value, digits, grouped="," in spec)
        return "+" + text if spec.startswith("+") and value >= 0 else text

    def fill_each(self, template: str, field: str, values: np.ndarray) -> list[str]:
        """`fill(template, field=value)` for each of many numbers: `.Nf` and `.N%` fields are written all at once
        (`Formats.numbers`, `Formats.percents`), any other field value by value."""
        pieces = []
        for literal, name, spec, _ in parsed(template):
            pieces.append([literal] * len(values))
            if name is None:
                continue
            if name != field:
                raise KeyError(name)
            if spec and spec[-1] == "%":
                pieces.append(self.formats.percents(values, spec_digits(spec)))
            elif spec and spec[-1] == "f":
                texts = self.formats.numbers(values, spec_digits(spec), grouped="," in spec)
                if spec.startswith("+"):
                    texts = ["+" + text if value >= 0 else text for text, value in zip(texts, values, strict=True)]
                pieces.append(texts)
            else:
                pieces.append([self.format_field(value, spec) for value in values.tolist()])
        return ["".join(row) for row in zip(*pieces, strict=True)]

    def fill(self, template: str, **values: object) -> str:
        """template.format(**values) with fields written in the locale, from the template parsed once."""
        parts = []
        for literal, field, spec, _ in parsed(template):
            parts.append(literal)
            if field is not None:
                parts.append(self.format_field(values[field], spec))
        return "".join(parts)


def spec_digits(spec: str) -> int:
    """The decimals an `.Nf` or `.N%` field asks for."""
    return int(spec.rsplit(".", 1)[1][:-1]) if "." in spec else 0


@functools.lru_cache(maxsize=1024)
def parsed(template: str) -> tuple[tuple[str, str | None, str | None, str | None], ...]:
    return tuple(string.Formatter().parse(template))


SENTENCES = {language: TemplateFormatter(Formats(language)) for language in LOCALES}
"""A template formatter per language, for reasons written many times per scoring."""
