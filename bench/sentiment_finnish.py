"""Finnish sentiment of the shipped lexicon (AFINN-fi on simplemma lemmas, negation, intensifiers, emoticons).

    python bench/sentiment_finnish.py

Two labelled sets, neither from real customers (none with labels is public in Finnish):
- bench/data/finnish_feedback.csv: 44 short customer-feedback sentences written and labelled by the developers,
  with everyday inflection (15 positive, 17 negative, 12 neutral questions and statements);
- every distinct Finnish sentence the synthetic world writes, labelled by the tone it was written for.
Beside the lexicon, a weakly supervised text model: TF-IDF + logistic regression trained on the Finnish texts
(posts, ticket notes, reviews) of a 20,000-customer synthetic world, each labelled by its author's latest survey
answer before it (9-10 positive, 0-6 negative, 7-8 neutral), never by reading the text.
Writes bench/results/sentiment_finnish.json and .md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from features.contract import validated_tables
from features.sentiment import LexiconScorer, sentiment_labels, sentiment_metrics, text_model
from features.synthetic import PRAISE, TEXTS, THEME_TEXTS, WorldSpec, generate_world
from features.themes import customer_texts, documents

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


def weakly_labelled(customers: int = 20_000) -> pd.DataFrame:
    """Finnish texts of customers who answered a survey before writing, labelled by that answer's NPS category."""
    tables = validated_tables(generate_world(WorldSpec(customers=customers, seed=5)).tables, "nps")
    texts = customer_texts(tables)
    texts = texts[texts["customer_id"].notna()].assign(at=lambda f: f["at"].astype("datetime64[us]"))
    finnish = texts[documents(texts["text"], texts["lang"])["language"] == "fi"].sort_values("at")
    answers = tables.surveys.sort_values("answered_at")[["customer_id", "answered_at", "score"]]
    joined = pd.merge_asof(finnish, answers, left_on="at", right_on="answered_at", by="customer_id")
    joined = joined[joined["score"].notna()]
    label = pd.cut(joined["score"], [-1, 6, 8, 10], labels=["negative", "neutral", "positive"]).astype(str)
    return pd.DataFrame({"text": joined["text"].to_numpy(), "label": label.to_numpy()})


def measured(labelled: pd.DataFrame, model=None) -> dict:
    if model is None:
        scores = LexiconScorer.shipped().scores(labelled["text"], pd.Series("fi", index=labelled.index))
        predicted = sentiment_labels(scores)
    else:
        predicted = model.predict(labelled["text"])
    metrics = sentiment_metrics(labelled["label"], predicted)
    majority = float(labelled["label"].value_counts(normalize=True).max())
    return {"texts": len(labelled), "majority_accuracy": round(majority, 3)} | {
        k: round(v, 3) for k, v in metrics.items()
    }


def main() -> None:
    hand_written, sentences = pd.read_csv(HERE / "data" / "finnish_feedback.csv"), generated()
    weak = weakly_labelled()
    model = text_model(seed=0).fit(weak["text"], weak["label"])
    results = {
        "lexicon, hand-written feedback": measured(hand_written),
        "lexicon, synthetic world's sentences": measured(sentences),
        "weakly supervised model, hand-written feedback": measured(hand_written, model),
        "weakly supervised model, synthetic world's sentences": measured(sentences, model),
    }
    (HERE / "results" / "sentiment_finnish.json").write_text(json.dumps(results | {"weak_labels": len(weak)}, indent=2))
    lines = ["| scorer, Finnish set | texts | accuracy | macro-F1 | majority-class accuracy |", "|---|---|---|---|---|"]
    lines += [
        f"| {name} | {r['texts']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['majority_accuracy']:.3f} |"
        for name, r in results.items()
    ]
    lines += ["", f"The weakly supervised model learned from {len(weak):,} texts labelled by their authors' surveys."]
    (HERE / "results" / "sentiment_finnish.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
