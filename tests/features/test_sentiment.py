import numpy as np
import pandas as pd
import pytest

from features.contract import ContractError
from features.loaders import load_sentiment_scorer
from features.sentiment import (
    LexiconScorer,
    TextModelScorer,
    labelled_mentions,
    sentiment_labels,
    tokens,
    with_sentiment,
)
from pipelines.cli import main
from tests.conftest import tiny_tables

LEXICON = LexiconScorer.shipped()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Tilaus myöhässä taas, todella pettynyt", "fi"),
        ("Onko myymälä auki sunnuntaina?", "fi"),
        ("The product broke after two days", "en"),
        ("Is the store open on Sunday?", "en"),
    ],
)
def test_language_is_guessed_per_text(text, language):
    assert LEXICON.language(tokens(text)) == language


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("huonoa palvelua", -1),  # huono, inflected
        ("loistavaa laatua, kiitos", 1),  # loistava, inflected
        ("olen pettynyt", -1),
        ("erinomainen palvelu", 1),
        ("Terrible customer service", -1),
        ("Very happy with my order :)", 1),
        ("not good at all", -1),  # negation flips
        ("ei hyvä", -1),
        ("Onko myymälä auki?", 0),
    ],
)
def test_lexicon_reads_english_and_inflected_finnish(text, sign):
    assert np.sign(round(LEXICON.score(text), 6)) == sign


def test_scores_stay_in_range_and_repeat_texts_are_consistent():
    texts = pd.Series(
        ["awful awful awful terrible horrible", "love love love excellent", "awful awful awful terrible horrible", None]
    )
    scores = LEXICON.scores(texts)
    assert -1 < scores[0] < -0.8 and 0.8 < scores[1] < 1 and scores[0] == scores[2] and scores[3] == 0


def test_each_text_is_scored_in_its_own_language_when_given():
    texts = pd.Series(["paska palvelu", "paska palvelu", "bad service", None, "paska palvelu"], index=[9, 3, 5, 1, 0])
    languages = pd.Series(["fi", None, "en", "fi", "en"], index=texts.index)
    expected = [LEXICON.score("" if pd.isna(t) else t, lang) for t, lang in zip(texts, languages, strict=True)]
    assert LEXICON.scores(texts, languages).tolist() == expected
    assert LEXICON.scores(texts)[0] == LEXICON.score("paska palvelu") != expected[-1]


def test_given_sentiment_is_kept_and_the_rest_scored():
    mentions = pd.DataFrame(
        {
            "mention_id": ["M1", "M2"],
            "customer_id": ["C1", None],
            "posted_at": ["2024-02-01", "2024-02-02"],
            "text": ["terrible", "wonderful"],
            "sentiment": [0.5, None],
        }
    )
    scored = with_sentiment(tiny_tables(mentions=mentions), LEXICON).mentions["sentiment"]
    assert scored.iloc[0] == 0.5 and scored.iloc[1] > 0.3


def labelled(rows_per_class: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = {
        "negative": ["late", "broken", "awful", "myöhässä", "rikki"],
        "neutral": ["order", "store", "sunday", "tilasin", "auki"],
        "positive": ["great", "fast", "thanks", "loistava", "kiitos"],
    }
    rows = []
    for label, vocabulary in words.items():
        for _ in range(rows_per_class):
            rows.append(
                (" ".join(rng.choice(vocabulary, 3)) + " " + " ".join(rng.choice(["the", "a", "ja", "is"], 2)), label)
            )
    return pd.DataFrame(rows, columns=["message", "mood"])


def test_labelled_mentions_reject_unknown_labels_and_missing_columns():
    with pytest.raises(
        ContractError,
        match=r"labelled mentions: column 'mood' has 1 labels outside negative, neutral, positive \(rows 2: 'meh'\)",
    ):
        labelled_mentions(pd.DataFrame({"text": ["a", "b"], "mood": ["positive", "meh"]}), "text", "mood")
    with pytest.raises(ContractError, match=r"column 'label' is missing"):
        labelled_mentions(pd.DataFrame({"text": ["a"]}), "text", "label")


def test_numeric_labels_become_classes():
    _, labels = labelled_mentions(pd.DataFrame({"text": ["a", "b", "c"], "score": [-0.8, 0.0, 0.9]}), "text", "score")
    assert labels.tolist() == ["negative", "neutral", "positive"]


def test_trained_model_is_saved_versioned_and_used_by_the_pipeline(tmp_path):
    labelled().to_csv(tmp_path / "labelled.csv", index=False)
    arguments = [
        "sentiment",
        "train",
        "--labelled",
        str(tmp_path / "labelled.csv"),
        "--text-column",
        "message",
        "--label-column",
        "mood",
        "--out",
        str(tmp_path / "work"),
    ]
    assert main(arguments) == 0 and main(arguments) == 0
    scorer = load_sentiment_scorer(tmp_path / "work")
    assert isinstance(scorer, TextModelScorer) and scorer.version == "2"
    assert sorted(p.name for p in (tmp_path / "work" / "sentiment").iterdir()) == [
        "current.json",
        "text-model-v1",
        "text-model-v2",
    ]
    scores = scorer.scores(pd.Series(["late broken awful", "great fast kiitos", "store sunday order"]))
    assert list(sentiment_labels(scores)[:2]) == ["negative", "positive"] and abs(scores[2]) < abs(scores[0])


def test_without_a_trained_model_the_lexicon_is_used(tmp_path):
    assert isinstance(load_sentiment_scorer(tmp_path), LexiconScorer)


def test_a_pointer_out_of_the_sentiment_folder_is_refused(tmp_path):
    (tmp_path / "sentiment").mkdir()
    (tmp_path / "sentiment" / "current.json").write_text('{"path": "../../elsewhere/model.joblib", "version": "9"}')
    with pytest.raises(ContractError, match=r"names '../../elsewhere/model.joblib', outside .*sentiment; only models"):
        load_sentiment_scorer(tmp_path)
