"""Skipping finished work: results keyed on the input data's fingerprint and the configuration.

An unchanged rerun finds its key and reuses the stored result; any change to data or config
makes a new key, so a stale result is never read.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from pipelines.config import Config
from pipelines.writers import write_bytes_atomically

RUN_ONLY_KEYS = ("data", "out", "world", "schedules", "output", "executor", "sql")


def config_hash(config: Config) -> str:
    """The configuration that shapes results (paths, where tables come from, where work runs, schedules and output
    options aside)."""
    relevant = {k: v for k, v in config.model_dump(mode="json").items() if k not in RUN_ONLY_KEYS}
    return digest(relevant)


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def cached_frame(folder: Path, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """`compute()`, or the frame it returned before under `key` (Parquet keeps dtypes and float bits)."""
    path = folder / f"{key}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    frame = compute()
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    write_bytes_atomically(path, buffer.getvalue())
    return frame
