from rich.console import Console

from pipelines.cli import print_training


def test_training_summary_says_n_a_when_the_validation_rows_hold_one_class():
    console = Console(record=True, width=200)
    card = {
        "sources": ["orders"],
        "mention_sentiment": "lexicon",
        "cutoffs": {"count": 1},
        "churn_definition": "every customer lapses: churn = no order within 90 days",
        "churn": {"validation": "single cutoff", "metrics": {"rows": 40.0, "churn_rate": 0.0, "calibrated_ece": 0.0}},
        "satisfaction": {"validation": "not trained: fewer than 30 survey answers"},
    }
    print_training(
        {
            "skipped": False,
            "card": card,
            "baselines": {
                "recency_rule": {"rows": 40.0},
                "bg_nbd_no_order": {"not_applicable": "it gives every validation customer the same score"},
            },
            "decisions": {},
        },
        console,
    )
    text = console.export_text()
    assert "ROC AUC n/a" in text and "recency_rule ROC AUC n/a" in text and "Satisfaction model: not trained" in text
    assert (
        "bg_nbd_no_order not applicable (it gives every validation customer the same score)" in text
        and "Churn: every customer lapses" in text
    )
