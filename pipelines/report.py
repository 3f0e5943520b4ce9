"""The HTML report a CX lead opens in a browser: who to call first, why, what to do, what costs most, what changed.

One self-contained file (charts embedded as images, no scripts, no links out), in English or Finnish, laid out
for any screen from a phone to a wide monitor, and printable. Every word comes from `TEXT` (or, for features and
actions, from `features.registry`), every number, date and amount is formatted by Babel for the report's locale,
and every value from data is HTML-escaped by the template engine.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from features.formats import Formats
from features.registry import DRIVER_NAMES
from features.sentiment import LexiconScorer
from features.tables import Tables
from features.themes import voice_summary
from models.artifact import TrainedModel
from models.drift import MISSING
from models.monitoring import nps_table
from models.scoring import Scored
from pipelines.config import Config
from pipelines.writers import write_table_atomically, write_text_atomically

SURVEY_LOOKBACK = pd.Timedelta(days=90)
CHANGES_SHOWN = 10
PRIORITY_LIST = "priority_list.csv"
VOICE_SHOWN = 15

TEXT = {
    "en": {
        "title": "Customer risk report",
        "as_of": "as of",
        "intro": "Scores inferred from purchases, sales and service activity and social listening; no survey needed.",
        "models": "Churn model v{churn}, satisfaction model v{satisfaction}.",
        "scored": "customers scored",
        "high_risk": "high-risk customers",
        "high_risk_value": "carrying {value} of the revenue at risk",
        "revenue_at_risk": "revenue at risk",
        "revenue_note": "churn probability × {measure}, summed over customers",
        "listed_share": "the {count} customers listed first carry {share} of it",
        "inferred_nps": "inferred NPS (−100…100)",
        "mean_score": "mean inferred satisfaction ({scale})",
        "each_customer_counts_one": "1 per customer (no order values)",
        "nps_title": "NPS: inferred for everyone, beside what surveys said",
        "nps_note": "NPS runs from −100 to 100: the share of customers likely to recommend (9–10) minus the share "
        "unlikely to (0–6). The inferred NPS covers all {customers} scored customers: each customer's likelihood to "
        "recommend is predicted from behaviour, and survey answers are reweighted for who tends to answer. The "
        "surveyed NPS covers only the {answers} answers of the 90 days before {as_of}, with its 95 % interval. "
        "The two differ when those who answer are happier or unhappier than the rest, and because a few hundred "
        "answers move by chance.",
        "segment": "Segment",
        "customers": "Customers",
        "inferred": "Inferred NPS",
        "surveyed": "Surveyed NPS",
        "interval": "95 % interval",
        "answers": "Answers",
        "all": "all",
        "priority_title": "Who to call first",
        "priority_note": "Ranked by value at risk: churn probability × the customer's value ({measure}). Each row "
        "shows the reasons a person can act on and the playbook's next action. Customers in the control group are "
        "listed but left untouched, so the effect of acting can be measured.",
        "customer": "Customer",
        "value": "Value",
        "value_at_risk": "Value at risk",
        "status": "Status",
        "owner": "Owner",
        "churn": "Churn probability",
        "change": "Change",
        "recommend": "Likelihood to recommend (0–10)",
        "satisfaction": "Satisfaction ({scale})",
        "why": "Why",
        "action": "Next action",
        "control": "control group: leave untouched",
        "no_reason": "no actionable driver raises this risk",
        "new": "new",
        "active": "active",
        "lapsed": "lapsed",
        "risk_title": "Churn risk distribution",
        "band": "Risk",
        "low": "low",
        "medium": "medium",
        "high": "high",
        "threshold": "{band} from {value}",
        "pain_title": "Pain points: what costs most",
        "pain_note": "Each driver's share of what raises each customer's churn risk, times the churn probability and "
        "the customer's value ({measure}), summed over customers. Fix the top rows first.",
        "driver": "Driver",
        "at_stake": "Revenue at risk",
        "main_driver_for": "Customers for whom it is the main driver",
        "voice_title": "What customers talk about",
        "voice_note": "Themes found in posts, ticket and call notes and reviews of the last 90 days (named by their "
        "most telling words; no customer's text is shown), and the CRM's contact reasons beside them. Trend: texts "
        "against the 90 days before. Value at risk: of the customers who raised it.",
        "theme": "theme",
        "reason_code": "contact reason",
        "topic": "Topic",
        "terms": "Words",
        "texts": "Texts",
        "trend": "Trend",
        "negative": "Negative",
        "no_voice": "No texts or contact reasons in the last 90 days.",
        "changes_title": "What changed since the previous run",
        "no_previous": "This is the first scoring run: nothing to compare with yet.",
        "changes": "Since {previous}: mean churn probability {mean} points; high-risk customers {high} "
        "({newly} newly high risk, {left} no longer); {new} new customers, {gone} gone.",
        "newly_high": "Newly high risk",
        "risers": "Scores that rose most",
        "none_newly": "Nobody became high risk.",
        "drift_title": "Drift: are today's customers like the ones the model learned from?",
        "drift_ok": "No feature moved past the drift threshold (PSI {threshold}); prediction distribution PSI {psi}.",
        "drift_warn": "{count} features moved past the drift threshold (PSI {threshold}); prediction distribution "
        "PSI {psi}. Scores for these customers rest on patterns the model saw less of; consider retraining.",
        "not_compared": "Not compared, because they grow with time for every customer: {features}.",
        "feature": "Signal",
        "psi": "PSI",
        "bin": "Range",
        "reference": "At training",
        "current": "Today",
        "missing": "missing",
        "below": "below {value}",
        "from": "{value} or more",
        "between": "{low} to {high}",
        "performance_title": "How earlier predictions turned out",
        "no_performance": "No scoring date has passed its churn horizon yet.",
        "realised_auc": "Realised churn ROC AUC",
        "alert": "Alert",
        "in_sample": "in sample: the model learned these outcomes",
        "card_title": "Model card summary",
        "card_churn": "Churn: ROC AUC {auc} on held-out customers; calibration error {ece}; top-decile lift {lift}.",
        "card_satisfaction": "Satisfaction: Spearman {spearman} with held-out survey answers, mean absolute error "
        "{mae} points; 90 % intervals cover {coverage}.",
        "card_data": "Trained on {sources}; {cutoffs} cutoffs from {first} to {last}.",
        "no_satisfaction": "Satisfaction: no model (too few survey answers).",
        "sources": {"orders": "orders", "activities": "sales and service activity", "mentions": "social mentions"},
        "customer_attributes": "customer attributes",
    },
    "fi": {
        "title": "Asiakasriskiraportti",
        "as_of": "tilanne",
        "intro": "Arviot perustuvat ostoihin, myynti- ja palvelutapahtumiin sekä some-seurantaan; kyselyä ei tarvita.",
        "models": "Poistumamalli v{churn}, tyytyväisyysmalli v{satisfaction}.",
        "scored": "asiakasta arvioitu",
        "high_risk": "korkean riskin asiakasta",
        "high_risk_value": "heillä {value} riskissä olevasta liikevaihdosta",
        "revenue_at_risk": "liikevaihto riskissä",
        "revenue_note": "poistumatodennäköisyys × {measure}, summattuna asiakkaiden yli",
        "listed_share": "listan {count} ensimmäisellä asiakkaalla on siitä {share}",
        "inferred_nps": "päätelty NPS (−100…100)",
        "mean_score": "keskimääräinen päätelty tyytyväisyys ({scale})",
        "each_customer_counts_one": "1 per asiakas (ei tilausarvoja)",
        "nps_title": "NPS: päätelty kaikille, rinnalla kyselyjen tulos",
        "nps_note": "NPS vaihtelee välillä −100…100: suosittelijoiden (9–10) osuus miinus arvostelijoiden (0–6) "
        "osuus. Päätelty NPS kattaa kaikki {customers} arvioitua asiakasta: kunkin suositteluhalukkuus ennustetaan "
        "käyttäytymisestä, ja kyselyvastaukset painotetaan sen mukaan, ketkä yleensä vastaavat. Kyselyjen NPS "
        "perustuu vain {answers} vastaukseen {as_of} edeltäneiltä 90 päivältä (95 %:n väli). Luvut eroavat, kun "
        "vastaajat ovat muita tyytyväisempiä tai tyytymättömämpiä, ja koska muutama sata vastausta vaihtelee "
        "sattumalta.",
        "segment": "Segmentti",
        "customers": "Asiakkaita",
        "inferred": "Päätelty NPS",
        "surveyed": "Kyselyjen NPS",
        "interval": "95 %:n väli",
        "answers": "Vastauksia",
        "all": "kaikki",
        "priority_title": "Kenelle soittaa ensin",
        "priority_note": "Järjestetty riskissä olevan arvon mukaan: poistumatodennäköisyys × asiakkaan arvo "
        "({measure}). Riveillä näkyvät syyt, joihin voi vaikuttaa, ja toimintaohjeen seuraava askel. "
        "Verrokkiryhmän asiakkaat näkyvät listalla, mutta heihin ei olla yhteydessä, jotta toimien vaikutus "
        "voidaan mitata.",
        "customer": "Asiakas",
        "value": "Arvo",
        "value_at_risk": "Arvo riskissä",
        "status": "Tila",
        "owner": "Vastuuhenkilö",
        "churn": "Poistumatodennäköisyys",
        "change": "Muutos",
        "recommend": "Suositteluhalukkuus (0–10)",
        "satisfaction": "Tyytyväisyys ({scale})",
        "why": "Miksi",
        "action": "Seuraava toimenpide",
        "control": "verrokkiryhmä: ei toimenpiteitä",
        "no_reason": "mikään vaikutettavissa oleva tekijä ei nosta tätä riskiä",
        "new": "uusi",
        "active": "aktiivinen",
        "lapsed": "hiipunut",
        "risk_title": "Poistumariskin jakauma",
        "band": "Riski",
        "low": "matala",
        "medium": "keskitaso",
        "high": "korkea",
        "threshold": "{band} alkaen {value}",
        "pain_title": "Kipupisteet: mikä maksaa eniten",
        "pain_note": "Kunkin tekijän osuus asiakkaan poistumariskiä nostavista tekijöistä kerrottuna "
        "poistumatodennäköisyydellä ja asiakkaan arvolla ({measure}), summattuna asiakkaiden yli. Korjaa "
        "ylimmät ensin.",
        "driver": "Tekijä",
        "at_stake": "Liikevaihto riskissä",
        "main_driver_for": "Asiakkaita, joilla tämä on päätekijä",
        "voice_title": "Mistä asiakkaat puhuvat",
        "voice_note": "Aiheet viimeisten 90 päivän julkaisuista, tiketti- ja puhelumuistiinpanoista sekä arvioista "
        "(nimetty kuvaavimmilla sanoillaan; asiakkaiden tekstejä ei näytetä) ja niiden rinnalla CRM:n "
        "yhteydenottosyyt. Suunta: tekstit verrattuna edeltäviin 90 päivään. Arvo riskissä: aiheen esiin "
        "ottaneiden asiakkaiden.",
        "theme": "aihe",
        "reason_code": "yhteydenottosyy",
        "topic": "Aihe",
        "terms": "Sanat",
        "texts": "Tekstejä",
        "trend": "Suunta",
        "negative": "Kielteisiä",
        "no_voice": "Ei tekstejä eikä yhteydenottosyitä viimeisten 90 päivän ajalta.",
        "changes_title": "Mikä muuttui edellisestä ajosta",
        "no_previous": "Tämä on ensimmäinen arviointiajo: vertailukohtaa ei vielä ole.",
        "changes": "{previous} jälkeen: keskimääräinen poistumatodennäköisyys {mean} %-yks.; korkean riskin "
        "asiakkaita {high} ({newly} uutta, {left} poistui ryhmästä); {new} uutta asiakasta, {gone} poistunut.",
        "newly_high": "Uudet korkean riskin asiakkaat",
        "risers": "Eniten noussut riski",
        "none_newly": "Kukaan ei noussut korkeaan riskiin.",
        "drift_title": "Ajautuminen: muistuttavatko nykyiset asiakkaat niitä, joista malli oppi?",
        "drift_ok": "Yksikään tekijä ei ylittänyt ajautumisrajaa (PSI {threshold}); ennusteiden jakauman PSI {psi}.",
        "drift_warn": "{count} tekijää ylitti ajautumisrajan (PSI {threshold}); ennusteiden jakauman PSI {psi}. "
        "Näiden asiakkaiden arviot nojaavat malliin harvemmin nähtyihin tilanteisiin; harkitse "
        "uudelleenkoulutusta.",
        "not_compared": "Ei verrattu, koska ne kasvavat ajan myötä jokaisella asiakkaalla: {features}.",
        "feature": "Signaali",
        "psi": "PSI",
        "bin": "Väli",
        "reference": "Opetushetkellä",
        "current": "Nyt",
        "missing": "puuttuu",
        "below": "alle {value}",
        "from": "{value} tai enemmän",
        "between": "{low}–{high}",
        "performance_title": "Miten aiemmat ennusteet osuivat",
        "no_performance": "Yhdenkään arviointipäivän poistumahorisontti ei ole vielä kulunut.",
        "realised_auc": "Toteutunut ROC AUC",
        "alert": "Hälytys",
        "in_sample": "opetusaineiston sisällä: malli on nähnyt nämä lopputulokset",
        "card_title": "Mallikortin yhteenveto",
        "card_churn": "Poistuma: ROC AUC {auc} sivuun jätetyillä asiakkailla; kalibrointivirhe {ece}; ylimmän "
        "kymmenyksen nosto {lift}.",
        "card_satisfaction": "Tyytyväisyys: Spearman {spearman} sivuun jätettyihin kyselyvastauksiin, keskimääräinen "
        "virhe {mae} pistettä; 90 %:n välit kattavat {coverage}.",
        "card_data": "Opetettu lähteillä {sources}; {cutoffs} leikkauspäivää {first}–{last}.",
        "no_satisfaction": "Tyytyväisyys: ei mallia (liian vähän kyselyvastauksia).",
        "sources": {"orders": "tilaukset", "activities": "myynti- ja palvelutapahtumat", "mentions": "some-maininnat"},
        "customer_attributes": "asiakastiedot",
    },
}


def priority_list(
    scored: Scored, customers: pd.DataFrame, owner_attribute: str | None, previous: pd.DataFrame | None
) -> pd.DataFrame:
    """Every scored customer with segment, value, owner and the change since the previous run, ranked by value at
    risk (churn probability × customer value), then by churn probability."""
    predictions = scored.predictions
    attributes = customers.set_index("customer_id").reindex(predictions["customer_id"])
    before = (
        previous.set_index("customer_id")["churn_probability"].reindex(predictions["customer_id"]).to_numpy()
        if previous is not None
        else np.full(len(predictions), np.nan)
    )
    listed = predictions.assign(
        segment=attributes["segment"].to_numpy() if "segment" in attributes else None,
        owner=attributes[owner_attribute].to_numpy() if owner_attribute in attributes else None,
        value=scored.customer_value,
        value_at_risk=predictions["churn_probability"].to_numpy() * scored.customer_value,
        churn_change=predictions["churn_probability"].to_numpy() - before,
    )
    return listed.sort_values(["value_at_risk", "churn_probability"], ascending=False, kind="stable")


def report_context(
    config: Config,
    tables: Tables,
    scored: Scored,
    ranked: pd.DataFrame,
    churn: TrainedModel,
    satisfaction: TrainedModel | None,
    drift: dict,
    previous: pd.DataFrame | None,
    card: dict,
    evaluations: pd.DataFrame,
) -> dict:
    """Everything the report shows, as plain values and formatted text: the template only lays it out. `ranked` is
    the `priority_list`."""
    predictions = scored.predictions
    language = config.language
    text, formats = TEXT[language], Formats(language, config.report.currency)
    as_of = pd.Timestamp(predictions["as_of"].iloc[0]) if len(predictions) else tables.data_end
    at_risk_total = float(ranked["value_at_risk"].sum())
    listed = ranked.head(config.output.report_customers)
    high = ranked["churn_risk"] == "high"
    catalogue = churn.recipe.catalogue
    measure = (
        catalogue[scored.value_measure].described(language).lower()
        if scored.value_measure in catalogue
        else text["each_customer_counts_one"]
    )
    return {
        "lang": language,
        "t": text,
        "as_of": formats.date(as_of),
        "customers": formats.number(len(predictions)),
        "high_risk": formats.number(int(high.sum())),
        "high_risk_share": formats.percent(share(ranked["value_at_risk"][high].sum(), at_risk_total)),
        "revenue_at_risk": formats.money(at_risk_total),
        "listed_share": text["listed_share"].format(
            count=len(listed), share=formats.percent(share(listed["value_at_risk"].sum(), at_risk_total))
        ),
        "value_measure": measure,
        "satisfaction": satisfaction_context(config, tables, ranked, satisfaction, as_of, formats),
        "priority": [priority_row(row, config, formats) for row in listed.to_dict("records")],
        "show_owner": config.report.owner_attribute in tables.customers,
        "bands": [
            {"band": text[level], "customers": formats.number(int((predictions["churn_risk"] == level).sum()))}
            for level in ("low", "medium", "high")
        ],
        "risk_chart": risk_chart(predictions, config, formats),
        "pain_points": [
            {
                "driver": DRIVER_NAMES[language][row["driver"]],
                "revenue_at_risk": formats.money(row["revenue_at_risk"]),
                "customers": formats.number(row["customers_most_affected"]),
            }
            for row in scored.pain_points.to_dict("records")
        ],
        "changes": changes_context(ranked, previous, config, formats),
        "voice": voice_context(tables, churn, as_of, ranked, language, formats),
        "drift": drift_context(drift, catalogue, language, formats),
        "evaluations": [
            row | {"roc_auc": formats.number(float(row["roc_auc"]), 3) if row["roc_auc"] != "" else "–"}
            for row in evaluations.tail(12).to_dict("records")
        ],
        "card": card_summary(card, text, formats),
        "churn_version": predictions["churn_model_version"].iloc[0] if len(predictions) else "",
        "satisfaction_version": (predictions["satisfaction_model_version"].iloc[0] or "–") if len(predictions) else "",
    }


def share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def priority_row(row: dict, config: Config, formats: Formats) -> dict:
    text = TEXT[config.language]
    reasons = [row[f"reason_{k}"] for k in (1, 2, 3) if row[f"reason_{k}"]]
    change = row["churn_change"]
    return {
        "customer_id": row["customer_id"],
        "segment": row["segment"] if isinstance(row["segment"], str) else "–",
        "owner": row["owner"] if isinstance(row["owner"], str) else "–",
        "status": text[row["status"]],
        "value": formats.money(row["value"]),
        "value_at_risk": formats.money(row["value_at_risk"]),
        "churn": formats.percent(row["churn_probability"]),
        "high": row["churn_risk"] == "high",
        "change": "–" if np.isnan(change) else formats.signed(100 * change, 1),
        "satisfaction": "–" if np.isnan(row["satisfaction_score"]) else formats.number(row["satisfaction_score"], 1),
        "reasons": reasons or [text["no_reason"]],
        "action": text["control"] if row["control_group"] else row["next_action"] or "–",
        "control": bool(row["control_group"]),
    }


def satisfaction_context(
    config: Config,
    tables: Tables,
    ranked: pd.DataFrame,
    model: TrainedModel | None,
    as_of: pd.Timestamp,
    formats: Formats,
) -> dict:
    """NPS (the −100..100 figure) inferred and surveyed on the NPS scale; the mean score on CSAT."""
    text = TEXT[config.language]
    scale = config.satisfaction.scale
    column = text["recommend"] if scale == "nps" else text["satisfaction"].format(scale="1–5")
    context = {"column": column, "nps": None, "mean": None}
    if model is None:
        return context
    if scale != "nps":
        return context | {"mean": formats.number(float(ranked["satisfaction_score"].mean()), 1)}
    surveys = tables.surveys if tables.surveys is not None else pd.DataFrame(columns=["customer_id", "answered_at"])
    recent = surveys[(surveys["answered_at"] >= as_of - SURVEY_LOOKBACK) & (surveys["answered_at"] < as_of)]
    segments = (
        ranked.set_index("customer_id")["segment"].fillna(text["all"]) if ranked["segment"].notna().any() else None
    )
    table = nps_table(
        ranked.set_index("customer_id")["satisfaction_score"],
        model.residuals,
        segments if segments is not None else pd.Series("all", index=ranked["customer_id"]),
        recent,
    )
    rows = [
        {
            "segment": text["all"] if row["segment"] == "all" else row["segment"],
            "customers": formats.number(row["customers"]),
            "inferred": formats.signed(row["inferred"], 1),
            "surveyed": formats.signed(row["surveyed"], 1) if row["answers"] else "–",
            "interval": f"{formats.signed(row['surveyed_low'])} … {formats.signed(row['surveyed_high'])}"
            if row["answers"]
            else "–",
            "answers": formats.number(row["answers"]),
        }
        for row in table.to_dict("records")
    ]
    overall = table[table["segment"] == "all"].iloc[0]
    note = text["nps_note"].format(
        customers=formats.number(len(ranked)), answers=formats.number(overall["answers"]), as_of=formats.date(as_of)
    )
    return context | {"nps": rows, "overall": formats.signed(overall["inferred"]), "note": note}


def changes_context(
    ranked: pd.DataFrame, previous: pd.DataFrame | None, config: Config, formats: Formats
) -> dict | None:
    """Who is newly high risk and whose score rose most since the previous complete run."""
    if previous is None:
        return None
    text = TEXT[config.language]
    before = previous.set_index("customer_id")
    was_high = ranked["customer_id"].map(before["churn_risk"]).eq("high")
    is_high = ranked["churn_risk"] == "high"
    known = ranked["customer_id"].isin(before.index)
    newly = ranked[is_high & ~was_high & known].head(CHANGES_SHOWN)
    risers = ranked[ranked["churn_change"] > 0].nlargest(CHANGES_SHOWN, "churn_change")
    summary = text["changes"].format(
        previous=formats.date(previous["as_of"].iloc[0]),
        mean=formats.signed(100 * (ranked["churn_probability"].mean() - previous["churn_probability"].mean()), 1),
        high=formats.signed(int(is_high.sum() - (previous["churn_risk"] == "high").sum())),
        newly=formats.number(int((is_high & ~was_high & known).sum())),
        left=formats.number(int((before["churn_risk"] == "high").sum() - (is_high & was_high).sum())),
        new=formats.number(int((~known).sum())),
        gone=formats.number(int((~before.index.isin(ranked["customer_id"])).sum())),
    )
    return {
        "summary": summary,
        "newly": [priority_row(row, config, formats) for row in newly.to_dict("records")],
        "risers": [priority_row(row, config, formats) for row in risers.to_dict("records")],
    }


def voice_context(
    tables: Tables, churn: TrainedModel, as_of: pd.Timestamp, ranked: pd.DataFrame, language: str, formats: Formats
) -> list[dict]:
    """What customers talk about in the last 90 days: each theme's terms (never a customer's text), volume, trend,
    negative share and the value at risk of those raising it; contact-reason codes beside."""
    value_at_risk = ranked.set_index("customer_id")["value_at_risk"]
    summary = voice_summary(tables, churn.recipe.features.themes, as_of, value_at_risk, LexiconScorer.shipped())
    text = TEXT[language]
    return [
        {
            "label": row["label"],
            "kind": text["theme"] if row["kind"] == "theme" else text["reason_code"],
            "terms": ", ".join(row["terms"]),
            "texts": formats.number(row["texts"]),
            "trend": formats.signed(row["texts"] - row["texts_before"]),
            "negative": "–" if np.isnan(row["negative_share"]) else formats.percent(row["negative_share"], 0),
            "customers": formats.number(row["customers"]),
            "value_at_risk": formats.money(row["value_at_risk"]),
        }
        for row in summary.head(VOICE_SHOWN).to_dict("records")
    ]


def drift_context(drift: dict, catalogue: dict, language: str, formats: Formats) -> dict:
    """Flagged features with their training and current distributions side by side, in the report's words."""
    text = TEXT[language]
    psi = formats.number(drift["prediction_psi"], 3)
    threshold = formats.number(drift["threshold"], 2)
    flagged = drift["flagged_features"]
    return {
        "summary": text["drift_warn"].format(count=len(flagged), threshold=threshold, psi=psi)
        if flagged
        else text["drift_ok"].format(threshold=threshold, psi=psi),
        "warn": bool(flagged),
        "flagged": [
            {
                "feature": catalogue[name].described(language),
                "psi": formats.number(drift["feature_psi"][name], 2),
                "bins": [
                    {
                        "range": bin_label(row, text, formats),
                        "reference": formats.percent(row["reference"]),
                        "current": formats.percent(row["current"]),
                    }
                    for row in drift.get("distributions", {}).get(name, [])
                ],
            }
            for name in flagged[:10]
        ],
        "not_compared": text["not_compared"].format(
            features=", ".join(catalogue[name].described(language).lower() for name in drift.get("not_compared", []))
        )
        if drift.get("not_compared")
        else "",
    }


def bin_label(row: dict, text: dict, formats: Formats) -> str:
    if "category" in row:
        return text["missing"] if row["category"] == MISSING else row["category"]
    low, high = row["low"], row["high"]
    if low is None:
        return text["below"].format(value=formats.number(high, 2))
    if high is None:
        return text["from"].format(value=formats.number(low, 2))
    return text["between"].format(low=formats.number(low, 2), high=formats.number(high, 2))


def card_summary(card: dict, text: dict, formats: Formats) -> list[str]:
    """Three sentences from the champion's model card, in the report's language."""
    churn = card["churn"]["metrics"]

    def shown(metrics: dict, name: str, digits: int = 3) -> str:
        return formats.number(metrics[name], digits) if name in metrics else "–"

    sources = [text["sources"].get(source, source) for source in card["sources"]]
    lines = [
        text["card_data"].format(
            sources=", ".join(sources) or text["customer_attributes"],
            cutoffs=card["cutoffs"]["count"],
            first=formats.date(card["cutoffs"]["first"]),
            last=formats.date(card["cutoffs"]["last"]),
        ),
        text["card_churn"].format(
            auc=shown(churn, "roc_auc"), ece=shown(churn, "calibrated_ece"), lift=shown(churn, "top_decile_lift", 2)
        ),
    ]
    metrics = card["satisfaction"].get("metrics")
    lines.append(
        text["card_satisfaction"].format(
            spearman=shown(metrics, "spearman"),
            mae=shown(metrics, "mae", 2),
            coverage=formats.percent(metrics["interval_coverage"], 0) if "interval_coverage" in metrics else "–",
        )
        if metrics
        else text["no_satisfaction"]
    )
    return lines


def risk_chart(predictions: pd.DataFrame, config: Config, formats: Formats) -> str:
    """Histogram of churn probabilities with the labelled risk thresholds, as an embedded PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = TEXT[config.language]
    thresholds = config.scoring.risk_thresholds
    figure, axes = plt.subplots(figsize=(8, 2.8), dpi=120)
    axes.hist(predictions["churn_probability"], bins=np.linspace(0, 1, 51), color="#4a6fa5")
    for band, threshold in (("medium", thresholds.medium), ("high", thresholds.high)):
        axes.axvline(threshold, color="#b00020", linestyle="--", linewidth=1)
        label = text["threshold"].format(band=text[band], value=formats.percent(threshold, 0))
        axes.annotate(
            label,
            (threshold, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            color="#b00020",
            fontsize=9,
        )
    axes.xaxis.set_major_formatter(lambda value, _: formats.percent(value, 0))
    axes.yaxis.set_major_formatter(lambda value, _: formats.number(value))
    axes.set_xlabel(text["churn"])
    axes.set_ylabel(text["customers"])
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def report_html(context: dict) -> str:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("pipelines", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return environment.get_template("report.html").render(**context)


def write_report(context: dict, path: Path, priority: pd.DataFrame | None = None) -> Path:
    """The report, and beside it the full priority list as CSV when the config asks for one."""
    write_text_atomically(path, report_html(context))
    if priority is not None:
        write_table_atomically(priority, path.with_name(PRIORITY_LIST))
    return path
