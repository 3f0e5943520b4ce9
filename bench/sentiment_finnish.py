"""Finnish sentiment of the shipped lexicon (AFINN-fi on simplemma lemmas, negation, intensifiers, emoticons).

    python bench/sentiment_finnish.py

Two labelled sets, neither from real customers (none with labels is public in Finnish):
- bench/data/finnish_feedback.csv: 44 short customer-feedback sentences written and labelled by the developers,
  with everyday inflection (15 positive, 17 negative, 12 neutral questions and statements);
- every distinct Finnish sentence the synthetic world writes, labelled by the tone it was written for.
Writes bench/results/sentiment_finnish.json and .md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from features.sentiment import LexiconScorer, sentiment_labels, sentiment_metrics
from features.synthetic import PRAISE, TEXTS, THEME_TEXTS

HERE = Path(__file__).resolve().parent


def generated() -> pd.DataFrame:
    rows = [
        (text, "negative" if tone == "sarcastic" else tone)
        for (lang, tone), texts in TEXTS.items()
        for text in texts
        if lang == "fi"
    ]
    rows += [(text, "negative") for (lang, _), texts in THEME_TEXTS.items() for text in texts if lang == "fi"]
    rows += [(text, "positive") for text in PRAISE["fi"]]
    return pd.DataFrame(rows, columns=["text", "label"])


def measured(labelled: pd.DataFrame) -> dict:
    scores = LexiconScorer.shipped().scores(labelled["text"], pd.Series("fi", index=labelled.index))
    metrics = sentiment_metrics(labelled["label"], sentiment_labels(scores))
    majority = float(labelled["label"].value_counts(normalize=True).max())
    return {"texts": len(labelled), "majority_accuracy": round(majority, 3)} | {
        k: round(v, 3) for k, v in metrics.items()
    }


def main() -> None:
    results = {
        "hand-written feedback": measured(pd.read_csv(HERE / "data" / "finnish_feedback.csv")),
        "synthetic world's sentences": measured(generated()),
    }
    (HERE / "results" / "sentiment_finnish.json").write_text(json.dumps(results, indent=2))
    lines = ["| Finnish set | texts | accuracy | macro-F1 | majority-class accuracy |", "|---|---|---|---|---|"]
    lines += [
        f"| {name} | {r['texts']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['majority_accuracy']:.3f} |"
        for name, r in results.items()
    ]
    (HERE / "results" / "sentiment_finnish.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
