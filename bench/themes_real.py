"""Themes on real customer text: do the themes surveyless finds match what people coded by hand?

    python bench/themes_real.py

US airline tweets (../shared/data/twitter-us-airline-sentiment): every negative tweet carries a crowd-coded negative
reason. Themes are found on the negative tweets with the pipeline's own code (lemmas, NMF, keyword assignment);
adjusted mutual information measures agreement with the coded reasons, and for each reason its best-matching
theme (the one holding most of its tweets) gives precision and recall. Spotify support requests
(../shared/data/twcs-spotifycares-support-requests) carry no codes: the themes found are listed to read.
Writes bench/results/themes_real.json and .md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score

from features.themes import assigned_themes, discover_themes, documents

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"
SEED = 7


def airline(count: int) -> dict:
    tweets = pd.read_csv(DATA / "twitter-us-airline-sentiment" / "Tweets.csv")
    negative = tweets[tweets["negativereason"].notna()].reset_index(drop=True)
    written = documents(negative["text"], pd.Series("en", index=negative.index))
    started = time.perf_counter()
    themes = discover_themes(written, count, SEED)
    found = assigned_themes(written["document"], themes).fillna("(no theme)")
    seconds = time.perf_counter() - started
    matched = pd.crosstab(found, negative["negativereason"])
    reasons = []
    for reason in matched.columns:
        best = matched[reason].idxmax()
        reasons.append(
            {
                "reason": reason,
                "tweets": int(matched[reason].sum()),
                "best_theme": best,
                "precision": round(float(matched.loc[best, reason] / matched.loc[best].sum()), 3),
                "recall": round(float(matched.loc[best, reason] / matched[reason].sum()), 3),
            }
        )
    return {
        "tweets": len(negative),
        "themes": count,
        "ami": round(float(adjusted_mutual_info_score(negative["negativereason"], found)), 3),
        "without_theme": round(float((found == "(no theme)").mean()), 3),
        "seconds": round(seconds, 1),
        "reasons": sorted(reasons, key=lambda r: -r["tweets"]),
    }


def spotify(count: int) -> list[dict]:
    requests = pd.read_csv(DATA / "twcs-spotifycares-support-requests" / "support_requests.csv")
    written = documents(requests["text"], pd.Series("en", index=requests.index))
    themes = discover_themes(written, count, SEED)
    found = assigned_themes(written["document"], themes)
    counts = found.value_counts()
    return [
        {"theme": name, "terms": list(words), "requests": int(counts.get(name, 0))} for name, words in themes.items()
    ]


def main() -> None:
    results = {"airline": {str(k): airline(k) for k in (10, 20)}, "spotify": spotify(12)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "themes_real.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    lines = []
    for count, run in results["airline"].items():
        lines += [
            f"US airline tweets: {run['tweets']:,} negative tweets, {count} themes: AMI with the coded negative reason "
            f"{run['ami']:.3f}; {run['without_theme']:.1%} without a theme; {run['seconds']} s.",
            "",
            "| coded reason | tweets | best-matching theme | precision | recall |",
            "|---|---|---|---|---|",
            *[
                f"| {r['reason']} | {r['tweets']:,} | {r['best_theme']} | {r['precision']:.2f} | {r['recall']:.2f} |"
                for r in run["reasons"]
            ],
            "",
        ]
    lines += ["Spotify support requests, 12 themes:", "", "| theme | top terms | requests |", "|---|---|---|"]
    lines += [f"| {t['theme']} | {', '.join(t['terms'])} | {t['requests']:,} |" for t in results["spotify"]]
    (RESULTS / "themes_real.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
