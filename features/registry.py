"""Every feature, declared once: what it means to a person, its unit, and how it reads as a reason.

Builders must produce exactly these columns (a test holds them to it); the explanations, the
report and the README read the descriptions, reason templates and drivers from here.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from features.formats import SENTENCES

DRIVERS = (
    "delivery",
    "product quality",
    "service responsiveness",
    "engagement",
    "price",
    "social voice",
    "relationship",
    "customer voice",
)
LANGUAGES = ("en", "fi")
DRIVER_NAMES = {
    "en": {driver: driver for driver in DRIVERS},
    "fi": {
        "delivery": "toimitukset",
        "product quality": "tuotteiden laatu",
        "service responsiveness": "asiakaspalvelun reagointi",
        "engagement": "aktiivisuus",
        "price": "hinta",
        "social voice": "some-näkyvyys",
        "relationship": "asiakassuhde",
        "customer voice": "asiakkaan ääni",
    },
}
TREND_DAYS = 90
NAN = float("nan")


@dataclass(frozen=True)
class Feature:
    """One feature; `{window}` in name, description and reason stands for the window in days.

    `windows` says which windows it is built for: each configured look-back window, only the
    longest (rates and shares that need enough events), the churn horizon ahead (expectations of
    the buying-rhythm model), or none. `raises_churn` marks features that
    can only push churn risk up (more late deliveries never make a customer more loyal); the churn
    model is held to it with a monotone constraint. `when_missing` is the value for a customer with
    no events (0 for counts; NaN where "no events" is not a number, such as days since the last one).
    `fi` holds the Finnish reason and, optionally, its wording for a missing value.
    """

    name: str
    source: str
    unit: str
    description: str
    reason: str
    driver: str
    windows: Literal["none", "each", "longest", "horizon"] = "none"
    when_missing: float = 0.0
    categorical: bool = False
    reason_when_missing: str = ""
    raises_churn: bool = False
    fi: tuple[str, ...] = ()
    description_fi: str = ""
    action: str = ""
    risky_when: Literal["high", "low", ""] = ""
    grows_with_time: bool = False

    def resolved(self, window: int | None) -> Feature:
        fill = {"window": window}
        return replace(
            self,
            name=self.name.format(**fill),
            description=self.description.format(**fill),
            description_fi=self.description_fi.format(**fill),
            reason=self.reason.replace("{window}", str(window)),
            reason_when_missing=(self.reason_when_missing or f"{self.description.lower()}: none yet").format(**fill),
            fi=tuple(text.replace("{window}", str(window)) for text in self.fi),
        )

    @functools.lru_cache(maxsize=1 << 16)  # noqa: B019 (features live as long as the process; counts repeat)
    def reason_text(self, value: object, language: str = "en") -> str:
        """The reason template, in `language`, filled with a customer's value; a missing value has its own wording.
        Remembered per value: a million customers' reasons repeat the same few counts."""
        reason, missing = self.templates(language)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return missing
        return SENTENCES[language].fill(reason, value=value if self.categorical else float(value) + 0.0)

    def reason_texts(self, values: np.ndarray, language: str = "en") -> list[str]:
        """`reason_text` of each value (None or NaN when missing), written all at once: scoring writes three reasons
        for each of a million customers, and most values (days, shares, amounts) do not repeat."""
        if self.categorical:
            return [self.reason_text(value, language) for value in values]
        reason, missing = self.templates(language)
        numbers = np.asarray(values, dtype=float) + 0.0  # + 0.0: -0.0 reads 0, as in reason_text
        present = ~np.isnan(numbers)
        texts = np.full(len(numbers), missing, dtype=object)
        texts[present] = SENTENCES[language].fill_each(reason, "value", numbers[present])
        return texts.tolist()

    def templates(self, language: str) -> tuple[str, str]:
        """(reason, reason when missing); a language without its own wording falls back to English."""
        if language == "fi" and self.fi:
            return self.fi[0], self.fi[1] if len(self.fi) > 1 else "ei tietoa"
        return self.reason, self.reason_when_missing

    def described(self, language: str) -> str:
        return self.description_fi if language == "fi" else self.description


def f(name, source, unit, description, reason, driver, **options) -> Feature:
    action, risky_when = ACTIONS.get(name, ("", ""))
    return Feature(
        name,
        source,
        unit,
        description,
        reason,
        driver,
        description_fi=DESCRIPTIONS_FI[name],
        action=action,
        risky_when=risky_when,
        grows_with_time=name in GROWS_WITH_TIME,
        **options,
    )


PLAYBOOK: dict[str, dict[str, str]] = {
    "reminder": {
        "en": "Send a reminder or a replenishment offer before they buy elsewhere",
        "fi": "Lähetä muistutus tai täydennystarjous ennen kuin asiakas ostaa muualta",
    },
    "apologise": {
        "en": "Apologise for the late deliveries and offer compensation",
        "fi": "Pahoittele myöhästyneitä toimituksia ja tarjoa hyvitys",
    },
    "quality_call": {
        "en": "Call to ask what went wrong with the returned orders",
        "fi": "Soita ja kysy, mikä palautetuissa tilauksissa meni vikaan",
    },
    "close_ticket": {
        "en": "Close the open ticket or complaint, then call the customer",
        "fi": "Sulje avoin tiketti tai reklamaatio ja soita sitten asiakkaalle",
    },
    "check_in": {
        "en": "Book a check-in call: nobody has been in touch lately",
        "fi": "Sovi kuulumispuhelu: kukaan ei ole ollut yhteydessä viime aikoina",
    },
    "account_review": {
        "en": "Review the account with its owner: recent deals were lost",
        "fi": "Käy asiakkuus läpi vastuuhenkilön kanssa: viimeaikaisia kauppoja menetettiin",
    },
    "follow_up": {
        "en": "Call back about what they raised and tell them what was fixed",
        "fi": "Soita takaisin asiakkaan esiin ottamasta asiasta ja kerro, mitä korjattiin",
    },
    "answer_posts": {
        "en": "Answer their negative posts and follow up privately",
        "fi": "Vastaa kielteisiin julkaisuihin ja jatka keskustelua yksityisesti",
    },
}
"""Next actions by driver, in every report language; a company replaces any text with `report.playbook`."""

ACTIONS: dict[str, tuple[str, Literal["high", "low"]]] = {
    "days_since_last_order": ("reminder", "high"),
    "order_overdue_ratio": ("reminder", "high"),
    "probability_no_order_{window}d": ("reminder", "high"),
    "orders_{window}d": ("reminder", "low"),
    "expected_orders_{window}d": ("reminder", "low"),
    "probability_active": ("reminder", "low"),
    f"order_trend_{TREND_DAYS}d": ("reminder", "low"),
    "late_deliveries_{window}d": ("apologise", "high"),
    "late_delivery_rate_{window}d": ("apologise", "high"),
    "mean_days_late_{window}d": ("apologise", "high"),
    "days_since_last_late_delivery": ("apologise", "low"),
    "returns_{window}d": ("quality_call", "high"),
    "return_rate_{window}d": ("quality_call", "high"),
    "refund_rate_{window}d": ("quality_call", "high"),
    "cancellation_rate_{window}d": ("quality_call", "high"),
    "support_tickets_{window}d": ("close_ticket", "high"),
    "complaints_{window}d": ("close_ticket", "high"),
    "escalations_{window}d": ("close_ticket", "high"),
    "open_tickets": ("close_ticket", "high"),
    "unresolved_ticket_share_{window}d": ("close_ticket", "high"),
    "median_resolution_days_{window}d": ("close_ticket", "high"),
    "days_since_last_touch": ("check_in", "high"),
    "outbound_touches_{window}d": ("check_in", "low"),
    "meetings_{window}d": ("check_in", "low"),
    "opportunities_lost_{window}d": ("account_review", "high"),
    "win_rate_{window}d": ("account_review", "low"),
    "mean_sentiment_{window}d": ("answer_posts", "low"),
    "min_sentiment_{window}d": ("answer_posts", "low"),
    "negative_mention_share_{window}d": ("answer_posts", "high"),
    f"sentiment_trend_{TREND_DAYS}d": ("answer_posts", "low"),
    "sentiment_vs_brand_{window}d": ("answer_posts", "low"),
    "days_since_last_negative_mention": ("answer_posts", "low"),
}
"""Features a person can act on: the playbook action, and which side of the median means risk."""

GROWS_WITH_TIME = frozenset({"tenure_days", "days_since_first_order", "days_from_first_to_last_order", "order_days"})
"""Features every customer's value of grows day by day: drift would flag them on any later date, so it skips them."""

DESCRIPTIONS_FI: dict[str, str] = {
    "tenure_days": "Päiviä asiakkuuden alusta",
    "segment": "Asiakassegmentti",
    "orders_{window}d": "Tilaukset viimeisten {window} päivän aikana",
    "spend_{window}d": "Tilausten arvo viimeisten {window} päivän aikana",
    "days_since_last_order": "Päiviä viimeisestä tilauksesta",
    f"order_trend_{TREND_DAYS}d": "Tilaukset 90 päivän aikana suhteessa edellisiin 90 päivään (1 = tasainen)",
    f"spend_trend_{TREND_DAYS}d": "Ostot viimeisten 90 päivän aikana suhteessa edellisiin 90 päivään (1 = tasainen)",
    "average_order_value_{window}d": "Keskimääräinen tilausarvo viimeisten {window} päivän aikana",
    "typical_order_gap_days": "Asiakkaan tilausten välinen mediaaniväli päivinä",
    "order_overdue_ratio": "Päivät viimeisestä tilauksesta jaettuna tavallisella välillä (yli 1 = myöhässä)",
    "order_days": "Päivät, joina tilattiin vähintään kerran, koko historiassa",
    "days_since_first_order": "Päiviä ensimmäisestä tilauksesta (ostosuhteen ikä)",
    "days_from_first_to_last_order": "Päiviä ensimmäisen ja viimeisen tilauksen välillä",
    "lifetime_average_order_value": "Keskimääräinen tilausarvo koko historiassa",
    "order_gap_variation": "Tilausvälien vaihtelu (keskihajonta / keskiarvo; 0 = säännöllinen)",
    "probability_active": "Todennäköisyys, että asiakas ostaa vielä ylipäätään, ostorytmistä (BG/NBD)",
    "expected_orders_{window}d": "Odotetut tilaukset seuraavien {window} päivän aikana ostorytmistä (BG/NBD)",
    "probability_no_order_{window}d": "Todennäköisyys, ettei tilausta tule seuraavien {window} päivän aikana (BG/NBD)",
    "discount_share_{window}d": "Alennuksella tehtyjen tilausten osuus viimeisten {window} päivän aikana",
    "returns_{window}d": "Palautetut tai hyvitetyt tilaukset, joiden tila vahvistui viimeisten {window} päivän aikana",
    "return_rate_{window}d": "Palautettujen tilausten osuus viimeisten {window} päivän aikana vahvistuneista",
    "refund_rate_{window}d": "Hyvitettyjen tilausten osuus viimeisten {window} päivän aikana vahvistuneista",
    "cancellation_rate_{window}d": "Peruttujen tilausten osuus viimeisten {window} päivän aikana vahvistuneista",
    "late_deliveries_{window}d": "Luvattua myöhemmin saapuneet toimitukset viimeisten {window} päivän aikana",
    "late_delivery_rate_{window}d": "Myöhästyneiden toimitusten osuus viimeisten {window} päivän aikana",
    "mean_days_late_{window}d": "Myöhästyneiden toimitusten keskimääräinen myöhästyminen (päivää), {window} päivää",
    "days_since_last_late_delivery": "Päiviä viimeisestä myöhästyneestä toimituksesta",
    "channels_used_{window}d": "Käytetyt myyntikanavat viimeisten {window} päivän aikana",
    "main_channel_share_{window}d": "Pääkanavan osuus tilauksista viimeisten {window} päivän aikana",
    "support_tickets_{window}d": "Avatut tukipyynnöt viimeisten {window} päivän aikana",
    "complaints_{window}d": "Reklamaatiot viimeisten {window} päivän aikana",
    "escalations_{window}d": "Reklamaatiot 30 päivän sisällä tukipyynnöstä, viimeisten {window} päivän aikana",
    "open_tickets": "Ratkaisemattomat tukipyynnöt ja reklamaatiot",
    "unresolved_ticket_share_{window}d": "Ratkaisemattomien osuus {window} päivän aikana avatuista pyynnöistä",
    "median_resolution_days_{window}d": "Tukipyyntöjen ratkaisuajan mediaani (päivää), {window} päivää",
    "inbound_contacts_{window}d": "Asiakkaan aloittamat puhelut ja sähköpostit viimeisten {window} päivän aikana",
    "outbound_touches_{window}d": "Yrityksen puhelut, sähköpostit, tapaamiset ja esittelyt, {window} päivää",
    "meetings_{window}d": "Tapaamiset ja esittelyt viimeisten {window} päivän aikana",
    "days_since_last_touch": "Päiviä siitä, kun yritys viimeksi otti yhteyttä",
    "opportunities_won_{window}d": "Voitetut myyntimahdollisuudet viimeisten {window} päivän aikana",
    "opportunities_lost_{window}d": "Menetetyt myyntimahdollisuudet viimeisten {window} päivän aikana",
    "win_rate_{window}d": "Voitettujen myyntimahdollisuuksien osuus viimeisten {window} päivän aikana",
    "mentions_{window}d": "Asiakkaan some-julkaisut viimeisten {window} päivän aikana",
    "mean_sentiment_{window}d": "Asiakkaan julkaisujen keskimääräinen sävy (-1..1) viimeisten {window} päivän aikana",
    "min_sentiment_{window}d": "Asiakkaan kielteisin julkaisu (sävy) viimeisten {window} päivän aikana",
    "negative_mention_share_{window}d": "Kielteisten julkaisujen osuus viimeisten {window} päivän aikana",
    "days_since_last_negative_mention": "Päiviä asiakkaan viimeisimmästä kielteisestä julkaisusta",
    f"sentiment_trend_{TREND_DAYS}d": "Sävyn keskiarvo viimeisten 90 päivän aikana miinus edelliset 90 päivää",
    "sentiment_vs_brand_{window}d": "Asiakkaan sävyn keskiarvo miinus kaikkien, viimeisten {window} päivän aikana",
    "brand_negative_share_{window}d": "Kielteisten osuus kaikista brändiä koskevista julkaisuista, {window} päivää",
}


FEATURES: tuple[Feature, ...] = (
    # Who the customer is.
    f(
        "tenure_days",
        "customers",
        "days",
        "Days since the customer signed up",
        "customer for {value:.0f} days",
        "relationship",
        fi=("asiakkaana {value:.0f} päivää",),
    ),
    f(
        "segment",
        "customers",
        "category",
        "Customer segment",
        "segment {value}",
        "relationship",
        categorical=True,
        when_missing=NAN,
        reason_when_missing="no segment",
        fi=("segmentti {value}", "ei segmenttiä"),
    ),
    # Purchase history.
    f(
        "orders_{window}d",
        "orders",
        "orders",
        "Orders placed in the last {window} days",
        "{value:.0f} orders in the last {window} days",
        "engagement",
        windows="each",
        fi=("{value:.0f} tilausta viimeisten {window} päivän aikana",),
    ),
    f(
        "spend_{window}d",
        "orders",
        "currency",
        "Value of orders in the last {window} days",
        "spent {value:,.0f} in the last {window} days",
        "engagement",
        windows="each",
        fi=("ostoja {value:,.0f} viimeisten {window} päivän aikana",),
    ),
    f(
        "days_since_last_order",
        "orders",
        "days",
        "Days since the last order",
        "last order {value:.0f} days ago",
        "engagement",
        when_missing=NAN,
        reason_when_missing="no orders yet",
        raises_churn=True,
        fi=("edellinen tilaus {value:.0f} päivää sitten", "ei vielä tilauksia"),
    ),
    f(
        f"order_trend_{TREND_DAYS}d",
        "orders",
        "ratio",
        f"Orders in the last {TREND_DAYS} days relative to the {TREND_DAYS} before (1 = steady)",
        "ordering at {value:.1f}x the pace of the quarter before",
        "engagement",
        when_missing=NAN,
        reason_when_missing="no recent orders to compare",
        fi=(
            "tilaustahti {value:.1f}-kertainen edelliseen neljännekseen verrattuna",
            "ei tuoreita tilauksia vertailuun",
        ),
    ),
    f(
        f"spend_trend_{TREND_DAYS}d",
        "orders",
        "ratio",
        f"Spend in the last {TREND_DAYS} days relative to the {TREND_DAYS} before (1 = steady)",
        "spending at {value:.1f}x the quarter before",
        "engagement",
        when_missing=NAN,
        reason_when_missing="no recent spend to compare",
        fi=("ostot {value:.1f}-kertaiset edelliseen neljännekseen verrattuna", "ei tuoreita ostoja vertailuun"),
    ),
    f(
        "average_order_value_{window}d",
        "orders",
        "currency",
        "Average order value in the last {window} days",
        "average order of {value:,.0f} in the last {window} days",
        "engagement",
        windows="longest",
        when_missing=NAN,
        fi=(
            "keskimääräinen tilaus {value:,.0f} viimeisten {window} päivän aikana",
            "ei tilauksia viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "typical_order_gap_days",
        "orders",
        "days",
        "The customer's median days between orders",
        "usually orders every {value:.0f} days",
        "engagement",
        when_missing=NAN,
        reason_when_missing="too few orders to know a rhythm",
        fi=("tilaa yleensä {value:.0f} päivän välein", "liian vähän tilauksia rytmin arvioimiseen"),
    ),
    f(
        "order_overdue_ratio",
        "orders",
        "ratio",
        "Days since the last order divided by the usual gap (above 1 = overdue)",
        "next order {value:.1f}x overdue against the usual rhythm",
        "engagement",
        when_missing=NAN,
        reason_when_missing="too few orders to know a rhythm",
        fi=(
            "seuraava tilaus {value:.1f}-kertaisesti myöhässä tavalliseen rytmiin nähden",
            "liian vähän tilauksia rytmin arvioimiseen",
        ),
    ),
    f(
        "order_days",
        "orders",
        "days",
        "Days with at least one order, over the whole history",
        "ordered on {value:.0f} different days",
        "engagement",
        fi=("tilannut {value:.0f} eri päivänä",),
    ),
    f(
        "days_since_first_order",
        "orders",
        "days",
        "Days since the first order (the buying relationship's age)",
        "first order {value:.0f} days ago",
        "relationship",
        when_missing=NAN,
        reason_when_missing="no orders yet",
        fi=("ensimmäinen tilaus {value:.0f} päivää sitten", "ei vielä tilauksia"),
    ),
    f(
        "days_from_first_to_last_order",
        "orders",
        "days",
        "Days between the first and the last order",
        "ordered over a span of {value:.0f} days",
        "engagement",
        when_missing=NAN,
        reason_when_missing="no orders yet",
        fi=("tilannut {value:.0f} päivän ajan", "ei vielä tilauksia"),
    ),
    f(
        "lifetime_average_order_value",
        "orders",
        "currency",
        "Average order value over the whole history",
        "average order of {value:,.0f} overall",
        "engagement",
        when_missing=NAN,
        reason_when_missing="no orders yet",
        fi=("keskimääräinen tilaus {value:,.0f} koko historiassa", "ei vielä tilauksia"),
    ),
    f(
        "order_gap_variation",
        "orders",
        "ratio",
        "Spread of the gaps between orders (standard deviation / mean; 0 = like clockwork)",
        "order gaps vary by {value:.1f}x their mean",
        "engagement",
        when_missing=NAN,
        reason_when_missing="too few orders to know a rhythm",
        fi=(
            "tilausvälit vaihtelevat {value:.1f}-kertaisesti keskiarvoonsa nähden",
            "liian vähän tilauksia rytmin arvioimiseen",
        ),
    ),
    f(
        "probability_active",
        "orders",
        "share",
        "Probability the customer still buys at all, from their buying rhythm (BG/NBD)",
        "{value:.0%} likely still an active buyer",
        "engagement",
        when_missing=NAN,
        reason_when_missing="no orders yet",
        fi=("{value:.0%} todennäköisyydellä yhä aktiivinen ostaja", "ei vielä tilauksia"),
    ),
    f(
        "expected_orders_{window}d",
        "orders",
        "orders",
        "Orders expected in the next {window} days from the buying rhythm (BG/NBD)",
        "{value:.1f} orders expected in the next {window} days",
        "engagement",
        windows="horizon",
        when_missing=NAN,
        reason_when_missing="no orders yet",
        fi=("{value:.1f} tilausta odotettavissa seuraavien {window} päivän aikana", "ei vielä tilauksia"),
    ),
    f(
        "probability_no_order_{window}d",
        "orders",
        "share",
        "Probability of no order in the next {window} days from the buying rhythm (BG/NBD)",
        "{value:.0%} chance of no order in the next {window} days at this buying rhythm",
        "engagement",
        windows="horizon",
        when_missing=NAN,
        reason_when_missing="no orders yet",
        fi=("{value:.0%} todennäköisyys, ettei tilauksia tule seuraavien {window} päivän aikana", "ei vielä tilauksia"),
    ),
    f(
        "discount_share_{window}d",
        "orders",
        "share",
        "Share of orders with a discount in the last {window} days",
        "{value:.0%} of orders discounted in the last {window} days",
        "price",
        windows="longest",
        when_missing=NAN,
        fi=(
            "{value:.0%} tilauksista alennuksella viimeisten {window} päivän aikana",
            "ei tilauksia viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "returns_{window}d",
        "orders",
        "orders",
        "Orders returned or refunded, counted when their status became final in the last {window} days",
        "{value:.0f} returned or refunded orders in the last {window} days",
        "product quality",
        windows="each",
        raises_churn=True,
        fi=("{value:.0f} palautettua tai hyvitettyä tilausta viimeisten {window} päivän aikana",),
    ),
    f(
        "return_rate_{window}d",
        "orders",
        "share",
        "Share of orders returned, among those whose status became final in the last {window} days",
        "{value:.0%} of orders returned in the last {window} days",
        "product quality",
        windows="longest",
        when_missing=NAN,
        fi=(
            "{value:.0%} tilauksista palautettiin viimeisten {window} päivän aikana",
            "ei päättyneitä tilauksia viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "refund_rate_{window}d",
        "orders",
        "share",
        "Share of orders refunded, among those whose status became final in the last {window} days",
        "{value:.0%} of orders refunded in the last {window} days",
        "product quality",
        windows="longest",
        when_missing=NAN,
        fi=(
            "{value:.0%} tilauksista hyvitettiin viimeisten {window} päivän aikana",
            "ei päättyneitä tilauksia viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "cancellation_rate_{window}d",
        "orders",
        "share",
        "Share of orders cancelled, among those whose status became final in the last {window} days",
        "{value:.0%} of orders cancelled in the last {window} days",
        "product quality",
        windows="longest",
        when_missing=NAN,
        fi=(
            "{value:.0%} tilauksista peruttiin viimeisten {window} päivän aikana",
            "ei päättyneitä tilauksia viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "late_deliveries_{window}d",
        "orders",
        "deliveries",
        "Deliveries that arrived after the promised time in the last {window} days",
        "{value:.0f} late deliveries in the last {window} days",
        "delivery",
        windows="each",
        raises_churn=True,
        fi=("{value:.0f} myöhästynyttä toimitusta viimeisten {window} päivän aikana",),
    ),
    f(
        "late_delivery_rate_{window}d",
        "orders",
        "share",
        "Share of deliveries in the last {window} days that arrived late",
        "{value:.0%} of deliveries late in the last {window} days",
        "delivery",
        windows="longest",
        when_missing=NAN,
        fi=(
            "{value:.0%} toimituksista myöhässä viimeisten {window} päivän aikana",
            "ei toimituksia viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "mean_days_late_{window}d",
        "orders",
        "days",
        "Average days late of late deliveries in the last {window} days",
        "late deliveries averaged {value:.1f} days late",
        "delivery",
        windows="longest",
        when_missing=NAN,
        reason_when_missing="no late deliveries in the last {window} days",
        fi=(
            "myöhästyneet toimitukset keskimäärin {value:.1f} päivää myöhässä",
            "ei myöhästyneitä toimituksia viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "days_since_last_late_delivery",
        "orders",
        "days",
        "Days since a delivery last arrived late",
        "last late delivery {value:.0f} days ago",
        "delivery",
        when_missing=NAN,
        reason_when_missing="never had a late delivery",
        fi=("edellinen myöhästynyt toimitus {value:.0f} päivää sitten", "ei koskaan myöhästynyttä toimitusta"),
    ),
    f(
        "channels_used_{window}d",
        "orders",
        "channels",
        "Distinct sales channels used in the last {window} days",
        "ordered through {value:.0f} channels in the last {window} days",
        "engagement",
        windows="longest",
        fi=("tilannut {value:.0f} kanavan kautta viimeisten {window} päivän aikana",),
    ),
    f(
        "main_channel_share_{window}d",
        "orders",
        "share",
        "Share of orders through the customer's most used channel in the last {window} days",
        "{value:.0%} of orders through one channel",
        "engagement",
        windows="longest",
        when_missing=NAN,
        fi=("{value:.0%} tilauksista yhden kanavan kautta", "ei tilauksia viimeisten {window} päivän aikana"),
    ),
    # Sales activity and service.
    f(
        "support_tickets_{window}d",
        "activities",
        "tickets",
        "Support tickets opened in the last {window} days",
        "{value:.0f} support tickets in the last {window} days",
        "service responsiveness",
        windows="each",
        fi=("{value:.0f} tukipyyntöä viimeisten {window} päivän aikana",),
    ),
    f(
        "complaints_{window}d",
        "activities",
        "complaints",
        "Complaints in the last {window} days",
        "{value:.0f} complaints in the last {window} days",
        "service responsiveness",
        windows="each",
        raises_churn=True,
        fi=("{value:.0f} reklamaatiota viimeisten {window} päivän aikana",),
    ),
    f(
        "escalations_{window}d",
        "activities",
        "complaints",
        "Complaints within 30 days after a support ticket, in the last {window} days",
        "{value:.0f} tickets escalated to complaints in the last {window} days",
        "service responsiveness",
        windows="longest",
        raises_churn=True,
        fi=("{value:.0f} tukipyyntöä eteni reklamaatioksi viimeisten {window} päivän aikana",),
    ),
    f(
        "open_tickets",
        "activities",
        "tickets",
        "Support tickets and complaints still unresolved",
        "{value:.0f} tickets still open",
        "service responsiveness",
        raises_churn=True,
        fi=("{value:.0f} tukipyyntöä yhä auki",),
    ),
    f(
        "unresolved_ticket_share_{window}d",
        "activities",
        "share",
        "Share of tickets opened in the last {window} days still unresolved",
        "{value:.0%} of recent tickets unresolved",
        "service responsiveness",
        windows="longest",
        when_missing=NAN,
        fi=("{value:.0%} tuoreista tukipyynnöistä ratkaisematta", "ei tukipyyntöjä viimeisten {window} päivän aikana"),
    ),
    f(
        "median_resolution_days_{window}d",
        "activities",
        "days",
        "Median days to resolve tickets opened in the last {window} days",
        "tickets took {value:.1f} days to resolve (median)",
        "service responsiveness",
        windows="longest",
        when_missing=NAN,
        reason_when_missing="no resolved tickets in the last {window} days",
        fi=(
            "tukipyyntöjen ratkaisu kesti {value:.1f} päivää (mediaani)",
            "ei ratkaistuja tukipyyntöjä viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "inbound_contacts_{window}d",
        "activities",
        "contacts",
        "Calls and emails the customer started in the last {window} days",
        "{value:.0f} inbound contacts in the last {window} days",
        "service responsiveness",
        windows="each",
        fi=("{value:.0f} asiakkaan aloittamaa yhteydenottoa viimeisten {window} päivän aikana",),
    ),
    f(
        "outbound_touches_{window}d",
        "activities",
        "touches",
        "Calls, emails, meetings and demos by the company in the last {window} days",
        "{value:.0f} outbound touches in the last {window} days",
        "engagement",
        windows="each",
        fi=("{value:.0f} yrityksen yhteydenottoa viimeisten {window} päivän aikana",),
    ),
    f(
        "meetings_{window}d",
        "activities",
        "meetings",
        "Meetings and demos in the last {window} days",
        "{value:.0f} meetings in the last {window} days",
        "engagement",
        windows="each",
        fi=("{value:.0f} tapaamista viimeisten {window} päivän aikana",),
    ),
    f(
        "days_since_last_touch",
        "activities",
        "days",
        "Days since the company last reached out",
        "last contacted {value:.0f} days ago",
        "engagement",
        when_missing=NAN,
        reason_when_missing="never contacted by the account team",
        fi=(
            "yritys otti viimeksi yhteyttä {value:.0f} päivää sitten",
            "asiakasvastaava ei ole koskaan ottanut yhteyttä",
        ),
    ),
    f(
        "opportunities_won_{window}d",
        "activities",
        "opportunities",
        "Opportunities won in the last {window} days",
        "{value:.0f} opportunities won in the last {window} days",
        "relationship",
        windows="longest",
        fi=("{value:.0f} voitettua myyntimahdollisuutta viimeisten {window} päivän aikana",),
    ),
    f(
        "opportunities_lost_{window}d",
        "activities",
        "opportunities",
        "Opportunities lost in the last {window} days",
        "{value:.0f} opportunities lost in the last {window} days",
        "relationship",
        windows="longest",
        fi=("{value:.0f} hävittyä myyntimahdollisuutta viimeisten {window} päivän aikana",),
    ),
    f(
        "win_rate_{window}d",
        "activities",
        "share",
        "Share of opportunities won in the last {window} days",
        "won {value:.0%} of opportunities in the last {window} days",
        "relationship",
        windows="longest",
        when_missing=NAN,
        fi=(
            "voitti {value:.0%} myyntimahdollisuuksista viimeisten {window} päivän aikana",
            "ei myyntimahdollisuuksia viimeisten {window} päivän aikana",
        ),
    ),
    # Social listening.
    f(
        "mentions_{window}d",
        "mentions",
        "mentions",
        "Social posts by the customer in the last {window} days",
        "{value:.0f} social posts in the last {window} days",
        "social voice",
        windows="each",
        fi=("{value:.0f} somejulkaisua viimeisten {window} päivän aikana",),
    ),
    f(
        "mean_sentiment_{window}d",
        "mentions",
        "sentiment",
        "Average sentiment (-1..1) of the customer's posts in the last {window} days",
        "posts averaged {value:+.2f} sentiment in the last {window} days",
        "social voice",
        windows="each",
        when_missing=NAN,
        reason_when_missing="no posts in the last {window} days",
        fi=(
            "julkaisujen keskimääräinen sävy {value:+.2f} viimeisten {window} päivän aikana",
            "ei julkaisuja viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "min_sentiment_{window}d",
        "mentions",
        "sentiment",
        "Most negative sentiment of the customer's posts in the last {window} days",
        "a post as negative as {value:+.2f} in the last {window} days",
        "social voice",
        windows="longest",
        when_missing=NAN,
        reason_when_missing="no posts in the last {window} days",
        fi=(
            "julkaisu niinkin kielteinen kuin {value:+.2f} viimeisten {window} päivän aikana",
            "ei julkaisuja viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "negative_mention_share_{window}d",
        "mentions",
        "share",
        "Share of the customer's posts that were negative in the last {window} days",
        "{value:.0%} of posts negative in the last {window} days",
        "social voice",
        windows="longest",
        when_missing=NAN,
        fi=(
            "{value:.0%} julkaisuista kielteisiä viimeisten {window} päivän aikana",
            "ei julkaisuja viimeisten {window} päivän aikana",
        ),
    ),
    f(
        "days_since_last_negative_mention",
        "mentions",
        "days",
        "Days since the customer's last negative post",
        "last negative post {value:.0f} days ago",
        "social voice",
        when_missing=NAN,
        reason_when_missing="never posted negatively",
        fi=("edellinen kielteinen julkaisu {value:.0f} päivää sitten", "ei koskaan kielteisiä julkaisuja"),
    ),
    f(
        f"sentiment_trend_{TREND_DAYS}d",
        "mentions",
        "sentiment",
        f"Mean sentiment in the last {TREND_DAYS} days minus the {TREND_DAYS} before",
        "sentiment moved {value:+.2f} against the quarter before",
        "social voice",
        when_missing=NAN,
        reason_when_missing="too few posts to see a trend",
        fi=(
            "sävy muuttui {value:+.2f} edelliseen neljännekseen verrattuna",
            "liian vähän julkaisuja trendin näkemiseen",
        ),
    ),
    f(
        "sentiment_vs_brand_{window}d",
        "mentions",
        "sentiment",
        "The customer's mean sentiment minus everyone's in the last {window} days",
        "{value:+.2f} sentiment against the general mood",
        "social voice",
        windows="longest",
        when_missing=NAN,
        reason_when_missing="no posts in the last {window} days",
        fi=("sävy {value:+.2f} yleiseen tunnelmaan verrattuna", "ei julkaisuja viimeisten {window} päivän aikana"),
    ),
    f(
        "brand_negative_share_{window}d",
        "mentions",
        "share",
        "Share of all unlinked posts about the brand that were negative in the last {window} days",
        "{value:.0%} of public posts about the brand negative in the last {window} days",
        "social voice",
        windows="each",
        when_missing=NAN,
        fi=(
            "{value:.0%} brändiä koskevista julkisista julkaisuista kielteisiä viimeisten {window} päivän aikana",
            "ei julkaisuja brändistä viimeisten {window} päivän aikana",
        ),
    ),
)


def attribute_feature(column: str) -> Feature:
    """A customer attribute the config names: used as-is (numbers) or as a category (text)."""
    return Feature(
        column,
        "customers",
        "attribute",
        f"Customer attribute '{column}'",
        f"{column} {{value}}",
        "relationship",
        when_missing=NAN,
        categorical=True,
        reason_when_missing=f"no {column}",
        fi=(f"{column} {{value}}", f"ei tietoa: {column}"),
        description_fi=f"Asiakkaan tieto '{column}'",
    )


def theme_feature_name(theme: str, window: int) -> str:
    return f"theme_{re.sub(r'[^0-9a-zåäö]+', '_', theme.lower()).strip('_')}_{window}d"


def theme_feature(theme: str) -> Feature:
    """How often a customer raised a theme (in a post, a ticket or call note, a review) in the longest window."""
    return Feature(
        theme_feature_name(theme, 0).removesuffix("_0d") + "_{window}d",
        "themes",
        "texts",
        f"Texts about '{theme}' in the last {{window}} days",
        f"raised '{theme}' {{value:.0f}} times in the last {{window}} days",
        "customer voice",
        windows="longest",
        fi=(f"otti esiin aiheen '{theme}' {{value:.0f}} kertaa viimeisten {{window}} päivän aikana",),
        description_fi=f"Tekstit aiheesta '{theme}' viimeisten {{window}} päivän aikana",
        action="follow_up",
        risky_when="high",
    )


def feature_catalogue(
    windows: tuple[int, ...],
    horizon_days: int,
    sources: tuple[str, ...],
    attributes: tuple[str, ...] = (),
    themes: tuple[str, ...] = (),
) -> dict[str, Feature]:
    """The concrete features for these windows and churn horizon, the event sources a data set has, its named
    attributes and the themes of what its customers say, in build order."""
    catalogue = {}
    sources = (*sources, "themes") if themes else sources
    for feature in FEATURES + tuple(attribute_feature(a) for a in attributes) + tuple(map(theme_feature, themes)):
        if feature.source != "customers" and feature.source not in sources:
            continue
        chosen = {"none": (None,), "each": windows, "longest": (max(windows),), "horizon": (horizon_days,)}[
            feature.windows
        ]
        for window in chosen:
            resolved = feature.resolved(window)
            catalogue[resolved.name] = resolved
    return catalogue


def churn_directions(catalogue: dict[str, Feature]) -> dict[str, int]:
    """LightGBM monotone constraints: +1 where a feature can only raise churn risk."""
    return {name: int(spec.raises_churn) for name, spec in catalogue.items()}
