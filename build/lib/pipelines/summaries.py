"""What the CLI prints after a flow: the flow's result dict in sentences and a table, nothing computed here."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from models.tracking.store import tracking_uri


def shown(metrics: dict, name: str, spec: str = ".3f") -> str:
    """A metric for people; 'n/a' when it could not be measured (e.g. no churner among the validation rows)."""
    return format(metrics[name], spec) if name in metrics else "n/a"


def interval(metrics: dict, name: str) -> str:
    return f"{shown(metrics, name)} (95% CI {shown(metrics, name + '_low')}-{shown(metrics, name + '_high')})"


def print_training(trained: dict, console: Console) -> None:
    if trained["skipped"]:
        console.print(
            f"Data and config unchanged since training run {trained['run_id']}: nothing new to learn, training skipped."
        )
    card = trained["card"]
    churn = card["churn"]["metrics"]
    console.print(
        f"Sources: {', '.join(card['sources']) or 'customers only'}; mention sentiment: {card['mention_sentiment']}; "
        f"{card['cutoffs']['count']} cutoffs."
    )
    console.print(f"Churn: {card['churn_definition']}.")
    console.print(
        f"Churn model, held out ({card['churn']['validation']}): ROC AUC {interval(churn, 'roc_auc')}, "
        f"PR AUC {shown(churn, 'pr_auc')}, Brier {shown(churn, 'brier', '.4f')}, "
        f"ECE {shown(churn, 'ece')} ({shown(churn, 'calibrated_ece')} calibrated), "
        f"top-decile lift {shown(churn, 'top_decile_lift', '.2f')} on {churn['rows']:,.0f} customers "
        f"(churn rate {churn['churn_rate']:.1%})."
    )
    console.print(
        "Baselines, same rows: " + "; ".join(baseline_line(n, m) for n, m in trained["baselines"].items()) + "."
    )
    for name, decision in trained["decisions"].items():
        verdict = "promoted to champion" if decision["promote"] else "kept as challenger"
        console.print(f"{name}: {verdict} ({decision['reason']}).")
    print_satisfaction(card, console)


def baseline_line(name: str, metrics: dict) -> str:
    if "not_applicable" in metrics:
        return f"{name} not applicable ({metrics['not_applicable']})"
    return f"{name} ROC AUC {shown(metrics, 'roc_auc')}"


def print_satisfaction(card: dict, console: Console) -> None:
    satisfaction = card["satisfaction"].get("metrics")
    if satisfaction is None:
        console.print(f"Satisfaction model: {card['satisfaction']['validation']}.")
        return
    console.print(
        f"Satisfaction model, held out ({card['satisfaction']['validation']}): Spearman "
        f"{interval(satisfaction, 'spearman')}, "
        f"MAE {satisfaction['mae']:.2f} on {satisfaction['rows']:,.0f} survey answers; "
        f"90% interval coverage {satisfaction['interval_coverage']:.1%}."
    )
    if table := card.get("segment_nps"):
        segments = "; ".join(
            f"{segment} {table['surveyed'].get(segment, float('nan')):.0f} / "
            f"{table['inferred_uncorrected'][segment]:.0f} / {value:.0f}"
            for segment, value in table["inferred_corrected"].items()
        )
        console.print(f"NPS by segment (surveyed / inferred / inferred with response-bias correction): {segments}.")


def print_scoring(scored: dict, work: Path, console: Console) -> None:
    predictions = pd.read_parquet(Path(scored["predictions"]) / "predictions.parquet")
    if scored["skipped"]:
        console.print(
            f"Predictions for {scored['as_of']} already made from the same data, config and models: kept as they are."
        )
    if len(scored["scored_dates"]) > 1:
        console.print(f"Caught up on {len(scored['scored_dates'])} dates: {', '.join(scored['scored_dates'])}.")
    high = (predictions["churn_risk"] == "high").sum()
    console.print(f"Scored {scored['customers']:,} customers as of {scored['as_of']} ({high:,} high risk).")
    console.print(top_at_risk(predictions))
    uri = tracking_uri(work)
    console.print(f"Predictions: {scored['predictions']}/predictions.parquet")
    console.print(f"Report:      {scored['report']}")
    console.print(f"MLflow runs: {uri}  (browse: mlflow ui --backend-store-uri {uri})")


def top_at_risk(predictions: pd.DataFrame) -> Table:
    top = Table(title="Top 5 customers at risk", show_lines=True)
    for column in ("customer", "churn", "satisfaction", "why"):
        top.add_column(column)
    for row in predictions.nlargest(5, "churn_probability").itertuples():
        reasons = "\n".join((row.reason_1, row.reason_2, row.reason_3))
        top.add_row(row.customer_id, f"{row.churn_probability:.1%}", f"{row.satisfaction_score:.1f}", reasons)
    return top


def print_evaluation(result: dict, console: Console) -> None:
    realised, churn = result["realised"], result["realised"]["churn"]
    console.print(
        f"Predictions of {result['as_of']} (churn model v{result['churn_model_version']}) against the "
        f"{result['horizon_days']} days since, {realised['customers']:,} customers:"
    )
    if realised["in_sample"]:
        console.print(
            "  Caution: this model's training labels overlap this date's horizon, so it saw some of these outcomes; "
            "the figures are optimistic."
        )
    console.print(
        f"  churn ROC AUC {interval(churn, 'roc_auc')}, ECE {shown(churn, 'ece')}, "
        f"Brier {shown(churn, 'brier', '.4f')}, churn rate {churn['churn_rate']:.1%}."
    )
    if "satisfaction" in realised:
        answered = realised["satisfaction"]
        console.print(
            f"  satisfaction on {answered['answers']:,} answers since: MAE {answered['mae']:.2f}, "
            f"Spearman {answered['spearman']:.3f}."
        )
    treated, control = realised["high_risk_treated"], realised["high_risk_control"]
    console.print(
        f"  high-risk churn: treated {group_rate(treated)} of {treated['customers']:,}, "
        f"control {group_rate(control)} of {control['customers']:,}."
    )
    alert = "ALERT: " + result["alert"] if result["alert"] else "No performance alert."
    console.print(f"  {alert} Logged to MLflow run {result['mlflow_run_id']}.")


def group_rate(group: dict) -> str:
    return "n/a" if group["churn_rate"] is None else f"{group['churn_rate']:.1%}"
