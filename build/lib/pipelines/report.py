"""The HTML report a CX lead opens in a browser: who is at risk, why, what costs most, what changed.

One self-contained file (charts embedded as images, no scripts, no links out), in English or
Finnish; every value from data is HTML-escaped by the template engine.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from features.registry import DRIVER_NAMES
from features.tables import Tables
from models.artifact import TrainedModel
from models.monitoring import changes_since, nps_table
from models.scoring import Scored
from pipelines.config import Config
from pipelines.writers import write_text_atomically

SURVEY_LOOKBACK = pd.Timedelta(days=90)

TEXT = {
    "en": {
        "title": "Customer risk report",
        "as_of": "as of",
        "intro": "Scores inferred from purchases, sales and service activity and social listening; no survey needed.",
        "models": "Churn model v{churn}, satisfaction model v{satisfaction}.",
        "scored": "customers scored",
        "high_risk": "high-risk customers",
        "high_risk_value": "{value} of the revenue at risk",
        "revenue_at_risk": "revenue at risk",
        "revenue_note": "churn probability × {measure}, summed over customers",
        "inferred_nps": "inferred NPS",
        "mean_score": "mean inferred {scale} score",
        "each_customer_counts_one": "1 per customer (no order values)",
        "nps_title": "NPS: inferred for everyone, beside what surveys said",
        "nps_note": "Surveyed NPS uses answers from the 90 days before the scoring date, with a 95 % interval; "
        "inferred NPS covers every scored customer.",
        "segment": "Segment",
        "customers": "Customers",
        "inferred": "Inferred NPS",
        "surveyed": "Surveyed NPS",
        "interval": "95 % interval",
        "answers": "Answers",
        "all": "all",
        "risk_title": "Churn risk distribution",
        "band": "Risk",
        "low": "low",
        "medium": "medium",
        "high": "high",
        "pain_title": "Pain points: what costs most",
        "pain_note": "Each driver's share of what raises each customer's churn risk, times the churn probability and "
        "the customer's value ({measure}), summed over customers. Fix the top rows first.",
        "driver": "Driver",
        "at_stake": "Revenue at risk",
        "main_driver_for": "Customers for whom it is the main driver",
        "top_title": "Customers most at risk",
        "customer": "Customer",
        "churn": "Churn probability",
        "satisfaction": "Satisfaction ({scale})",
        "why": "Why",
        "control": "control group: leave untouched",
        "changes_title": "What changed since the previous run",
        "no_previous": "This is the first scoring run: nothing to compare with yet.",
        "changes": "Since {previous}: mean churn probability {mean:+.1f} points; high-risk customers {high:+d} "
        "({newly} newly high risk, {left} no longer); {new} new customers, {gone} gone.",
        "drift_title": "Drift: are today's customers like the ones the model learned from?",
        "drift_ok": "No feature moved past the drift threshold (PSI {threshold}); prediction distribution PSI "
        "{psi:.3f}.",
        "drift_warn": "{count} features moved past the drift threshold (PSI {threshold}); prediction distribution PSI "
        "{psi:.3f}. Scores for these customers rest on patterns the model saw less of; consider "
        "retraining.",
        "feature": "Signal",
        "psi": "PSI",
        "performance_title": "How earlier predictions turned out",
        "no_performance": "No scoring date has passed its churn horizon yet.",
        "realised_auc": "Realised churn ROC AUC",
        "alert": "Alert",
        "in_sample": "in sample: the model learned these outcomes",
        "card_title": "Model card summary",
        "card_churn": "Churn: ROC AUC {auc} on held-out customers ({validation}); calibration error {ece}; top-decile "
        "lift {lift}.",
        "card_satisfaction": "Satisfaction: Spearman {spearman} with held-out survey answers, mean absolute error "
        "{mae} points; 90 % intervals cover {coverage}.",
        "card_data": "Trained on {sources}; {cutoffs} cutoffs from {first} to {last}.",
        "no_satisfaction": "Satisfaction: no model (too few survey answers).",
    },
    "fi": {
        "title": "Asiakasriskiraportti",
        "as_of": "tilanne",
        "intro": "Arviot perustuvat ostoihin, myynti- ja palvelutapahtumiin sekä some-seurantaan; kyselyä ei tarvita.",
        "models": "Poistumamalli v{churn}, tyytyväisyysmalli v{satisfaction}.",
        "scored": "asiakasta arvioitu",
        "high_risk": "korkean riskin asiakasta",
        "high_risk_value": "riskissä olevasta liikevaihdosta {value}",
        "revenue_at_risk": "liikevaihto riskissä",
        "revenue_note": "poistumatodennäköisyys × {measure}, summattuna asiakkaiden yli",
        "inferred_nps": "päätelty NPS",
        "mean_score": "keskimääräinen päätelty {scale}-arvo",
        "each_customer_counts_one": "1 per asiakas (ei tilausarvoja)",
        "nps_title": "NPS: päätelty kaikille, rinnalla kyselyjen tulos",
        "nps_note": "Kyselyjen NPS perustuu arviointipäivää edeltäneiden 90 päivän vastauksiin (95 %:n luottamusväli); "
        "päätelty NPS kattaa kaikki arvioidut asiakkaat.",
        "segment": "Segmentti",
        "customers": "Asiakkaita",
        "inferred": "Päätelty NPS",
        "surveyed": "Kyselyjen NPS",
        "interval": "95 %:n väli",
        "answers": "Vastauksia",
        "all": "kaikki",
        "risk_title": "Poistumariskin jakauma",
        "band": "Riski",
        "low": "matala",
        "medium": "keskitaso",
        "high": "korkea",
        "pain_title": "Kipupisteet: mikä maksaa eniten",
        "pain_note": "Kunkin tekijän osuus asiakkaan poistumariskiä nostavista tekijöistä kerrottuna "
        "poistumatodennäköisyydellä ja asiakkaan arvolla ({measure}), summattuna asiakkaiden yli. Korjaa "
        "ylimmät ensin.",
        "driver": "Tekijä",
        "at_stake": "Liikevaihto riskissä",
        "main_driver_for": "Asiakkaita, joilla tämä on päätekijä",
        "top_title": "Suurimmassa riskissä olevat asiakkaat",
        "customer": "Asiakas",
        "churn": "Poistumatodennäköisyys",
        "satisfaction": "Tyytyväisyys ({scale})",
        "why": "Miksi",
        "control": "verrokkiryhmä: ei toimenpiteitä",
        "changes_title": "Mikä muuttui edellisestä ajosta",
        "no_previous": "Tämä on ensimmäinen arviointiajo: vertailukohtaa ei vielä ole.",
        "changes": "{previous} jälkeen: keskimääräinen poistumatodennäköisyys {mean:+.1f} %-yks.; korkean riskin "
        "asiakkaita {high:+d} ({newly} uutta, {left} poistui ryhmästä); {new} uutta asiakasta, {gone} "
        "poistunut.",
        "drift_title": "Ajautuminen: muistuttavatko nykyiset asiakkaat niitä, joista malli oppi?",
        "drift_ok": "Yksikään tekijä ei ylittänyt ajautumisrajaa (PSI {threshold}); "
        "ennusteiden jakauman PSI {psi:.3f}.",
        "drift_warn": "{count} tekijää ylitti ajautumisrajan (PSI {threshold}); ennusteiden jakauman PSI {psi:.3f}. "
        "Näiden asiakkaiden arviot nojaavat malliin harvemmin nähtyihin tilanteisiin; harkitse "
        "uudelleenkoulutusta.",
        "feature": "Signaali",
        "psi": "PSI",
        "performance_title": "Miten aiemmat ennusteet osuivat",
        "no_performance": "Yhdenkään arviointipäivän poistumahorisontti ei ole vielä kulunut.",
        "realised_auc": "Toteutunut ROC AUC",
        "alert": "Hälytys",
        "in_sample": "opetusaineiston sisällä: malli on nähnyt nämä lopputulokset",
        "card_title": "Mallikortin yhteenveto",
        "card_churn": "Poistuma: ROC AUC {auc} sivuun jätetyillä asiakkailla ({validation}); kalibrointivirhe {ece}; "
        "ylimmän kymmenyksen nosto {lift}.",
        "card_satisfaction": "Tyytyväisyys: Spearman {spearman} sivuun jätettyihin kyselyvastauksiin, keskimääräinen "
        "virhe {mae} pistettä; 90 %:n välit kattavat {coverage}.",
        "card_data": "Opetettu lähteillä {sources}; {cutoffs} leikkauspäivää {first}–{last}.",
        "no_satisfaction": "Tyytyväisyys: ei mallia (liian vähän kyselyvastauksia).",
    },
}


def report_context(
    config: Config,
    tables: Tables,
    scored: Scored,
    churn: TrainedModel,
    satisfaction: TrainedModel | None,
    drift: dict,
    previous: pd.DataFrame | None,
    card: dict,
    evaluations: pd.DataFrame,
) -> dict:
    """Everything the report shows, as plain values: the template only lays it out."""
    predictions = scored.predictions
    language, scale = config.language, config.satisfaction.scale
    text = TEXT[language]
    as_of = pd.Timestamp(predictions["as_of"].iloc[0]) if len(predictions) else tables.data_end
    value = pd.Series(scored.customer_value, index=predictions.index)
    high = predictions["churn_risk"] == "high"
    customers = tables.customers.set_index("customer_id")
    segments = (
        customers["segment"].reindex(predictions["customer_id"])
        if "segment" in customers
        else pd.Series("all", index=predictions["customer_id"])
    )
    nps = None
    if satisfaction is not None and scale == "nps":
        recent = (
            tables.surveys[
                (tables.surveys["answered_at"] >= as_of - SURVEY_LOOKBACK) & (tables.surveys["answered_at"] < as_of)
            ]
            if tables.surveys is not None
            else pd.DataFrame(columns=["customer_id", "score"])
        )
        nps = nps_table(
            predictions.set_index("customer_id")["satisfaction_score"], satisfaction.residuals, segments, recent
        )
    at_risk = predictions.nlargest(config.output.report_customers, "churn_probability")
    catalogue = churn.recipe.catalogue
    return {
        "lang": language,
        "t": text,
        "as_of": str(as_of.date()),
        "scale": scale.upper(),
        "customers": len(predictions),
        "high_risk": int(high.sum()),
        "revenue_at_risk": float((predictions["churn_probability"] * value).sum()),
        "high_risk_revenue_at_risk": float((predictions["churn_probability"] * value)[high].sum()),
        "value_measure": catalogue[scored.value_measure].description.lower()
        if scored.value_measure in catalogue
        else text["each_customer_counts_one"],
        "mean_satisfaction": float(predictions["satisfaction_score"].mean())
        if predictions["satisfaction_score"].notna().any()
        else None,
        "nps": None
        if nps is None
        else nps.assign(segment=nps["segment"].replace({"all": text["all"]})).to_dict("records"),
        "overall_nps": None if nps is None else float(nps.loc[nps["segment"] == "all", "inferred"].iloc[0]),
        "bands": [
            {"band": text[level], "customers": int((predictions["churn_risk"] == level).sum())}
            for level in ("low", "medium", "high")
        ],
        "risk_chart": risk_chart(predictions, config),
        "pain_points": scored.pain_points.assign(
            driver=scored.pain_points["driver"].map(DRIVER_NAMES[language])
        ).to_dict("records"),
        "at_risk": at_risk.to_dict("records"),
        "changes": changes_since(previous, predictions) if previous is not None else None,
        "drift": drift
        | {
            "flagged_rows": [
                {"feature": catalogue[name].description, "psi": drift["feature_psi"][name]}
                for name in drift["flagged_features"][:10]
            ]
        },
        "evaluations": [
            row | {"roc_auc": f"{float(row['roc_auc']):.3f}" if row["roc_auc"] != "" else "n/a"}
            for row in evaluations.tail(12).to_dict("records")
        ],
        "card": card_summary(card, text),
        "churn_version": predictions["churn_model_version"].iloc[0] if len(predictions) else "",
        "satisfaction_version": (predictions["satisfaction_model_version"].iloc[0] or "-") if len(predictions) else "",
    }


def card_summary(card: dict, text: dict) -> list[str]:
    """Three sentences from the champion's model card, in the report's language."""
    churn = card["churn"]["metrics"]
    shown = lambda metrics, name, spec=".3f": format(metrics[name], spec) if name in metrics else "n/a"  # noqa: E731
    lines = [
        text["card_data"].format(
            sources=", ".join(card["sources"]) or "-",
            cutoffs=card["cutoffs"]["count"],
            first=card["cutoffs"]["first"],
            last=card["cutoffs"]["last"],
        ),
        text["card_churn"].format(
            auc=shown(churn, "roc_auc"),
            validation=card["churn"]["validation"],
            ece=shown(churn, "calibrated_ece"),
            lift=shown(churn, "top_decile_lift", ".2f"),
        ),
    ]
    metrics = card["satisfaction"].get("metrics")
    lines.append(
        text["card_satisfaction"].format(
            spearman=shown(metrics, "spearman"),
            mae=shown(metrics, "mae", ".2f"),
            coverage=shown(metrics, "interval_coverage", ".0%"),
        )
        if metrics
        else text["no_satisfaction"]
    )
    return lines


def risk_chart(predictions: pd.DataFrame, config: Config) -> str:
    """Histogram of churn probabilities with the risk thresholds marked, as an embedded PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    thresholds = config.scoring.risk_thresholds
    figure, axes = plt.subplots(figsize=(7, 2.6), dpi=110)
    axes.hist(predictions["churn_probability"], bins=np.linspace(0, 1, 51), color="#4a6fa5")
    for threshold in (thresholds.medium, thresholds.high):
        axes.axvline(threshold, color="#b00020", linestyle="--", linewidth=1)
    text = TEXT[config.language]
    axes.set_xlabel(text["churn"])
    axes.set_ylabel(text["customers"])
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def report_html(context: dict) -> str:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("pipelines", "templates"), autoescape=True)
    return environment.get_template("report.html").render(**context)


def write_report(context: dict, path: Path) -> Path:
    write_text_atomically(path, report_html(context))
    return path
