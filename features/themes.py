"""What customers talk about: themes found in mentions, ticket and call notes and reviews, in Finnish and English.

Texts are reduced to lemmas (simplemma: Finnish inflection and compounds to base forms, "laskutusvirheestä" to
"laskutusvirhe"), stop words dropped. Themes are found by non-negative matrix factorisation of the TF-IDF matrix
(scikit-learn), each named by its top terms; the company may pin its own themes by name and keywords in config.
A text belongs to the theme whose keywords it shares most: a pure function of the text, so the per-customer
counts built from it are point in time like every feature.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd
import simplemma
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from features.sentiment import NEUTRAL_BAND, LexiconScorer, tokens
from features.tables import Tables

KEYWORDS_PER_THEME = 6
NAME_TERMS = 2
MIN_TEXTS = 50
FINNISH_STOP_WORDS = frozenset(
    """ja on ei se että oli olla olen olet ovat mutta kun niin kuin jo nyt vain myös tai jos sen sitä siitä tämä
    tämän tätä nämä ne he hän me te minä sinä mä sä mun mulle minun minua meille teille heille sinun oma omat koska
    joka jotka mikä mitä missä miksi miten vielä aina taas enää ihan aika todella kaikki mitään yhä yksi kaksi
    olla olisi olisin ole ollut olleet ovat olemme ette eivät en et emme vaan sekä sitten siis tosi kyllä""".split()
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | FINNISH_STOP_WORDS
WORD = re.compile(r"[a-zåäöéü]{2,}")
NOISE = re.compile(r"@\w+|#\w+|https?://\S+|&\w+;")
"""Handles, hashtags, links and HTML entities in social posts: names of accounts, not what is said."""


@cache
def lemma(word: str, language: str) -> str:
    return simplemma.lemmatize(word, lang=language).lower()


def language_of(words: list[str], given: object) -> str:
    return given if given in ("fi", "en") else LexiconScorer.shipped().language(words)


def lemmas(text: str, language: str) -> list[str]:
    """The text's content words as lemmas of `language`."""
    words = [w for w in tokens(NOISE.sub(" ", text)) if WORD.fullmatch(w)]
    return [term for term in (lemma(w, language) for w in words) if term not in STOP_WORDS and len(term) > 1]


def documents(texts: pd.Series, languages: pd.Series | None = None) -> pd.DataFrame:
    """Each text as a string of lemmas ('' for none) and its language (given, or guessed from its words),
    lemmatising each distinct text once; indexed like `texts`."""
    frame = pd.DataFrame({"text": texts.fillna("").astype(str).to_numpy()})
    frame["given"] = languages.astype(object).to_numpy() if languages is not None else None
    distinct = frame.drop_duplicates().reset_index(drop=True)
    chosen = [language_of(tokens(t), g) for t, g in distinct.itertuples(index=False)]
    distinct["language"] = chosen
    distinct["document"] = [" ".join(lemmas(t, lang)) for t, lang in zip(distinct["text"], chosen, strict=True)]
    merged = frame.merge(distinct, on=["text", "given"], how="left")
    return merged[["document", "language"]].set_axis(texts.index)


def discover_themes(
    texts: pd.DataFrame, count: int, seed: int, pinned: dict[str, tuple[str, ...]] | None = None
) -> dict[str, tuple[str, ...]]:
    """Up to `count` themes per language found in `texts` (`documents`), each named by its top terms, after the
    `pinned` ones; texts a pinned theme already claims are left out of the search, so found themes are new.
    Each language is searched on its own: a Finnish and an English text about billing share no words."""
    pinned = {name: tuple(lemma_keywords(words)) for name, words in (pinned or {}).items()}
    unclaimed = texts[assigned_themes(texts["document"], pinned).isna() & (texts["document"].str.len() > 0)]
    themes = dict(pinned)
    for _, written in unclaimed.groupby("language"):
        if count and len(written) >= MIN_TEXTS:
            themes |= {
                name: words for name, words in found_themes(written["document"], count, seed) if name not in themes
            }
    return themes


def found_themes(texts: pd.Series, count: int, seed: int) -> list[tuple[str, tuple[str, ...]]]:
    """(name, keywords) of `count` NMF components of the texts' TF-IDF, named by their top terms."""
    vectoriser = TfidfVectorizer(min_df=max(3, len(texts) // 2000), max_df=0.3, token_pattern=r"\S+")
    matrix = vectoriser.fit_transform(texts)
    model = NMF(n_components=min(count, matrix.shape[1] - 1), init="nndsvda", random_state=seed, max_iter=1000)
    model.fit(matrix)
    terms = np.array(vectoriser.get_feature_names_out())
    found = []
    for weights in model.components_:
        keywords = tuple(terms[np.argsort(-weights)[:KEYWORDS_PER_THEME]])
        found.append((" · ".join(keywords[:NAME_TERMS]), keywords))
    return found


def lemma_keywords(words: tuple[str, ...]) -> list[str]:
    """Pinned keywords as lemmas in either language, so 'laskut' and 'invoices' match their inflections."""
    return sorted({lemma(w.lower(), language) for w in words for language in ("fi", "en")})


def assigned_themes(texts: pd.Series, themes: dict[str, tuple[str, ...]]) -> pd.Series:
    """The theme whose keywords each lemma document shares most, a theme's first keywords counting most (ties: the
    first declared), NaN for none."""
    names = list(themes)
    if not names:
        return pd.Series(np.nan, index=texts.index, dtype=object)
    written = texts.fillna("").to_numpy(dtype=object)
    distinct = pd.unique(written)
    hits = np.zeros((len(distinct), len(names)))
    words = [set(document.split()) for document in distinct]
    for column, name in enumerate(names):
        weights = {word: 1 + 1 / (rank + 1) for rank, word in enumerate(themes[name])}
        hits[:, column] = [sum(weights.get(word, 0) for word in present) for present in words]
    chosen = np.where(hits.max(axis=1) > 0, np.array(names, dtype=object)[hits.argmax(axis=1)], None)
    return pd.Series(chosen[pd.Index(distinct).get_indexer(written)], index=texts.index, dtype=object)


def customer_texts(
    tables: Tables, since: pd.Timestamp | None = None, until: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Every text a customer wrote or a contact recorded: (source, customer_id, at, text, lang), linked or not;
    only those from `since` on and before `until` when given. Text columns stay Arrow strings: at a million customers
    turning them into Python objects cost more than the themes read from them."""
    sources = (("mentions", "posted_at"), ("activities", "occurred_at"), ("reviews", "posted_at"))
    frames = []
    for name, time in sources:
        frame = getattr(tables, name)
        if frame is None or "text" not in frame:
            continue
        kept = frame["text"].notna()
        if since is not None:
            kept &= frame[time] >= since
        if until is not None:
            kept &= frame[time] < until
        written = frame[kept]
        frames.append(
            pd.DataFrame(
                {
                    "source": name,
                    "customer_id": written["customer_id"].array,
                    "at": written[time].array,
                    "text": written["text"].array,
                    "lang": written["lang"].array if "lang" in written else None,
                }
            )
        )
    columns = ["source", "customer_id", "at", "text", "lang"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def themed_texts(texts: pd.DataFrame, themes: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """`customer_texts` rows with each text's theme (rows without one dropped)."""
    keywords = {name: tuple(lemma_keywords(words)) for name, words in themes.items()}
    themed = texts.assign(theme=assigned_themes(documents(texts["text"], texts["lang"])["document"], keywords))
    return themed[themed["theme"].notna()].reset_index(drop=True)


def voice_summary(
    tables: Tables,
    themes: dict[str, tuple[str, ...]],
    as_of: pd.Timestamp,
    value_at_risk: pd.Series,
    scorer: LexiconScorer,
    window_days: int = 90,
) -> pd.DataFrame:
    """Per theme, and per contact-reason code beside them: texts in the last `window_days` before `as_of` and in
    the window before, the share of them that read negative, and the value at risk (`value_at_risk` by
    customer_id) of the customers who raised it. Terms only: no text of a customer leaves this function."""
    window = pd.Timedelta(days=window_days)
    recent = customer_texts(tables, since=as_of - 2 * window, until=as_of)  # lemmatised: only what is counted
    themed = themed_texts(recent, themes).assign(label=lambda frame: frame["theme"], kind="theme")
    coded = reason_codes(tables, since=as_of - 2 * window)
    rows = []
    for (kind, label), said in pd.concat([themed, coded], ignore_index=True).groupby(["kind", "label"], sort=False):
        now = said[(said["at"] >= as_of - window) & (said["at"] < as_of)]
        before = said[(said["at"] >= as_of - 2 * window) & (said["at"] < as_of - window)]
        if now.empty and before.empty:
            continue
        negative = scorer.scores(now["text"], now["lang"]) < -NEUTRAL_BAND if len(now) else np.array([])
        raised_by = now["customer_id"].dropna().unique()
        rows.append(
            {
                "kind": kind,
                "label": label,
                "terms": themes.get(label, ()) if kind == "theme" else (),
                "texts": len(now),
                "texts_before": len(before),
                "negative_share": float(negative.mean()) if len(now) else float("nan"),
                "customers": len(raised_by),
                "value_at_risk": float(value_at_risk.reindex(raised_by).fillna(0).sum()),
            }
        )
    columns = ["kind", "label", "terms", "texts", "texts_before", "negative_share", "customers", "value_at_risk"]
    return pd.DataFrame(rows, columns=columns).sort_values("value_at_risk", ascending=False, kind="stable")


def reason_codes(tables: Tables, since: pd.Timestamp) -> pd.DataFrame:
    """Activities from `since` on with a contact-reason code, as the rows `voice_summary` counts."""
    activities = tables.activities
    if activities is None or "reason" not in activities:
        return pd.DataFrame(columns=["customer_id", "at", "text", "lang", "label", "kind"])
    coded = activities[activities["reason"].notna() & (activities["occurred_at"] >= since)]
    return pd.DataFrame(
        {
            "customer_id": coded["customer_id"].array,
            "at": coded["occurred_at"].array,
            "text": coded["text"].array if "text" in coded else "",
            "lang": None,
            "label": coded["reason"].astype(str).array,
            "kind": "reason",
        }
    )
