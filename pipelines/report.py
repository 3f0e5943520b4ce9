"""The HTML report a CX lead opens in a browser: who is at risk, why, and how scores spread."""

from __future__ import annotations

from pathlib import Path

import jinja2

from models.scoring import Scored

from pipelines.writers import write_text_atomically

RISK_BANDS = [(0.0, 0.1, "low"), (0.1, 0.3, "medium"), (0.3, 1.01, "high")]


def report_html(scored: Scored, customers_listed: int, scale: str) -> str:
    """Renders the report; every value from data is HTML-escaped by the template engine."""
    predictions = scored.predictions
    environment = jinja2.Environment(loader=jinja2.PackageLoader("pipelines", "templates"), autoescape=True)
    at_risk = predictions.nlargest(customers_listed, "churn_probability")
    bands = [
        {"band": name, "customers": int(((predictions["churn_probability"] >= low) & (predictions["churn_probability"] < high)).sum())}
        for low, high, name in RISK_BANDS
    ]
    return environment.get_template("report.html").render(
        as_of=str(predictions["as_of"].iloc[0].date()) if len(predictions) else "",
        customers=len(predictions),
        mean_churn=float(predictions["churn_probability"].mean()) if len(predictions) else 0.0,
        mean_satisfaction=float(predictions["satisfaction_score"].mean()) if len(predictions) else 0.0,
        scale=scale.upper(),
        bands=bands,
        at_risk=at_risk.to_dict("records"),
        churn_version=predictions["churn_model_version"].iloc[0] if len(predictions) else "",
        satisfaction_version=predictions["satisfaction_model_version"].iloc[0] if len(predictions) else "",
        pain_points=scored.pain_points.to_dict("records"),
        value_measure=scored.value_measure,
    )


def write_report(scored: Scored, path: Path, customers_listed: int, scale: str) -> Path:
    write_text_atomically(path, report_html(scored, customers_listed, scale))
    return path
