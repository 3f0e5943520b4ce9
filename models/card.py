"""The model card: what a reviewer needs to trust a training run, as data (JSON) and as Markdown."""

from __future__ import annotations

import pandas as pd

from models.artifact import TrainedModel
from models.gate import Decision
from models.training import MIN_SURVEY_ANSWERS

HEADLINE = {"churn": ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift"), "satisfaction": ("spearman", "mae")}
CALIBRATION = ("calibrated_ece", "calibrated_brier")


def model_card(
    sources: tuple[str, ...],
    sentiment: str,
    cutoffs: list[pd.Timestamp],
    churn: TrainedModel,
    satisfaction: TrainedModel | None,
) -> dict:
    """Data used, what churn means, how each model was validated and what it scored."""
    return {
        "sources": list(sources),
        "mention_sentiment": sentiment,
        "churn_definition": churn.recipe.churn.describe(),
        "cutoffs": {"count": len(cutoffs), "first": str(cutoffs[0].date()), "last": str(cutoffs[-1].date())},
        "churn": {
            "validation": churn.validation,
            "metrics": churn.metrics,
            "features": churn.feature_names,
            "blend": churn.blend.model_dump() if churn.blend else None,
        },
        "satisfaction": (
            {
                "validation": satisfaction.validation,
                "metrics": satisfaction.metrics,
                "features": satisfaction.feature_names,
            }
            if satisfaction
            else {"validation": f"not trained: fewer than {MIN_SURVEY_ANSWERS} survey answers"}
        ),
    }


def interval(metrics: dict, name: str) -> str:
    if name not in metrics:
        return "n/a"
    low, high = metrics.get(f"{name}_low"), metrics.get(f"{name}_high")
    return f"{metrics[name]:.3f}" + (f" ({low:.3f}-{high:.3f})" if low is not None else "")


def model_card_markdown(
    card: dict, baselines: dict[str, dict], decisions: dict[str, Decision], fingerprint: str
) -> str:
    churn = card["churn"]["metrics"]
    lines = [
        "# surveyless model card",
        "",
        f"- Data fingerprint: `{fingerprint}`; sources used: {', '.join(card['sources']) or 'customers only'}; mention "
        f"sentiment: {card['mention_sentiment']}.",
        f"- Churn: {card['churn_definition']}.",
        f"- Training cutoffs: {card['cutoffs']['count']} from {card['cutoffs']['first']} to {card['cutoffs']['last']}.",
        f"- Churn validation: {card['churn']['validation']}; satisfaction validation: "
        f"{card['satisfaction']['validation']}.",
        "",
        "## Churn, held out (95 % bootstrap intervals)",
        "",
        "| model | " + " | ".join(HEADLINE["churn"]) + " |",
        "|---|" + "---|" * len(HEADLINE["churn"]),
        "| LightGBM | " + " | ".join(interval(churn, m) for m in HEADLINE["churn"]) + " |",
    ]
    lines += [
        f"| {name} | "
        + (
            f"not applicable: {metrics['not_applicable']} |"
            if "not_applicable" in metrics
            else " | ".join(interval(metrics, m) for m in HEADLINE["churn"]) + " |"
        )
        for name, metrics in baselines.items()
    ]
    if card["churn"].get("blend"):
        blend = card["churn"]["blend"]
        lines += [
            "",
            f"For customers who churn by lapsing, the churn log-odds blend LightGBM's ({1 - blend['weight']:.2f}) with "
            f"BG/NBD's probability of no order in the horizon ({blend['weight']:.2f}), the weight held-out customers "
            "favoured.",
        ]
    if "churn_reason_stability" in card:
        lines += [
            "",
            f"Top-3 reason overlap across 3 training seeds: {card['churn_reason_stability']:.2f} (1 = the same three "
            "reasons for every customer).",
        ]
    lines += [
        "",
        "After Platt calibration (cross-fitted on the validation rows): "
        + (", ".join(f"{m} {churn[m]:.4f}" for m in CALIBRATION if m in churn) or "not measured, too few outcomes")
        + ".",
    ]
    if "metrics" in card["satisfaction"]:
        satisfaction = card["satisfaction"]["metrics"]
        lines += [
            "",
            "## Satisfaction, held out",
            "",
            " ".join(f"{m}: {interval(satisfaction, m)};" for m in HEADLINE["satisfaction"]),
        ]
        lines += [f"90 % conformal interval coverage (cross-fitted): {satisfaction['interval_coverage']:.3f}."]
    if card.get("segment_nps"):
        table = card["segment_nps"]
        lines += [
            "",
            "## NPS by segment",
            "",
            "| segment | surveyed (biased) | inferred | inferred, response-bias corrected |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {segment} | {table['surveyed'].get(segment, float('nan')):.1f} | "
            f"{table['inferred_uncorrected'][segment]:.1f} | {value:.1f} |"
            for segment, value in table["inferred_corrected"].items()
        ]
    lines += ["", "## Promotion", ""] + [
        f"- {name}: {'champion' if d.promote else 'challenger'} ({d.reason})" for name, d in decisions.items()
    ]
    lines += [
        "",
        "## Known limits",
        "",
        "- Scores describe customers like those in the training window; check drift before trusting them on new "
        "segments.",
        "- Survey answers come from the customers who chose to answer; satisfaction inherits that bias.",
        "",
    ]
    return "\n".join(lines)
