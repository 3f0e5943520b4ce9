"""What each bad input, fault and misuse does through the CLI: a clear message, an exit code, and no output changed."""

import contextlib
import errno
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from pipelines.cli import EXIT_BAD_INPUT, EXIT_BUSY, EXIT_INTERRUPTED, EXIT_IO_ERROR, main
from tests.pipelines.conftest import CONFIG
from tests.pipelines.helpers import arguments_for, rewrite, snapshot, table

pytestmark = pytest.mark.slow


def test_unknown_customers_can_be_dropped_with_a_counted_warning(demo_copy, tmp_path, capsys):
    root = demo_copy[0]
    rewrite(
        root,
        "orders",
        table(root, "orders").assign(customer_id=lambda f: f["customer_id"].where(~f.index.isin([5, 9]), "GHOST")),
    )
    dropping = root / "drop.yaml"
    dropping.write_text(CONFIG + "unknown_customers: drop\n")
    assert main(["score", *arguments_for(root, dropping)]) == 0
    assert "orders: dropped 2 rows whose customer_id is not in customers (rows 6, 10: 'GHOST', 'GHOST')" in " ".join(
        capsys.readouterr().err.split()
    )


def test_training_on_one_customer_says_what_is_missing(demo_copy, tmp_path, capsys):
    root = demo_copy[0]
    first = table(root, "orders")["customer_id"].value_counts().index[0]
    for name in ("customers", "orders", "activities", "mentions", "surveys", "churn_events", "reviews"):
        if (root / "world" / f"{name}.parquet").exists():
            rewrite(root, name, table(root, name)[lambda frame: frame["customer_id"] == first])
    assert main(["train", *arguments_for(root)]) == EXIT_BAD_INPUT
    assert "training needs at least 10 of each" in " ".join(capsys.readouterr().err.split())


def test_hostile_text_never_reaches_the_report_or_the_files_unescaped(demo_copy, tmp_path):
    root = demo_copy[0]
    latest = (root / "work" / "predictions" / "latest").read_text().strip()
    listed = (root / "work" / "reports" / latest / "report.html").read_text()
    riskiest, second = re.findall(r'<td data-label="Customer"><b>([^<]+)</b>', listed)[:2]
    renamed = {riskiest: "<script>alert('id')</script>", second: '=HYPERLINK("http://evil.example","x")'}
    for name in ("customers", "orders", "activities", "mentions", "surveys", "churn_events", "reviews"):
        rewrite(root, name, table(root, name).assign(customer_id=lambda f: f["customer_id"].replace(renamed)))
    mentions = table(root, "mentions")
    marker = "MENTION-TEXT-MARKER"
    hostile = [
        f"{marker}<script>alert(1)</script>",
        f"{marker}\x07\x00 control",
        f"{marker} 🙏🏽 kiitos",
        marker + "x" * 1_000_000,
        f"=cmd|' /C calc'!A0 {marker}",
    ]
    extra = pd.DataFrame(
        {
            "mention_id": [f"HOSTILE{i}" for i in range(5)],
            "customer_id": None,
            "posted_at": mentions["posted_at"].max(),
            "text": hostile,
        }
    )
    rewrite(root, "mentions", pd.concat([mentions, extra], ignore_index=True))
    assert main(["score", *arguments_for(root)]) == 0
    folder = root / "work" / "predictions" / (root / "work" / "predictions" / "latest").read_text().strip()
    report = (root / "work" / "reports" / folder.name / "report.html").read_text()
    assert "<script>alert('id')</script>" not in report and "&lt;script&gt;alert(&#39;id&#39;)&lt;/script&gt;" in report
    assert "<script" not in report.lower()
    csv = (folder / "predictions.csv").read_text()
    assert "'=HYPERLINK(" in csv and "\n=HYPERLINK" not in csv
    for text in (report, csv, (folder / "predictions.parquet").read_bytes().decode("latin-1")):
        assert marker not in text


def test_a_second_scoring_run_while_one_holds_the_lock_exits_75_and_changes_nothing(demo_copy, tmp_path, capsys):
    from pipelines.flows import SCORING_LOCK
    from pipelines.writers import exclusive

    root = demo_copy[0]
    before = snapshot(root / "work")
    with exclusive(root / "work" / "predictions" / SCORING_LOCK, "scoring"):
        assert main(["score", "--as-of", "2025-07-01", *arguments_for(root)]) == EXIT_BUSY
    assert f"process {os.getpid()} is already scoring in" in " ".join(capsys.readouterr().err.split())
    assert snapshot(root / "work") == before


def test_two_scoring_processes_for_one_date_leave_one_complete_folder(demo_copy, tmp_path):
    root = demo_copy[0]
    command = [sys.executable, "-m", "pipelines.cli", "score", "--as-of", "2025-08-01", *arguments_for(root)]
    runs = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    codes = sorted(run.wait(timeout=300) for run in runs)
    assert codes in ([0, 0], [0, EXIT_BUSY])
    folder = root / "work" / "predictions" / "as_of=2025-08-01"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert len(pd.read_parquet(folder / "predictions.parquet")) == manifest["rows"]
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".tmp")]


def test_disk_full_while_writing_exits_74_and_keeps_the_previous_predictions(demo_copy, tmp_path, capsys, monkeypatch):
    import pipelines.flows as flows

    root = demo_copy[0]
    before = snapshot(root / "work")

    real_to_parquet = pd.DataFrame.to_parquet

    def full_disk(frame, path, *args, **kwargs):
        if "predictions" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_to_parquet(frame, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    monkeypatch.setattr(flows, "write_predictions_step", flows.write_predictions_step.with_options(retries=0))
    assert main(["score", "--as-of", "2025-05-01", *arguments_for(root)]) == EXIT_IO_ERROR
    error = " ".join(capsys.readouterr().err.split())
    assert "No space left on device" in error and "Earlier predictions, reports and models are unchanged." in error
    assert snapshot(root / "work") == before


def test_a_failed_write_is_retried_by_prefect_and_then_succeeds(demo_copy, tmp_path, monkeypatch):
    import pipelines.writers as writers

    root = demo_copy[0]
    real_swap, calls = writers.swap_into_place, []

    def flaky_swap(staging, final):
        calls.append(final.name)
        if len(calls) == 1:
            raise OSError(errno.EIO, "Input/output error")
        real_swap(staging, final)

    monkeypatch.setattr(writers, "swap_into_place", flaky_swap)
    assert main(["score", "--as-of", "2025-04-01", *arguments_for(root)]) == 0
    assert calls == ["as_of=2025-04-01", "as_of=2025-04-01"]
    assert (root / "work" / "predictions" / "as_of=2025-04-01" / "manifest.json").exists()
    assert not [p for p in (root / "work" / "predictions").iterdir() if p.name.endswith(".tmp")]


def test_a_locked_mlflow_store_exits_74_and_changes_nothing(demo_copy, tmp_path, capsys, monkeypatch):
    import pipelines.flows as flows

    root = demo_copy[0]
    before = snapshot(root / "work")
    monkeypatch.setattr(flows, "load_churn_champion_step", flows.load_churn_champion_step.with_options(retries=0))
    holder = sqlite3.connect(root / "work" / "mlflow.db")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["score", "--as-of", "2025-03-01", *arguments_for(root)]) == EXIT_IO_ERROR
    finally:
        holder.rollback()
        holder.close()
    error = " ".join(capsys.readouterr().err.split())
    assert f"the MLflow store sqlite:///{(root / 'work' / 'mlflow.db').resolve()} failed" in error and "locked" in error
    assert snapshot(root / "work") == before


def training_runs(work) -> list:
    import mlflow

    from models.tracking.store import use_store

    use_store(work)
    return mlflow.search_runs(
        experiment_names=["surveyless"],
        filter_string="tags.kind = 'training'",
        order_by=["attributes.start_time ASC"],
        output_format="list",
    )


def test_interrupted_training_is_marked_failed_keeps_the_champion_and_a_rerun_completes(
    demo_copy, tmp_path, monkeypatch, capsys
):
    import pipelines.flows as flows
    from models.tracking.registry import CHURN_MODEL, load_champion

    root = demo_copy[0]
    champion = load_champion(root / "work", CHURN_MODEL).version
    other = root / "other-seed.yaml"
    other.write_text(CONFIG.replace("model:\n", "model:\n  seed: 43\n"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(flows, "reason_stability_step", interrupted)
    assert main(["train", *arguments_for(root, other)]) == EXIT_INTERRUPTED
    assert training_runs(root / "work")[-1].info.status == "FAILED"
    assert load_champion(root / "work", CHURN_MODEL).version == champion
    monkeypatch.undo()
    assert main(["train", *arguments_for(root, other)]) == 0
    runs = training_runs(root / "work")
    assert [r.info.status for r in runs[-2:]] == ["FAILED", "FINISHED"]


def test_a_killed_training_is_marked_failed_by_the_next_one(demo_copy, tmp_path):
    root = demo_copy[0]
    other = root / "other-seed.yaml"
    other.write_text(CONFIG.replace("model:\n", "model:\n  seed: 44\n"))
    before = len(training_runs(root / "work"))
    training = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "train", *arguments_for(root, other)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while len(training_runs(root / "work")) == before and time.monotonic() < deadline and training.poll() is None:
        time.sleep(0.5)
    os.killpg(training.pid, signal.SIGKILL)  # the whole job, as a scheduler kills it: Prefect's server subprocess too
    training.wait()
    runs = training_runs(root / "work")
    assert len(runs) == before + 1 and runs[-1].info.status == "RUNNING"
    assert main(["train", *arguments_for(root, other)]) == 0
    statuses = {r.info.run_id: r.info.status for r in training_runs(root / "work")}
    assert statuses[runs[-1].info.run_id] == "FAILED" and list(statuses.values())[-1] == "FINISHED"


def test_sigterm_unwinds_like_ctrl_c(demo_copy, tmp_path):
    """The signal arrives once the run holds the scoring lock, with loading, scoring and writing still ahead."""
    from pipelines.flows import SCORING_LOCK

    root = demo_copy[0]
    before = snapshot(root / "work")
    command = [sys.executable, "-m", "pipelines.cli", "score", "--as-of", "2025-02-01", *arguments_for(root)]
    scoring = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    lock = root / "work" / "predictions" / SCORING_LOCK
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text() == f"process {scoring.pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    scoring.send_signal(signal.SIGTERM)  # to the main process, as systemd's KillMode=mixed does
    try:
        _, error = scoring.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(scoring.pid, signal.SIGKILL)  # then the rest of the job: a Prefect server still starting up
    assert scoring.returncode == EXIT_INTERRUPTED and "interrupted" in error
    assert snapshot(root / "work") == before
    assert not [p for p in (root / "work" / "predictions").iterdir() if p.name.endswith(".tmp")]


def test_export_replaces_customer_ids_by_a_keyed_hash(demo_run, tmp_path, capsys, monkeypatch):
    root, arguments, _ = demo_run
    monkeypatch.delenv("SURVEYLESS_EXPORT_KEY", raising=False)
    assert main(["export", "--to", str(tmp_path / "x.parquet"), *arguments]) == EXIT_BAD_INPUT
    assert "set the environment variable SURVEYLESS_EXPORT_KEY" in capsys.readouterr().err
    monkeypatch.setenv("SURVEYLESS_EXPORT_KEY", "team-key-1-" + "a" * 32)
    assert main(["export", "--to", str(tmp_path / "a.parquet"), *arguments]) == 0
    assert main(["export", "--to", str(tmp_path / "b.csv"), *arguments]) == 0
    monkeypatch.setenv("SURVEYLESS_EXPORT_KEY", "team-key-2-" + "b" * 32)
    assert main(["export", "--to", str(tmp_path / "c.parquet"), *arguments]) == 0
    latest = (root / "work" / "predictions" / "latest").read_text().strip()
    original = pd.read_parquet(root / "work" / "predictions" / latest / "predictions.parquet")
    first, second = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "c.parquet")
    assert (
        not set(first["customer_id"]) & set(original["customer_id"])
        and first["customer_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    )
    assert first["customer_id"].is_unique and (
        first.drop(columns="customer_id").equals(original.drop(columns="customer_id"))
    )
    assert pd.read_csv(tmp_path / "b.csv")["customer_id"].tolist() == first["customer_id"].tolist()
    assert not set(first["customer_id"]) & set(second["customer_id"])
