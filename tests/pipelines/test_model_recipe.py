"""Through the CLI: a model keeps what churn meant when it was trained, and a run that contradicts it stops."""

import numpy as np
import pandas as pd
import pytest

from pipelines.cli import main
from tests.pipelines.conftest import CONFIG

pytestmark = pytest.mark.slow


def snapshot_folder(folder, with_churn_events: bool):
    """Customers with attributes (signup derived from tenure, as exports do) and, for the labelled copy, who left."""
    rng = np.random.default_rng(4)
    n = 800
    plan = rng.choice(["basic", "pro"], n)
    seats = rng.integers(1, 200, n)
    leaves = rng.random(n) < np.where(plan == "basic", 0.4, 0.1) * np.where(seats < 20, 1.5, 0.6)
    signup = pd.Timestamp("2024-06-30") - pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    folder.mkdir()
    customers = pd.DataFrame(
        {
            "customer_id": [f"S{i:04d}" for i in range(n)],
            "signup_date": signup.strftime("%Y-%m-%d"),
            "plan": plan,
            "seats": seats,
        }
    )
    customers.to_csv(folder / "customers.csv", index=False)
    if with_churn_events:
        pd.DataFrame({"customer_id": customers["customer_id"][leaves], "churned_at": "2024-06-30"}).to_csv(
            folder / "churn_events.csv", index=False
        )
    return folder


def test_a_snapshot_trains_and_its_unlabelled_copy_is_scored_whole_under_the_models_definition(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(
        "churn: {lapse_segments: []}\nfeatures: {customer_attributes: [plan, seats]}\npromotion: {must_beat_baselines: "
        "false}\n"
    )
    work = tmp_path / "work"
    labelled, unlabelled = snapshot_folder(tmp_path / "labelled", True), snapshot_folder(tmp_path / "unlabelled", False)
    assert main(["train", "--config", str(config), "--data", str(labelled), "--out", str(work)]) == 0
    trained = " ".join(capsys.readouterr().out.split())
    assert "Churn: contract end (churn_events) within 90 days" in trained and "1 cutoffs" in trained
    assert main(["score", "--config", str(config), "--data", str(unlabelled), "--out", str(work)]) == 0
    assert "every customer listed is taken as still under contract" in capsys.readouterr().err
    (predictions,) = (work / "predictions").glob("as_of=*/predictions.parquet")
    scored = pd.read_parquet(predictions)
    assert (
        len(scored) == 800 and set(scored["status"]) <= {"new", "active"} and scored["churn_probability"].nunique() > 50
    )


@pytest.fixture()
def trained_demo(demo_run):
    return demo_run[0], demo_run[1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("churn: {horizon_days: 30}", "config churn.horizon_days is 30, but the churn model was trained with 90"),
        (
            "features: {windows_days: [7, 30]}",
            "config features.windows_days is 7, 30, but the churn model was trained with 30, 90, 365",
        ),
    ],
)
def test_a_config_that_contradicts_the_champion_exits_2_naming_the_key(trained_demo, tmp_path, capsys, change, message):
    root, arguments = trained_demo
    config = tmp_path / "changed.yaml"
    config.write_text(CONFIG + change + "\n")
    assert main(["score", "--config", str(config), *arguments[2:]]) == 2
    assert message in " ".join(capsys.readouterr().err.split())


def test_a_source_without_the_tables_the_champion_reads_exits_2(trained_demo, tmp_path, capsys):
    import shutil

    root, arguments = trained_demo
    partial = tmp_path / "partial"
    shutil.copytree(root / "world", partial)
    (partial / "mentions.parquet").unlink()
    (partial / "churn_events.parquet").unlink()
    assert main(["score", *arguments[:2], "--data", str(partial), "--out", str(root / "work")]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "table mentions is missing, but the churn model reads it" in error
    assert "table churn_events is missing, but the churn model was trained with contract ends" in error
