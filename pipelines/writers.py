"""Everything surveyless writes to disk, each written so a crash never leaves a half-written file where a reader looks.

Files go to a temporary name and are renamed into place (`os.replace` is atomic on one file
system); a prediction folder is assembled beside its final name and swapped in whole.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.sentiment import TextModelScorer
from features.synthetic import WorldSpec, world_chunks
from models.prediction_file import COLUMN_NAMES, SCHEMA_VERSION, spreadsheet_safe


def write_bytes_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~current_umask())
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomically(path: Path, text: str) -> None:
    write_bytes_atomically(path, text.encode("utf-8"))


def write_table_atomically(frame: pd.DataFrame, path: Path) -> None:
    """A prediction-contract table as Parquet, or as spreadsheet-safe CSV, by the path's suffix."""
    if path.suffix.lower() == ".csv":
        write_text_atomically(path, spreadsheet_safe(frame).to_csv(index=False))
    else:
        write_bytes_atomically(path, frame.to_parquet(index=False))


def write_world(spec: WorldSpec, folder: Path, progress=None) -> dict[str, int]:
    """Streams the synthetic world chunk by chunk into `<table>.parquet` files and `truth/`; returns row counts."""
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.tmp"
    (staging / "truth").mkdir(parents=True)
    writers: dict[Path, pq.ParquetWriter] = {}
    counts: dict[str, int] = {}
    try:
        for chunk in world_chunks(spec):
            for name, frame in chunk.tables.items():
                append_parquet(writers, staging / f"{name}.parquet", frame)
                counts[name] = counts.get(name, 0) + len(frame)
            for name, frame in chunk.truth.items():
                append_parquet(writers, staging / "truth" / f"{name}.parquet", frame)
            if progress:
                progress(len(chunk.tables["customers"]))
        for writer in writers.values():
            writer.close()
        swap_into_place(staging, folder)
    except BaseException:
        for writer in writers.values():
            writer.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return counts


def append_parquet(writers: dict[Path, pq.ParquetWriter], path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if path not in writers:
        writers[path] = pq.ParquetWriter(path, table.schema)
    writers[path].write_table(table.cast(writers[path].schema))


def swap_into_place(staging: Path, final: Path) -> None:
    """Replaces `final` with the complete `staging` folder; readers see the old or the new, never a mix.

    An existing folder is exchanged with the new one in a single atomic step (Linux renameat2), so
    a crash at any instant leaves a complete folder under `final`; the old one is then deleted.
    """
    if not final.exists():
        os.replace(staging, final)
        return
    exchange(staging, final)
    shutil.rmtree(staging, ignore_errors=True)


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def exchange(first: Path, second: Path) -> None:
    """Atomically swaps two paths. Where renameat2 is missing (not Linux), two renames stand in for it,
    with a moment in between where `second` is absent."""
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        retired = second.parent / f".{second.name}.{uuid.uuid4().hex}.old"
        os.replace(second, retired)
        os.replace(first, second)
        os.replace(retired, first)
        return
    if libc.renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(second))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_predictions(predictions: pd.DataFrame, out: Path, as_of: pd.Timestamp, csv: bool, extra: dict) -> Path:
    """Writes `predictions/as_of=YYYY-MM-DD/` whole (Parquet, optional CSV, then manifest.json as the commit
    marker), then points `predictions/latest` at the newest complete date; returns the folder."""
    root = out / "predictions"
    final = root / prediction_folder_name(as_of)
    staging = root / f".{final.name}.{uuid.uuid4().hex}.tmp"
    staging.mkdir(parents=True)
    try:
        parquet = staging / "predictions.parquet"
        predictions[list(COLUMN_NAMES)].to_parquet(parquet, index=False)
        files = {"predictions.parquet": sha256(parquet)}
        if csv:
            spreadsheet_safe(predictions[list(COLUMN_NAMES)]).to_csv(staging / "predictions.csv", index=False)
            files["predictions.csv"] = sha256(staging / "predictions.csv")
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "as_of": as_of.date().isoformat(),
            "rows": len(predictions),
            "sha256": files,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **extra,
        }
        write_text_atomically(staging / MANIFEST, json.dumps(manifest, indent=2))
        swap_into_place(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    point_latest(root)
    return final


MANIFEST = "manifest.json"
LATEST = "latest"


def prediction_folder_name(as_of: pd.Timestamp) -> str:
    return f"as_of={as_of.date().isoformat()}"


def complete_dates(root: Path) -> list[pd.Timestamp]:
    """Scoring dates whose folder holds a manifest (written last, so the folder is whole), oldest first."""
    folders = root.glob("as_of=*") if root.exists() else []
    return sorted(
        pd.Timestamp(folder.name.removeprefix("as_of=")) for folder in folders if (folder / MANIFEST).exists()
    )


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest, or None when the folder is absent or incomplete."""
    path = folder / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def previous_predictions(root: Path, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """The newest complete predictions before `as_of`, for 'what changed since the last run'."""
    earlier = [date for date in complete_dates(root) if date < as_of]
    return pd.read_parquet(root / prediction_folder_name(earlier[-1]) / "predictions.parquet") if earlier else None


def point_latest(root: Path) -> None:
    """`latest` names the newest complete date; a backfill of an older date leaves it alone."""
    dates = complete_dates(root)
    if dates:
        write_text_atomically(root / LATEST, prediction_folder_name(dates[-1]) + "\n")


def write_sentiment_model(scorer: TextModelScorer, metrics: dict, work: Path) -> Path:
    """Saves `sentiment/text-model-vN/` (model and metrics), then points `sentiment/current.json` at it."""
    import joblib

    root = work / "sentiment"
    folder = root / f"text-model-v{scorer.version}"
    staging = root / f".{folder.name}.{uuid.uuid4().hex}.tmp"
    staging.mkdir(parents=True)
    try:
        joblib.dump(scorer.pipeline, staging / "model.joblib")
        write_text_atomically(staging / "metrics.json", json.dumps(metrics, indent=2))
        swap_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    pointer = {
        "version": scorer.version,
        "path": f"{folder.name}/model.joblib",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_text_atomically(root / "current.json", json.dumps(pointer, indent=2))
    return folder


def next_sentiment_version(work: Path) -> str:
    existing = [
        int(p.name.rsplit("v", 1)[1])
        for p in (work / "sentiment").glob("text-model-v*")
        if p.name.rsplit("v", 1)[1].isdigit()
    ]
    return str(max(existing, default=0) + 1)


class RunInProgress(RuntimeError):
    """Another surveyless process holds the lock for this work: this run stops before changing anything."""


@contextmanager
def exclusive(lock: Path, what: str) -> Iterator[None]:
    """Holds an flock on `lock` for the block; a second holder fails at once instead of waiting.

    The kernel drops the lock when its process ends, however it ends, so a crash never leaves a stale lock.
    """
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunInProgress(
                f"{holder} is already {what} in {lock.parent} (lock {lock}); this run stopped and changed nothing."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
