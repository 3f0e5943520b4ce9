"""Kill a writer at random instants: readers must only ever see complete prediction folders, and `latest` must
only ever name one (it may lag one write behind when the kill lands between the swap and the pointer update;
the next write puts it right)."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from models.prediction_file import COLUMN_NAMES
from pipelines.writers import sha256, write_predictions

pytestmark = pytest.mark.slow  # kills real writer processes at random points

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    import pandas as pd
    from models.prediction_file import COLUMN_NAMES
    from pipelines.writers import write_predictions

    out, rows = Path(sys.argv[1]), 100_000
    frame = pd.DataFrame({name: np.full(rows, "reason text of some length") for name in COLUMN_NAMES})
    for attempt in range(10_000):
        frame["churn_probability"] = attempt / 10_000
        as_of = pd.Timestamp("2025-06-01") + pd.Timedelta(days=attempt % 3)
        write_predictions(frame.assign(as_of=as_of), out, as_of, csv=True, extra={"attempt": attempt})
        print(attempt, flush=True)
""")


def assert_readers_see_only_complete_folders(root: Path) -> int:
    folders = sorted(root.glob("as_of=*"))
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text())
        for name, digest in manifest["sha256"].items():
            assert sha256(folder / name) == digest, f"{folder.name}/{name} does not match its manifest"
        assert len(pd.read_parquet(folder / "predictions.parquet", columns=["churn_probability"])) == manifest["rows"]
    if folders:
        latest = (root / "latest").read_text().strip()
        assert latest in {folder.name for folder in folders}
    return len(folders)


def latest_after_one_more_write(out: Path) -> tuple[str, str]:
    frame = pd.DataFrame({name: ["x"] for name in COLUMN_NAMES}).assign(churn_probability=0.5)
    write_predictions(frame, out, pd.Timestamp("2025-06-02"), csv=False, extra={})
    root = out / "predictions"
    return (root / "latest").read_text().strip(), sorted(root.glob("as_of=*"))[-1].name


def test_killing_the_writer_at_random_points_never_exposes_a_partial_folder(tmp_path):
    rng = random.Random(7)
    environment = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=environment
        )
        writer.stdout.readline()  # at least one write finished in this round
        time.sleep(rng.uniform(0.0, 1.5))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert assert_readers_see_only_complete_folders(tmp_path / "predictions") >= 1
    interrupted = list((tmp_path / "predictions").glob(".as_of=*.tmp"))
    assert interrupted, "no kill landed mid-write: the test did not exercise a crash"
    latest, newest = latest_after_one_more_write(tmp_path)
    assert latest == newest == "as_of=2025-06-02"
