"""Everything surveyless writes to disk, each written so a crash never leaves a half-written file where a reader looks.

Files go to a temporary name and are renamed into place (`os.replace` is atomic on one file
system); a prediction folder is assembled beside its final name and swapped in whole.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import logging
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

from features.schema import TABLE_SPECS, SurveyScale
from features.sentiment import TextModelScorer
from features.synthetic import WorldSpec, world_chunks
from models.monitoring import NotYetKnown
from models.prediction_file import COLUMN_NAMES, SCHEMA_VERSION, spreadsheet_safe
from models.scoring import pseudonymised

LOG = logging.getLogger(__name__)


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


def write_new_table(frame: pd.DataFrame, path: Path) -> None:
    """Writes a file that must not exist yet, atomically: the link is made only if the name is free, so a file
    someone else wrote (or a race with another writer) is never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / f".{uuid.uuid4().hex}.tmp.{path.name}"
    write_table_atomically(frame, staging)
    try:
        os.link(staging, path)
    finally:
        staging.unlink()


WORLD_FILES = frozenset({f"{name}.parquet" for name in TABLE_SPECS} | {"truth"})
"""The names `write_world` puts in a folder."""


def check_world_folder(folder: Path) -> None:
    """A world replaces only a world it wrote: a folder of the same table files without `truth/` is someone's real
    data, and a folder holding anything else is someone's too."""
    if folder.exists() and not folder.is_dir():
        raise WorldFolderTaken(f"{folder} is a file, not a folder: the synthetic world needs a folder of its own")
    present = sorted(entry.name for entry in folder.iterdir()) if folder.is_dir() else []
    foreign = [name for name in present if name not in WORLD_FILES]
    if foreign or (present and "truth" not in present):
        shown = foreign or present
        raise WorldFolderTaken(
            f"{folder} holds files a synthetic world does not ({', '.join(shown[:5])}"
            f"{', ...' if len(shown) > 5 else ''}{'' if foreign else ', without truth/: real data?'}): "
            "it is not replaced. Give another folder (--data or --world-out)."
        )


def write_world(spec: WorldSpec, folder: Path, survey_scale: SurveyScale, progress=None) -> dict[str, int]:
    """Streams the synthetic world chunk by chunk into `<table>.parquet` files and `truth/`; returns row counts.
    Replaces an earlier world in `folder`, never a folder holding other files."""
    check_world_folder(folder)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.tmp"
    (staging / "truth").mkdir(parents=True)
    writers: dict[Path, pq.ParquetWriter] = {}
    counts: dict[str, int] = {}
    try:
        for chunk in world_chunks(spec, survey_scale):
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


def export_predictions(root: Path, as_of: pd.Timestamp | None, key: str, to: Path) -> tuple[pd.Timestamp, int]:
    """Copies one date's predictions (default: the latest complete one) to `to` with customer ids replaced by keyed
    hashes; returns the date and the rows written."""
    dates = complete_dates(root)
    chosen = as_of if as_of is not None else max(dates, default=None)
    if chosen not in dates:
        shown = as_of.date() if as_of is not None else "any date"
        raise NotYetKnown(f"no complete predictions for {shown} in {root}: score first (surveyless score)")
    exported = pseudonymised(pd.read_parquet(root / prediction_folder_name(chosen) / "predictions.parquet"), key)
    write_new_table(exported, to)
    return chosen, len(exported)


def prediction_folder_name(as_of: pd.Timestamp) -> str:
    return f"as_of={as_of.date().isoformat()}"


def complete_dates(root: Path) -> list[pd.Timestamp]:
    """Scoring dates whose folder is whole and undamaged (its manifest, written last, vouches for every file),
    oldest first."""
    folders = sorted(root.glob("as_of=*")) if root.exists() else []
    return [pd.Timestamp(folder.name.removeprefix("as_of=")) for folder in folders if read_manifest(folder)]


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest when the folder is complete and every file it lists has the sha256 it records; else
    None, with a warning when a folder is there but damaged, so it is rescored or reported, never trusted."""
    path = folder / MANIFEST
    if not folder.is_dir():
        return None
    if not path.exists():
        if any(folder.iterdir()):
            LOG.warning("%s has no manifest: an interrupted or foreign folder, not used.", folder)
        return None
    damage = manifest_damage(folder, path)
    if isinstance(damage, str):
        LOG.warning("%s is damaged (%s): not trusted; score that date again to replace it.", folder, damage)
        return None
    return damage


def manifest_damage(folder: Path, path: Path) -> dict | str:
    """The manifest, or what is wrong with the folder it describes."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["sha256"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        return f"unreadable {MANIFEST}: {type(error).__name__}"
    for name, expected in files.items():
        if not (folder / name).is_file():
            return f"{name} is missing"
        if sha256(folder / name) != expected:
            return f"{name} does not match its sha256 in {MANIFEST}"
    return manifest


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


class WorldFolderTaken(ValueError):
    """The folder asked to hold a synthetic world holds someone's other files."""


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
