"""Damaged prediction folders and interrupted writes: a folder whose files do not match its manifest is rescored or
reported, never trusted, and a write stopped half way leaves every earlier file as it was."""

import json

import pandas as pd
import pytest

from pipelines.cli import EXIT_BAD_INPUT, EXIT_INTERRUPTED, main
from tests.pipelines.helpers import arguments_for, snapshot

pytestmark = pytest.mark.slow
KEY = "a-long-random-export-key-of-40-characters!"


def latest_folder(root):
    predictions = root / "work" / "predictions"
    return predictions / (predictions / "latest").read_text().strip()


def truncate_manifest(folder):
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])


def overwrite_predictions(folder):
    predictions = pd.read_parquet(folder / "predictions.parquet")
    predictions.assign(customer_id="hashed").to_parquet(folder / "predictions.parquet")


def drop_predictions(folder):
    (folder / "predictions.parquet").unlink()


DAMAGE = {
    "truncated manifest": truncate_manifest,
    "overwritten file": overwrite_predictions,
    "missing file": drop_predictions,
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_folder_is_rescored_not_skipped(demo_copy, capsys, damage):
    root, arguments = demo_copy
    folder = latest_folder(root)
    original = (folder / "predictions.parquet").read_bytes()
    DAMAGE[damage](folder)
    capsys.readouterr()
    assert main(["score", *arguments]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "already made" not in said
    assert (folder / "predictions.parquet").read_bytes() == original
    assert json.loads((folder / "manifest.json").read_text())["rows"] == len(
        pd.read_parquet(folder / "predictions.parquet")
    )


@pytest.mark.parametrize("damage", DAMAGE)
def test_export_and_evaluate_refuse_a_damaged_date(demo_copy, tmp_path, capsys, monkeypatch, damage):
    root, arguments = demo_copy
    monkeypatch.setenv("SURVEYLESS_EXPORT_KEY", KEY)
    assert main(["score", "--as-of", "2025-06-01", *arguments]) == 0
    DAMAGE[damage](root / "work" / "predictions" / "as_of=2025-06-01")
    before = snapshot(root / "work")
    capsys.readouterr()
    assert (
        main(["export", "--as-of", "2025-06-01", "--to", str(tmp_path / "out.parquet"), *arguments]) == EXIT_BAD_INPUT
    )
    assert main(["evaluate", "--as-of", "2025-06-01", *arguments]) == EXIT_BAD_INPUT
    errors = " ".join(capsys.readouterr().err.split())
    assert errors.count("no complete predictions for 2025-06-01") == 2 and "is damaged" in errors
    assert not (tmp_path / "out.parquet").exists() and snapshot(root / "work") == before


def test_export_by_default_takes_the_newest_undamaged_date(demo_copy, tmp_path, monkeypatch):
    root, arguments = demo_copy
    monkeypatch.setenv("SURVEYLESS_EXPORT_KEY", KEY)
    assert main(["score", "--as-of", "2025-06-01", *arguments]) == 0
    overwrite_predictions(latest_folder(root))
    assert main(["export", "--to", str(tmp_path / "out.parquet"), *arguments]) == 0
    assert (pd.read_parquet(tmp_path / "out.parquet")["as_of"] == pd.Timestamp("2025-06-01")).all()


def test_the_report_never_compares_with_a_damaged_earlier_run(demo_copy):
    root, arguments = demo_copy
    assert main(["score", "--as-of", "2025-06-01", *arguments]) == 0
    assert main(["score", "--as-of", "2025-09-01", *arguments]) == 0
    report = root / "work" / "reports" / "as_of=2025-09-01" / "report.html"
    assert "Since 1 June 2025" in report.read_text()
    overwrite_predictions(root / "work" / "predictions" / "as_of=2025-06-01")
    report.unlink()
    assert main(["score", "--as-of", "2025-09-01", *arguments]) == 0
    assert "Since 1 June 2025" not in report.read_text()


def test_an_interrupted_generate_keeps_the_previous_world(demo_copy, monkeypatch):
    import pipelines.writers as writers

    root, arguments = demo_copy
    before = {p: p.read_bytes() for p in (root / "world").rglob("*") if p.is_file()}
    real_chunks = writers.world_chunks

    def interrupted(*args, **kwargs):
        yield next(iter(real_chunks(*args, **kwargs)))
        raise KeyboardInterrupt

    monkeypatch.setattr(writers, "world_chunks", interrupted)
    assert main(["generate", *arguments]) == EXIT_INTERRUPTED
    assert {p: p.read_bytes() for p in (root / "world").rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []


def test_an_interrupted_export_leaves_no_file(demo_copy, tmp_path, monkeypatch):
    root, arguments = demo_copy
    monkeypatch.setenv("SURVEYLESS_EXPORT_KEY", KEY)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", interrupted)
    assert main(["export", "--to", str(tmp_path / "out" / "x.parquet"), *arguments]) == EXIT_INTERRUPTED
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_an_interrupted_sentiment_training_keeps_the_current_model(demo_copy, tmp_path, monkeypatch):
    import joblib

    root, arguments = demo_copy
    labelled = tmp_path / "labelled.csv"
    texts = ["great service, thanks", "awful, never again", "it is fine I guess"] * 40
    pd.DataFrame({"text": texts, "label": ["positive", "negative", "neutral"] * 40}).to_csv(labelled, index=False)
    assert main(["sentiment", "train", "--labelled", str(labelled), *arguments]) == 0
    pointer = root / "work" / "sentiment" / "current.json"
    before = pointer.read_text()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", interrupted)
    assert main(["sentiment", "train", "--labelled", str(labelled), *arguments]) == EXIT_INTERRUPTED
    assert pointer.read_text() == before
    assert [p.name for p in pointer.parent.iterdir() if p.name.startswith(".")] == []


def test_a_damaged_feature_cache_is_rebuilt(demo_copy, capsys):
    root, arguments = demo_copy
    for cached in (root / "work" / "cache" / "features").glob("*.parquet"):
        cached.write_bytes(b"PAR1 garbage")
    folder = latest_folder(root)
    original = (folder / "predictions.parquet").read_bytes()
    drop_predictions(folder)
    assert main(["score", *arguments]) == 0
    assert (folder / "predictions.parquet").read_bytes() == original


def test_a_damaged_sentiment_pointer_is_reported(demo_copy, capsys):
    root, arguments = demo_copy
    (root / "work" / "sentiment").mkdir(exist_ok=True)
    (root / "work" / "sentiment" / "current.json").write_text("{trunc")
    assert main(["score", *arguments_for(root)]) == EXIT_BAD_INPUT
    assert "sentiment/current.json" in capsys.readouterr().err
