"""Reads a data source (a folder of CSV/Parquet files or a DuckDB file) and validates it against the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from features.contract import ContractError, Problem, UnknownCustomers, validated_tables
from features.sentiment import LexiconScorer, TextModelScorer
from features.schema import TABLE_SPECS
from features.tables import Tables

DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")


def load_tables(source: Path, survey_scale: str, unknown_customers: UnknownCustomers = "error") -> Tables:
    """Validated tables from `source`; raises ContractError when the source breaks the contract.

    Events stamped after this moment are errors: the clock is read here, at the edge.
    """
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    return validated_tables(read_raw_tables(source), survey_scale, now=now, unknown_customers=unknown_customers)


def read_raw_tables(source: Path) -> dict[str, pd.DataFrame]:
    source = Path(source)
    if source.is_dir():
        return read_folder(source)
    if source.is_file() and source.suffix.lower() in DUCKDB_SUFFIXES:
        return read_duckdb(source)
    raise ContractError([Problem("source", None, f"{source} is neither a folder of table files nor a DuckDB file ({', '.join(DUCKDB_SUFFIXES)}).")])


def read_folder(folder: Path) -> dict[str, pd.DataFrame]:
    """One file per contract table, `<table>.parquet` or `<table>.csv`; other files are ignored."""
    tables = {}
    for name in TABLE_SPECS:
        parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if parquet.exists():
            tables[name] = pd.read_parquet(parquet)
        elif csv.exists():
            tables[name] = read_csv(name, csv)
    return tables


def read_csv(name: str, path: Path) -> pd.DataFrame:
    """All cells as text: the contract, not pandas' guessing, decides each column's type."""
    try:
        return pd.read_csv(path, dtype=str, encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ContractError([Problem(name, None, f"{path.name} is not UTF-8 text: {first_undecodable(path)}; save it as UTF-8.")]) from error
    except pd.errors.ParserError as error:
        raise ContractError([Problem(name, None, f"{path.name} is not readable CSV: {error}")]) from error


def first_undecodable(path: Path) -> str:
    """'line 2, byte 26 (0xe4)': where the first byte that is not UTF-8 sits (pandas' own offset is per buffer)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return f"line {line}, byte {error.start + 1} (0x{data[error.start]:02x})"
    return "an undecodable byte"


def read_duckdb(path: Path) -> dict[str, pd.DataFrame]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        present = {row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        return {name: connection.table(name).df() for name in TABLE_SPECS if name in present}


SENTIMENT_POINTER = "current.json"


def read_table_file(path: Path, name: str) -> pd.DataFrame:
    """A single CSV or Parquet file, e.g. a user's labelled mentions."""
    if not path.is_file():
        raise ContractError([Problem(name, None, f"{path} does not exist.")])
    return pd.read_parquet(path) if path.suffix.lower() == ".parquet" else read_csv(name, path)


def load_sentiment_scorer(work: Path) -> LexiconScorer | TextModelScorer:
    """The text model trained with `surveyless sentiment train` in this work folder, else the shipped lexicon.

    The model is a pickle: only ever load one this project wrote into its own work folder.
    """
    import joblib

    pointer = Path(work) / "sentiment" / SENTIMENT_POINTER
    if not pointer.exists():
        return LexiconScorer.shipped()
    current = json.loads(pointer.read_text(encoding="utf-8"))
    model = (pointer.parent / current["path"]).resolve()
    if not model.is_relative_to(pointer.parent.resolve()):
        raise ContractError([Problem("sentiment", None, f"{pointer} names {current['path']!r}, outside {pointer.parent}; only models `surveyless sentiment train` saved there are loaded, since loading one runs its code.")])
    return TextModelScorer(joblib.load(model), current["version"])
