"""A causal synthetic world in the input contract, with the latent truth kept apart.

Each customer carries a latent satisfaction that drifts toward a personal baseline, is knocked
down by the bad experiences the data records (late deliveries, defects, slow or unresolved
tickets) and lifted by good ones. It drives ordering, complaints, inbound contacts, the rate
and tone of social posts (English and Finnish), who answers surveys and how, and churn.
Customers are simulated week by week, vectorised, in fixed-size chunks with their own seeds, so
a seed always gives the same world and memory stays bounded at a million customers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from pydantic import Field

from features.schema import SurveyScale
from features.settings import Settings

CHUNK_CUSTOMERS = 50_000
SEGMENTS = np.array(["consumer", "smb", "enterprise"])
SEGMENT_SHARES = [0.70, 0.22, 0.08]
CONTRACTUAL_SEGMENTS = ("smb", "enterprise")
REGIONS = np.array(["uusimaa", "pirkanmaa", "varsinais-suomi", "pohjois-pohjanmaa", "lappi"])
REGION_LATE_LOGIT = np.array([-0.3, 0.0, 0.1, 0.4, 0.9])
LANGUAGES = np.array(["fi", "en"])
CHANNELS = np.array(["web", "app", "store", "phone"])
MONTHLY_TRUTH_HORIZON_WEEKS = 13

# Per segment (consumer, smb, enterprise).
ORDERS_PER_WEEK = np.array([0.22, 0.35, 0.55])
ORDER_VALUE = np.array([60.0, 400.0, 2500.0])
OUTBOUND_PER_WEEK = np.array([0.04, 0.25, 0.8])
OPPORTUNITIES_PER_WEEK = np.array([0.0, 0.02, 0.05])
CHURN_HAZARD = np.array([0.0080, 0.0060, 0.0036])
PROMISED_DAYS = np.array([3.0, 5.0, 7.0])
# How latent satisfaction becomes a survey score: round(base + slope * latent + noise * mood of the day), clipped.
SURVEY_RESPONSE = {"nps": (6.3, 2.2, 1.2, 0, 10), "csat": (3.3, 0.9, 0.5, 1, 5)}

TEXTS = {
    ("en", "negative"): [
        "Order arrived late again, really disappointed",
        "Terrible customer service, nobody answers",
        "The product broke after two days. Never again.",
        "Still waiting for my refund, this is awful",
        "Worst delivery experience ever",
        "So frustrated with the slow support",
    ],
    ("fi", "negative"): [
        "Tilaus myöhässä taas, todella pettynyt",
        "Huono asiakaspalvelu, kukaan ei vastaa",
        "Tuote hajosi kahdessa päivässä. Ei enää ikinä.",
        "Odotan yhä hyvitystä, tämä on surkeaa",
        "Kamala toimituskokemus, aivan järkyttävää",
        "Todella hidas asiakaspalvelu, ärsyttää",
    ],
    ("en", "neutral"): [
        "Does anyone know when the new catalogue comes out?",
        "Ordered a few things today",
        "Is the store open on Sunday?",
        "Comparing prices before the weekend",
    ],
    ("fi", "neutral"): [
        "Tilasin tänään muutaman tuotteen",
        "Onko myymälä auki sunnuntaina?",
        "Milloin uusi mallisto tulee?",
        "Vertailen hintoja ennen viikonloppua",
    ],
    ("en", "positive"): [
        "Fast delivery and great quality, thank you!",
        "Love the new products, excellent service",
        "Support solved my issue in minutes, brilliant",
        "Very happy with my order",
    ],
    ("fi", "positive"): [
        "Nopea toimitus ja loistava laatu, kiitos!",
        "Erinomainen palvelu, olen tyytyväinen",
        "Asiakaspalvelu ratkaisi ongelman heti, mahtavaa",
        "Todella hyvä tilauskokemus",
    ],
    ("en", "sarcastic"): [
        "Great, another late delivery. Thanks a lot.",
        "Wow, third broken item this month. Amazing quality.",
    ],
    ("fi", "sarcastic"): [
        "Loistavaa, taas myöhässä. Kiitos vaan.",
        "Hienoa, taas rikki. Mahtavaa laatua.",
    ],
}
PLANTED_THEMES = {
    "late delivery": "DELIVERY",
    "product fault": "PRODUCT",
    "billing": "BILLING",
    "rude service": "SERVICE",
}
"""What tickets, complaints and low reviews are about, and the contact-reason code a CRM records for each: tied
to the world's causes (late deliveries, defective goods, slow or unresolved tickets; billing at random)."""
THEME_TEXTS = {
    ("en", "late delivery"): [
        "parcel arrived late",
        "delivery delayed again",
        "where is my package, it is a week late",
        "the courier missed the promised delivery date",
        "late shipment, still waiting for the order",
        "delivery took far too long",
    ],
    ("fi", "late delivery"): [
        "paketti myöhästyi",
        "toimitus myöhässä taas",
        "missä tilaukseni, toimitus on viikon myöhässä",
        "kuljetus ei tullut luvattuna päivänä",
        "odotan yhä myöhästynyttä toimitusta",
        "toimitus kesti aivan liian kauan",
    ],
    ("en", "product fault"): [
        "the product broke after two days",
        "item arrived broken",
        "defective product, I want a replacement",
        "the device stopped working",
        "poor quality, the product is faulty",
        "received a damaged item",
    ],
    ("fi", "product fault"): [
        "tuote hajosi kahdessa päivässä",
        "tuote saapui rikki",
        "viallinen tuote, haluan uuden tilalle",
        "laite lakkasi toimimasta",
        "huono laatu, tuote on viallinen",
        "sain rikkinäisen tuotteen",
    ],
    ("en", "billing"): [
        "I was charged twice",
        "wrong amount on my invoice",
        "billing error on my last bill",
        "refund still missing from my account",
        "invoice does not match the order",
        "unexpected charge on my card",
    ],
    ("fi", "billing"): [
        "minua veloitettiin kahdesti",
        "laskussa väärä summa",
        "laskutusvirhe viimeisessä laskussa",
        "hyvitys puuttuu yhä tililtä",
        "lasku ei vastaa tilausta",
        "odottamaton veloitus kortilla",
    ],
    ("en", "rude service"): [
        "the agent was rude to me",
        "nobody answers the support line",
        "support closed my ticket without helping",
        "unfriendly staff on the phone",
        "I waited an hour in the support queue",
        "customer service ignored my emails",
    ],
    ("fi", "rude service"): [
        "asiakaspalvelija oli töykeä",
        "asiakaspalvelu ei vastaa puhelimeen",
        "tuki sulki tikettini auttamatta",
        "epäystävällinen palvelu puhelimessa",
        "jonotin tunnin asiakaspalveluun",
        "asiakaspalvelu ei vastaa sähköposteihin",
    ],
}
PRAISE = {
    "en": ["great product, fast delivery", "very happy with the order", "works perfectly, recommended"],
    "fi": ["loistava tuote, nopea toimitus", "todella tyytyväinen tilaukseen", "toimii täydellisesti, suosittelen"],
}
REVIEW_SHARE = 0.04
SUFFIXES = {
    "negative": ["", " :(", " #fail", "!!"],
    "neutral": ["", "?", ""],
    "positive": ["", " :)", "!!", " <3"],
    "sarcastic": ["", " 🙄"],
}


class WorldSpec(Settings):
    """The synthetic world `surveyless generate` and `demo` write (the config's `world` section)."""

    customers: int = Field(10_000, gt=0, description="Customers in the synthetic world.")
    seed: int = Field(7, description="Seed: the same seed gives the same world.")
    start: datetime = Field(datetime(2024, 1, 1), description="First day the world simulates.")
    end: datetime = Field(datetime(2025, 12, 31), description="Last day the world simulates.")

    @property
    def weeks(self) -> int:
        return int((self.end - self.start).days // 7)


@dataclass
class WorldChunk:
    """Contract tables and truth for one slice of customers (brand-wide mentions ride on chunk 0)."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Climate:
    """World-wide weekly conditions every customer shares: logistics trouble and support backlog."""

    late_logit: np.ndarray
    resolution_days: np.ndarray


def climate(spec: WorldSpec, rng: np.random.Generator) -> Climate:
    weeks = spec.weeks
    noise = np.zeros(weeks)
    for t in range(1, weeks):
        noise[t] = 0.8 * noise[t - 1] + rng.normal(0, 0.15)
    crisis = np.zeros(weeks)
    crisis_start = int(weeks * 0.55)
    crisis[crisis_start : crisis_start + 8] = 1.3
    backlog = np.ones(weeks)
    backlog[int(weeks * 0.3) : int(weeks * 0.3) + 10] = 2.5
    return Climate(late_logit=noise + crisis, resolution_days=1.5 * backlog * np.exp(noise))


def world_chunks(spec: WorldSpec, survey_scale: SurveyScale = "nps") -> Iterator[WorldChunk]:
    """The world, one chunk of customers at a time, surveys answered on `survey_scale`; deterministic for
    `spec.seed`."""
    seeds = np.random.SeedSequence(spec.seed)
    conditions = climate(spec, np.random.default_rng(seeds.spawn(1)[0]))
    n_chunks = -(-spec.customers // CHUNK_CUSTOMERS)
    chunk_seeds = np.random.SeedSequence(spec.seed, spawn_key=(1,)).spawn(n_chunks)
    for chunk in range(n_chunks):
        first = chunk * CHUNK_CUSTOMERS
        size = min(CHUNK_CUSTOMERS, spec.customers - first)
        simulated = simulate_chunk(
            spec, survey_scale, conditions, first, size, np.random.default_rng(chunk_seeds[chunk])
        )
        if chunk == 0:
            brand_rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(2,)))
            simulated.tables["mentions"] = pd.concat(
                [simulated.tables["mentions"], brand_mentions(spec, conditions, brand_rng)], ignore_index=True
            )
        yield simulated


def generate_world(spec: WorldSpec, survey_scale: SurveyScale = "nps") -> WorldChunk:
    """The whole world in memory: for tests and small demos."""
    chunks = list(world_chunks(spec, survey_scale))
    tables = {name: pd.concat([c.tables[name] for c in chunks], ignore_index=True) for name in chunks[0].tables}
    truth = {name: pd.concat([c.truth[name] for c in chunks], ignore_index=True) for name in chunks[0].truth}
    return WorldChunk(tables, truth)


class EventLog:
    """Collects one kind of event, week by week, as column arrays."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}

    def add(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.parts.setdefault(name, []).append(values)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({name: np.concatenate(parts) for name, parts in self.parts.items()})


def simulate_chunk(
    spec: WorldSpec, survey_scale: SurveyScale, conditions: Climate, first: int, size: int, rng: np.random.Generator
) -> WorldChunk:
    segment = rng.choice(3, size=size, p=SEGMENT_SHARES)
    region = rng.choice(len(REGIONS), size=size, p=[0.35, 0.2, 0.17, 0.18, 0.1])
    language = rng.choice(2, size=size, p=[0.75, 0.25])
    signup_day = np.where(
        rng.random(size) < 0.6, -rng.uniform(0, 3 * 365, size), rng.uniform(0, spec.weeks * 7 * 0.8, size)
    )
    baseline = rng.normal(0.3, 0.55, size)
    satisfaction = baseline + rng.normal(0, 0.3, size)
    alive = np.ones(size, dtype=bool)
    churn_day = np.full(size, np.nan)

    orders, activities, mentions, surveys, truth = EventLog(), EventLog(), EventLog(), EventLog(), EventLog()
    months_seen: set[tuple[int, int]] = set()
    for week in range(spec.weeks):
        day0 = 7.0 * week
        week_start = spec.start + pd.Timedelta(days=day0)
        active = alive & (signup_day < day0)
        if (week_start.year, week_start.month) not in months_seen:
            months_seen.add((week_start.year, week_start.month))
            hazard = weekly_churn_hazard(segment, satisfaction)
            who = np.flatnonzero(active)
            truth.add(
                customer=who,
                day=np.full(who.size, day0),
                satisfaction=satisfaction[who],
                churn_probability=1 - (1 - hazard[who]) ** MONTHLY_TRUTH_HORIZON_WEEKS,
            )
        impact = rng.normal(0, 0.07, size)

        # Orders and deliveries.
        counts = rng.poisson(ORDERS_PER_WEEK[segment] * np.exp(0.35 * satisfaction) * active)
        buyer = np.repeat(np.arange(size), counts)
        n = buyer.size
        ordered = day0 + rng.uniform(0, 7, n)
        late = rng.random(n) < sigmoid(-2.4 + REGION_LATE_LOGIT[region[buyer]] + conditions.late_logit[week])
        days_late = np.where(late, 1 + rng.geometric(0.45, n), 0)
        promised = ordered + PROMISED_DAYS[segment[buyer]]
        cancelled = rng.random(n) < sigmoid(-4.2 - 0.8 * satisfaction[buyer])
        defect = ~cancelled & (rng.random(n) < 0.05)
        delivered = np.where(late, promised + days_late + rng.uniform(0, 0.5, n), promised - rng.uniform(0.2, 1.5, n))
        status = np.where(
            cancelled, "cancelled", np.where(defect, np.where(rng.random(n) < 0.3, "refunded", "returned"), "completed")
        )
        orders.add(
            customer=buyer,
            ordered=ordered,
            amount=np.round(
                rng.lognormal(np.log(ORDER_VALUE[segment[buyer]]), 0.5, n) * np.exp(0.08 * satisfaction[buyer]), 2
            ),
            status=status,
            promised=promised,
            delivered=np.where(cancelled, np.nan, delivered),
            discount=np.where(rng.random(n) < 0.25, rng.choice([0.05, 0.1, 0.15, 0.2], n), 0.0),
            channel=rng.choice(len(CHANNELS), n, p=[0.5, 0.25, 0.15, 0.1]),
        )
        delivered_ok = ~late & ~cancelled
        late_hits = np.bincount(buyer, weights=np.sqrt(days_late) * ~cancelled, minlength=size)
        defects = np.bincount(buyer, weights=defect, minlength=size)
        impact += -0.12 * late_hits - 0.3 * defects + 0.015 * np.bincount(buyer, weights=delivered_ok, minlength=size)
        impact -= 0.05 * np.bincount(buyer, weights=cancelled, minlength=size)
        trouble = np.bincount(buyer, weights=late, minlength=size) + defects
        late_count = np.bincount(buyer, weights=late, minlength=size)

        # Support tickets and how well they are handled.
        ticket_counts = rng.poisson((0.015 + 0.5 * trouble) * active)
        ticketer = np.repeat(np.arange(size), ticket_counts)
        t = ticketer.size
        opened = day0 + rng.uniform(0, 7, t)
        resolution = rng.exponential(conditions.resolution_days[week] * np.where(segment[ticketer] == 2, 0.6, 1.0), t)
        unresolved = rng.random(t) < 0.08
        slow = unresolved | (resolution > 3)
        activities.add(
            customer=ticketer,
            day=opened,
            type=np.full(t, "support_ticket"),
            direction=np.full(t, "inbound"),
            resolved=np.where(unresolved, np.nan, opened + resolution),
            value=np.full(t, np.nan),
            cause=np.where(
                late_count[ticketer] > 0, "late delivery", np.where(defects[ticketer] > 0, "product fault", "billing")
            ),
        )
        impact += np.bincount(ticketer, weights=np.where(unresolved, -0.35, np.where(slow, -0.2, 0.04)), minlength=size)
        bad_service = np.bincount(ticketer, weights=slow, minlength=size)

        # Complaints and inbound contacts grow as satisfaction falls.
        complains = active & (rng.random(size) < sigmoid(-4.2 - 1.3 * satisfaction + 0.9 * (trouble + bad_service)))
        inbound = rng.poisson(0.04 * np.exp(-0.6 * satisfaction) * active)
        outbound = rng.poisson(OUTBOUND_PER_WEEK[segment] * active)
        opportunities = rng.poisson(OPPORTUNITIES_PER_WEEK[segment] * active)
        for who, kinds, direction in (
            (np.flatnonzero(complains), ["complaint"], "inbound"),
            (np.repeat(np.arange(size), inbound), ["call", "email"], "inbound"),
            (np.repeat(np.arange(size), outbound), ["call", "email", "meeting", "demo"], "outbound"),
        ):
            kind = np.array(kinds)[rng.integers(0, len(kinds), who.size)]
            kind = np.where((kind == "meeting") & (segment[who] == 0), "email", kind)
            when = day0 + rng.uniform(0, 7, who.size)
            activities.add(
                customer=who,
                day=when,
                type=kind,
                direction=np.full(who.size, direction),
                resolved=np.where(kind == "complaint", when + rng.exponential(4, who.size), np.nan),
                value=np.full(who.size, np.nan),
                cause=np.where(kind == "complaint", complaint_cause(who, bad_service, late_count, defects), ""),
            )
        impact += 0.02 * outbound * (segment > 0)
        bidder = np.repeat(np.arange(size), opportunities)
        won = rng.random(bidder.size) < sigmoid(0.2 + 1.2 * satisfaction[bidder])
        activities.add(
            customer=bidder,
            day=day0 + rng.uniform(0, 7, bidder.size),
            type=np.where(won, "opportunity_won", "opportunity_lost"),
            direction=np.full(bidder.size, "outbound"),
            resolved=np.full(bidder.size, np.nan),
            value=np.round(rng.lognormal(np.log(5 * ORDER_VALUE[segment[bidder]]), 0.6), 2),
            cause=np.full(bidder.size, ""),
        )
        impact += 0.05 * np.bincount(bidder, weights=won, minlength=size)

        # Social posts: unhappier customers and bad weeks post more, and in a darker tone.
        post_counts = rng.poisson(
            (0.012 * (1 + 2.5 * sigmoid(-2 * satisfaction)) + 0.25 * (trouble + bad_service > 0)) * active
        )
        poster = np.repeat(np.arange(size), post_counts)
        tone = np.tanh(
            0.8 * satisfaction[poster] - 0.6 * (trouble[poster] + bad_service[poster]) + rng.normal(0, 0.5, poster.size)
        )
        mentions.add(
            customer=poster,
            day=day0 + rng.uniform(0, 7, poster.size),
            linked=rng.random(poster.size) < 0.6,
            tone=tone,
            language=language[poster],
        )

        # Quarterly surveys: the more satisfied answer more often, and the day's mood colours the score.
        if week % 13 == 0:
            answers = active & (rng.random(size) < 0.3) & (rng.random(size) < sigmoid(-1.0 + 1.0 * satisfaction))
            who = np.flatnonzero(answers)
            surveys.add(customer=who, day=day0 + rng.uniform(0, 14, who.size), satisfaction=satisfaction[who])

        # Churn: hazard rises as satisfaction falls, and right after bad service.
        leaving = active & (rng.random(size) < weekly_churn_hazard(segment, satisfaction) + 0.01 * (bad_service > 0))
        alive &= ~leaving
        churn_day[leaving] = day0 + rng.uniform(0, 7, int(leaving.sum()))
        satisfaction = satisfaction + 0.08 * (baseline - satisfaction) + impact

    customer_ids = np.array([f"C{first + i:07d}" for i in range(size)])
    # Texts draw from their own generator, so the world's numbers are the same with or without them.
    voice = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    order_log = orders.frame()
    tables = {
        "customers": pd.DataFrame(
            {
                "customer_id": customer_ids,
                "signup_date": to_time(spec, signup_day).dt.normalize(),
                "segment": SEGMENTS[segment],
                "region": REGIONS[region],
                "language": LANGUAGES[language],
            }
        ),
        "orders": order_table(spec, order_log, customer_ids, first),
        "activities": activity_table(spec, activities.frame(), customer_ids, first, LANGUAGES[language], voice),
        "mentions": mention_table(spec, mentions.frame(), customer_ids, first, rng),
        "surveys": survey_table(spec, survey_scale, surveys.frame(), customer_ids, rng),
        "churn_events": churn_table(spec, churn_day, segment, customer_ids),
        "reviews": review_table(spec, order_log, customer_ids, first, LANGUAGES[language], voice),
    }
    truth_frame = truth.frame()
    truth_tables = {
        "satisfaction": pd.DataFrame(
            {
                "customer_id": customer_ids[truth_frame["customer"]],
                "date": to_time(spec, truth_frame["day"]),
                "satisfaction": truth_frame["satisfaction"],
                "churn_probability_90d": truth_frame["churn_probability"],
            }
        ),
        "customers": pd.DataFrame(
            {
                "customer_id": customer_ids,
                "baseline_satisfaction": baseline,
                "final_satisfaction": satisfaction,
                "left_at": to_time(spec, churn_day),
                "contractual": np.isin(SEGMENTS[segment], CONTRACTUAL_SEGMENTS),
            }
        ),
    }
    return WorldChunk(tables, truth_tables)


def weekly_churn_hazard(segment: np.ndarray, satisfaction: np.ndarray) -> np.ndarray:
    return CHURN_HAZARD[segment] * np.exp(-1.2 * satisfaction)


def to_time(spec: WorldSpec, days: np.ndarray | pd.Series) -> pd.Series:
    seconds = np.round(np.asarray(days, dtype=float) * 86_400)
    return pd.Series(spec.start + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us]")


def event_ids(prefix: str, first: int, count: int) -> np.ndarray:
    """Ids unique across chunks: the chunk's first customer number, then a running number."""
    return np.char.add(f"{prefix}{first:07d}-", np.arange(count).astype(str))


def in_world(spec: WorldSpec, frame: pd.DataFrame, day_column: str) -> pd.DataFrame:
    """Events the export can hold: on or before the world's last day."""
    return (
        frame[frame[day_column] < (spec.end - spec.start).days + 1]
        .sort_values(day_column, kind="stable")
        .reset_index(drop=True)
    )


def order_table(spec: WorldSpec, raw: pd.DataFrame, customer_ids: np.ndarray, first: int) -> pd.DataFrame:
    raw = in_world(spec, raw, "ordered")
    known = raw["delivered"] < (spec.end - spec.start).days + 1
    return pd.DataFrame(
        {
            "order_id": event_ids("O", first, len(raw)),
            "customer_id": customer_ids[raw["customer"]],
            "ordered_at": to_time(spec, raw["ordered"]),
            "amount": raw["amount"],
            "status": raw["status"].where(known | (raw["status"] == "cancelled"), "completed"),
            "promised_at": to_time(spec, raw["promised"]),
            "delivered_at": to_time(spec, raw["delivered"].where(known)),
            "discount": raw["discount"],
            "channel": CHANNELS[raw["channel"]],
        }
    )


def complaint_cause(
    who: np.ndarray, bad_service: np.ndarray, late_count: np.ndarray, defects: np.ndarray
) -> np.ndarray:
    """What a complaint is about: the service itself first, then the week's late deliveries or defects."""
    return np.where(
        bad_service[who] > 0,
        "rude service",
        np.where(late_count[who] > 0, "late delivery", np.where(defects[who] > 0, "product fault", "billing")),
    )


def theme_texts(causes: np.ndarray, languages: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A short text about each cause in each customer's language ('' for none)."""
    texts = np.full(causes.size, None, dtype=object)
    for (language, cause), options in THEME_TEXTS.items():
        picked = (causes == cause) & (languages == language)
        texts[picked] = np.array(options, dtype=object)[rng.integers(0, len(options), int(picked.sum()))]
    return texts


def activity_table(
    spec: WorldSpec,
    raw: pd.DataFrame,
    customer_ids: np.ndarray,
    first: int,
    languages: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Activities; tickets and complaints carry the CRM's contact-reason code and a subject line about their cause."""
    raw = in_world(spec, raw, "day")
    horizon = (spec.end - spec.start).days + 1
    causes = raw["cause"].to_numpy().astype(str)
    return pd.DataFrame(
        {
            "activity_id": event_ids("A", first, len(raw)),
            "customer_id": customer_ids[raw["customer"]],
            "occurred_at": to_time(spec, raw["day"]),
            "type": raw["type"],
            "direction": raw["direction"],
            "resolved_at": to_time(spec, raw["resolved"].where(raw["resolved"] < horizon)),
            "value": raw["value"],
            "reason": pd.Series(causes).map(PLANTED_THEMES).to_numpy(),
            "text": theme_texts(causes, languages[raw["customer"].to_numpy()], rng),
        }
    )


def review_table(
    spec: WorldSpec,
    orders: pd.DataFrame,
    customer_ids: np.ndarray,
    first: int,
    languages: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Reviews of a few delivered orders, days after delivery: late and returned orders get low stars and a text
    about why; a third are anonymous (no customer_id)."""
    delivered = orders[orders["delivered"].notna() & (orders["status"] != "cancelled")]
    reviewed = delivered[rng.random(len(delivered)) < REVIEW_SHARE]
    reviewed = reviewed.assign(posted=reviewed["delivered"] + rng.uniform(1, 10, len(reviewed)))
    reviewed = in_world(spec, reviewed, "posted")
    late = (reviewed["delivered"] > reviewed["promised"]).to_numpy()
    faulty = reviewed["status"].isin(["returned", "refunded"]).to_numpy()
    causes = np.where(faulty, "product fault", np.where(late, "late delivery", "")).astype(object)
    rating = np.where(
        causes != "",
        rng.choice([1, 2, 3], len(reviewed), p=[0.4, 0.4, 0.2]),
        rng.choice([3, 4, 5], len(reviewed), p=[0.1, 0.35, 0.55]),
    )
    language = languages[reviewed["customer"].to_numpy()]
    texts = theme_texts(causes.astype(str), language, rng)
    praise = texts == None  # noqa: E711 - object array: elementwise comparison with None
    texts[praise] = [
        PRAISE[lang][i] for lang, i in zip(language[praise], rng.integers(0, 3, int(praise.sum())), strict=True)
    ]
    anonymous = rng.random(len(reviewed)) < 1 / 3
    return pd.DataFrame(
        {
            "review_id": event_ids("R", first, len(reviewed)),
            "customer_id": np.where(anonymous, None, customer_ids[reviewed["customer"].to_numpy()]),
            "posted_at": to_time(spec, reviewed["posted"]),
            "rating": rating.astype(float),
            "text": texts,
            "source": rng.choice(["trustpilot", "google", "store"], len(reviewed)),
        }
    )


def mention_texts(tone: np.ndarray, language: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Post text for each tone in -1..1; a share of the negative ones are written sarcastically."""
    mood = np.where(tone < -0.25, "negative", np.where(tone > 0.35, "positive", "neutral"))
    mood = np.where((mood == "negative") & (rng.random(tone.size) < 0.12), "sarcastic", mood)
    texts = np.empty(tone.size, dtype=object)
    for (lang, kind), options in TEXTS.items():
        picked = (LANGUAGES[language] == lang) & (mood == kind)
        base = np.array(options, dtype=object)[rng.integers(0, len(options), int(picked.sum()))]
        suffix = np.array(SUFFIXES[kind], dtype=object)[rng.integers(0, len(SUFFIXES[kind]), int(picked.sum()))]
        texts[picked] = base + suffix
    return texts


def mention_table(
    spec: WorldSpec, raw: pd.DataFrame, customer_ids: np.ndarray, first: int, rng: np.random.Generator
) -> pd.DataFrame:
    raw = in_world(spec, raw, "day")
    return pd.DataFrame(
        {
            "mention_id": event_ids("M", first, len(raw)),
            "customer_id": pd.Series(customer_ids[raw["customer"]], dtype="str").where(raw["linked"].to_numpy()),
            "posted_at": to_time(spec, raw["day"]),
            "text": mention_texts(raw["tone"].to_numpy(), raw["language"].to_numpy(), rng),
            "channel": np.array(["x", "instagram", "facebook", "forum"])[rng.integers(0, 4, len(raw))],
        }
    )


def brand_mentions(spec: WorldSpec, conditions: Climate, rng: np.random.Generator) -> pd.DataFrame:
    """Posts by the wider public, never linked to a customer: their tone follows the logistics climate."""
    counts = rng.poisson(max(1.0, spec.customers * 0.003), spec.weeks)
    week = np.repeat(np.arange(spec.weeks), counts)
    tone = np.tanh(0.3 - 1.2 * conditions.late_logit[week] + rng.normal(0, 0.6, week.size))
    raw = pd.DataFrame({"day": 7.0 * week + rng.uniform(0, 7, week.size)})
    language = rng.choice(2, week.size, p=[0.7, 0.3])
    keep = raw["day"] < (spec.end - spec.start).days + 1
    return pd.DataFrame(
        {
            "mention_id": np.char.add("P", np.arange(week.size).astype(str))[keep],
            "customer_id": pd.Series([None] * int(keep.sum()), dtype="str"),
            "posted_at": to_time(spec, raw["day"][keep]),
            "text": mention_texts(tone, language, rng)[keep],
            "channel": np.array(["x", "instagram", "facebook", "forum"])[rng.integers(0, 4, week.size)][keep],
        }
    ).sort_values("posted_at", kind="stable")


def survey_table(
    spec: WorldSpec, scale: SurveyScale, raw: pd.DataFrame, customer_ids: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    raw = in_world(spec, raw, "day")
    mood = rng.normal(0, 1.0, len(raw))
    latent = raw["satisfaction"].to_numpy()
    base, slope, noise, low, high = SURVEY_RESPONSE[scale]
    score = np.clip(np.round(base + slope * latent + noise * mood), low, high) + 0.0
    return pd.DataFrame(
        {
            "customer_id": customer_ids[raw["customer"]],
            "answered_at": to_time(spec, raw["day"]),
            "score": score,
        }
    )


def churn_table(spec: WorldSpec, churn_day: np.ndarray, segment: np.ndarray, customer_ids: np.ndarray) -> pd.DataFrame:
    """Contract ends for subscription segments; consumers lapse silently and leave no row."""
    recorded = ~np.isnan(churn_day) & np.isin(SEGMENTS[segment], CONTRACTUAL_SEGMENTS)
    recorded &= churn_day < (spec.end - spec.start).days + 1
    return (
        pd.DataFrame(
            {
                "customer_id": customer_ids[recorded],
                "churned_at": to_time(spec, churn_day[recorded]),
            }
        )
        .sort_values("churned_at", kind="stable")
        .reset_index(drop=True)
    )


def true_nps_probabilities(latent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(promoter) and P(detractor) if every customer answered today: what a survey of everyone would find."""
    from scipy.stats import norm

    base, slope, noise, _, _ = SURVEY_RESPONSE["nps"]
    mean = base + slope * latent
    return 1 - norm.cdf((8.5 - mean) / noise), norm.cdf((6.5 - mean) / noise)
