import json

import pandas as pd
import pytest

from features.synthetic import WorldSpec
from models.prediction_file import COLUMN_NAMES, SCHEMA_VERSION
from pipelines.writers import sha256, write_predictions, write_world

AS_OF = pd.Timestamp("2025-06-01")


def predictions(rows: int) -> pd.DataFrame:
    frame = pd.DataFrame({column: ["x"] * rows for column in COLUMN_NAMES})
    return frame.assign(as_of=AS_OF, churn_probability=0.5, satisfaction_score=7.0)


def test_prediction_folder_has_file_and_manifest(tmp_path):
    folder = write_predictions(predictions(3), tmp_path, AS_OF, csv=True, extra={"run_id": "r1"})
    assert folder == tmp_path / "predictions" / "as_of=2025-06-01"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rows"] == 3 and manifest["schema_version"] == SCHEMA_VERSION and manifest["run_id"] == "r1"
    assert manifest["sha256"]["predictions.parquet"] == sha256(folder / "predictions.parquet")
    assert list(pd.read_parquet(folder / "predictions.parquet").columns) == list(COLUMN_NAMES)
    assert (folder / "predictions.csv").exists()


def test_rewriting_a_date_replaces_the_folder_whole(tmp_path):
    write_predictions(predictions(3), tmp_path, AS_OF, csv=True, extra={})
    folder = write_predictions(predictions(5), tmp_path, AS_OF, csv=False, extra={})
    assert len(pd.read_parquet(folder / "predictions.parquet")) == 5
    assert not (folder / "predictions.csv").exists()
    assert sorted(p.name for p in (tmp_path / "predictions").iterdir()) == ["as_of=2025-06-01", "latest"]


def test_latest_names_the_newest_complete_date_even_after_a_backfill(tmp_path):
    write_predictions(predictions(2), tmp_path, AS_OF, csv=False, extra={})
    assert (tmp_path / "predictions" / "latest").read_text() == "as_of=2025-06-01\n"
    write_predictions(predictions(2), tmp_path, pd.Timestamp("2025-05-01"), csv=False, extra={})
    assert (tmp_path / "predictions" / "latest").read_text() == "as_of=2025-06-01\n"
    write_predictions(predictions(2), tmp_path, pd.Timestamp("2025-07-01"), csv=False, extra={})
    assert (tmp_path / "predictions" / "latest").read_text() == "as_of=2025-07-01\n"


def test_a_failed_write_leaves_the_previous_folder_and_no_debris(tmp_path):
    folder = write_predictions(predictions(3), tmp_path, AS_OF, csv=False, extra={})
    before = (folder / "predictions.parquet").read_bytes()
    with pytest.raises(KeyError):
        write_predictions(predictions(4).drop(columns="run_id"), tmp_path, AS_OF, csv=False, extra={})
    assert (folder / "predictions.parquet").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "predictions").iterdir()) == ["as_of=2025-06-01", "latest"]


def test_world_is_written_as_contract_tables_and_truth(tmp_path):
    counts = write_world(WorldSpec(customers=200, seed=1), tmp_path / "world", "nps")
    names = sorted(p.name for p in (tmp_path / "world").iterdir())
    assert names == [
        "activities.parquet",
        "churn_events.parquet",
        "customers.parquet",
        "mentions.parquet",
        "orders.parquet",
        "reviews.parquet",
        "surveys.parquet",
        "truth",
    ]
    assert counts["customers"] == 200 == len(pd.read_parquet(tmp_path / "world" / "customers.parquet"))
