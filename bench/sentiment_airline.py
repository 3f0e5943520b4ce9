"""Lexicon scorer vs trained text model on the Twitter US airline tweets (3 classes, fixed stratified 80/20 split).

    python bench/sentiment_airline.py

Reads ../shared/data/twitter-us-airline-sentiment/Tweets.csv; writes bench/results/sentiment_airline.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from features.sentiment import fit_text_model, labelled_mentions

ROOT = Path(__file__).resolve().parents[1]
TWEETS = ROOT.parent / "shared" / "data" / "twitter-us-airline-sentiment" / "Tweets.csv"
SEED = 0


def main() -> None:
    texts, labels = labelled_mentions(pd.read_csv(TWEETS), "text", "airline_sentiment")
    started = time.perf_counter()
    _, metrics = fit_text_model(texts, labels, SEED, version="bench")
    metrics["majority_class_accuracy"] = float((labels == labels.value_counts().idxmax()).mean())
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    (ROOT / "bench" / "results" / "sentiment_airline.json").write_text(json.dumps(metrics, indent=2))
    table = ["| scorer | accuracy | macro-F1 |", "|---|---|---|"] + [
        f"| {name} | {metrics[name]['accuracy']:.3f} | {metrics[name]['macro_f1']:.3f} |"
        for name in ("lexicon", "text_model")
    ]
    (ROOT / "bench" / "results" / "sentiment_airline.md").write_text(
        "\n".join(table) + f"\n\nMajority class accuracy {metrics['majority_class_accuracy']:.3f}.\n"
    )
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
