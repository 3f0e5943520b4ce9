"""Reads a data source (a folder of CSV/Parquet files or a DuckDB file) and validates it against the contract."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ConfigDict, Field, field_validator

from features.contract import ContractError, Problem, UnknownCustomers, trimmed_ids, validated_tables
from features.schema import TABLE_SPECS
from features.sentiment import LexiconScorer, TextModelScorer
from features.settings import Settings
from features.tables import Tables, duckdb_connection, partition_numbers, released_arrow_memory

DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")


class SqlSettings(Settings):
    """Where the contract's tables live in a SQL database, and how much history to read (the config's `sql`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_name: str | None = Field(
        None, alias="schema", description="Database schema holding the tables (default: the connection's own)."
    )
    tables: dict[str, str] = Field({}, description="Contract table -> table name in the database, where they differ.")
    since: date | None = Field(None, description="Read events from this date on only; older rows stay in the database.")

    @field_validator("tables")
    @classmethod
    def contract_tables(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(TABLE_SPECS))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} is not a table of the contract (known: {', '.join(TABLE_SPECS)})")
        return value

    def table_name(self, contract_name: str) -> str:
        return self.tables.get(contract_name, contract_name)


def is_database_url(source: str | Path) -> bool:
    return "://" in str(source)


def shown_source(source: str | Path) -> str:
    """The source as it may be printed: a database URL's password is masked."""
    if not is_database_url(source):
        return str(source)
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(str(source)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "the database URL"


def load_tables(
    source: str | Path,
    survey_scale: str,
    unknown_customers: UnknownCustomers = "error",
    sql: SqlSettings | None = None,
) -> Tables:
    """Validated tables from `source` (folder, DuckDB file or SQLAlchemy URL); raises ContractError when it breaks the
    contract.

    Events stamped after this moment are errors: the clock is read here, at the edge.
    """
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    tables = validated_tables(
        read_raw_tables(source, sql or SqlSettings()), survey_scale, now=now, unknown_customers=unknown_customers
    )
    released_arrow_memory()
    return tables


def read_raw_tables(source: str | Path, sql: SqlSettings) -> dict[str, pd.DataFrame]:
    if is_database_url(source):
        return read_database(str(source), sql)
    source = Path(source)
    if source.is_dir():
        return read_folder(source)
    if source.is_file() and source.suffix.lower() in DUCKDB_SUFFIXES:
        return read_duckdb(source)
    raise ContractError(
        [
            Problem(
                "source",
                None,
                f"{source} is neither a folder of table files nor a DuckDB file ({', '.join(DUCKDB_SUFFIXES)}).",
            )
        ]
    )


TABLE_SUFFIXES = (".parquet", ".csv")
CSV_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "pipes"}


def read_folder(folder: Path, partition: Partition | None = None) -> dict[str, pd.DataFrame]:
    """One file per contract table, `<table>.parquet` or `<table>.csv`; other files are ignored. A table file that
    is there but cannot be read (empty, corrupt, a folder, a broken link, two of them, a name in other letters) is
    an error naming it: a table that silently went missing would change what the models learn. With a `partition`,
    only its rows."""
    problems = [problem for name in TABLE_SPECS for problem in table_file_problems(folder, name)]
    if problems:
        raise ContractError(problems)
    return {name: read_table_file(path, name, partition) for name, path in table_files(folder).items()}


def table_files(folder: Path) -> dict[str, Path]:
    """The file of each contract table in the folder (checked by `table_file_problems`)."""
    files = {}
    for name in TABLE_SPECS:
        path = next(
            (folder / f"{name}{suffix}" for suffix in TABLE_SUFFIXES if (folder / f"{name}{suffix}").exists()), None
        )
        if path is not None:
            files[name] = path
    return files


@dataclass(frozen=True)
class Partition:
    """One of `count` partitions of customers (`features.tables.partition_numbers`), read from table files a batch
    at a time: a Dask worker holds its own customers' rows, never a whole table. Rows without a customer (brand-wide
    mentions, or rows validation will reject) are in partition 0. Kept rows keep their row number in the file as
    their index, so errors name the file's rows."""

    number: int
    count: int
    by: str = "customer_id"
    """The id column rows are partitioned by (`pipelines.distributed.repeated_ids` reads the event ids by their
    own)."""

    def rows(self, batches: Iterable[pd.DataFrame]) -> pd.DataFrame | None:
        kept = [
            batch[self.holds(batch[self.by]) if self.by in batch else self.without_ids(len(batch))] for batch in batches
        ]
        return pd.concat(kept) if kept else None

    def holds(self, ids: pd.Series) -> np.ndarray:
        numbers = partition_numbers(trimmed_ids(ids), self.count)
        numbers[ids.isna().to_numpy()] = 0
        return numbers == self.number

    def without_ids(self, rows: int) -> np.ndarray:
        """A file without the id column: all of it in partition 0, whose validation names the missing column."""
        return np.full(rows, self.number == 0)


PARTITION_BATCH_ROWS = 1_000_000
"""Rows read at once when reading a partition: a batch of the widest table is a few hundred MB at most."""


def table_file_problems(folder: Path, name: str) -> list[Problem]:
    wanted = {f"{name}{suffix}" for suffix in TABLE_SUFFIXES}
    entries = [entry for entry in folder.iterdir() if entry.name.lower() in wanted]
    exact = [entry for entry in entries if entry.name in wanted]
    if len(exact) > 1:
        return [Problem(name, None, f"has both {' and '.join(sorted(e.name for e in exact))}: keep one.")]
    for entry in entries:
        if entry.name not in wanted:
            return [
                Problem(
                    name, None, f"{entry.name} is named in other letters: table files are {name}.parquet or {name}.csv."
                )
            ]
        if entry.is_symlink() and not entry.exists():
            return [Problem(name, None, f"{entry.name} is a link to {os.readlink(entry)}, which does not exist.")]
        if not entry.is_file():
            return [Problem(name, None, f"{entry.name} is not a file.")]
        if entry.stat().st_size == 0:
            return [Problem(name, None, f"{entry.name} is empty (0 bytes); a table needs at least its header.")]
    return []


def read_csv(
    name: str, path: Path, partition: Partition | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """All cells as text: the contract, not pandas' guessing, decides each column's type."""
    read = {"dtype": str, "encoding": "utf-8", "usecols": columns}
    try:
        if partition is None:
            frame = pd.read_csv(path, **read)
        else:
            with pd.read_csv(path, **read, chunksize=PARTITION_BATCH_ROWS) as batches:
                frame = partition.rows(batches)
            frame = frame if frame is not None else pd.read_csv(path, **read, nrows=0)
    except UnicodeDecodeError as error:
        raise ContractError(
            [Problem(name, None, f"{path.name} is not UTF-8 text: {first_undecodable(path)}; save it as UTF-8.")]
        ) from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ContractError([Problem(name, None, f"{path.name} is not readable CSV: {error}")]) from error
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        for delimiter, called in CSV_DELIMITERS.items():
            if delimiter in header:
                raise ContractError(
                    [
                        Problem(
                            name,
                            None,
                            f"{path.name} looks separated by {called} ({header[:60]!r}); save it with commas.",
                        )
                    ]
                )
    return frame


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

    try:
        with duckdb_connection(str(path), read_only=True) as connection:
            tables = connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
            present = {row[0] for row in tables}
            return {name: connection.table(name).df() for name in TABLE_SPECS if name in present}
    except duckdb.Error as error:
        problem = f"{path.name} is not a readable DuckDB file: {str(error).splitlines()[0]}"
        raise ContractError([Problem("source", None, problem)]) from error


def read_database(url: str, sql: SqlSettings) -> dict[str, pd.DataFrame]:
    """Each contract table present in the database, through SQLAlchemy Core: identifiers are quoted by the
    dialect and `since` is a bound parameter, so no SQL is built from config text; events before
    `since` stay in the database."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise ContractError(
            [
                Problem(
                    "source",
                    None,
                    f"the database URL is not usable ({error.__class__.__name__}: {error}); expected e.g. "
                    "postgresql+psycopg://user@host:5432/database.",
                )
            ]
        ) from error
    try:
        with engine.connect() as connection:
            present = set(sa.inspect(connection).get_table_names(schema=sql.schema_name))
            return {name: read_table(connection, name, sql) for name in TABLE_SPECS if sql.table_name(name) in present}
    except sa.exc.SQLAlchemyError as error:
        raise ContractError(
            [
                Problem(
                    "source",
                    None,
                    f"cannot read {engine.url.render_as_string(hide_password=True)}: {str(error).splitlines()[0]}",
                )
            ]
        ) from error
    finally:
        engine.dispose()


def read_table(connection, name: str, sql: SqlSettings) -> pd.DataFrame:
    import sqlalchemy as sa

    table = sa.Table(sql.table_name(name), sa.MetaData(), schema=sql.schema_name, autoload_with=connection)
    spec = TABLE_SPECS[name]
    order = [spec.primary_key] if spec.primary_key else ["customer_id", spec.time_column]
    query = sa.select(table).order_by(
        *[table.c[c] for c in order if c in table.c]
    )  # a stable order, so reruns give identical files
    if sql.since is not None and spec.time_column and spec.time_column in table.c:
        query = query.where(table.c[spec.time_column] >= datetime.combine(sql.since, datetime.min.time()))
    return pd.read_sql_query(query, connection)


def parquet_partition(path: Path, partition: Partition, columns: list[str] | None) -> pd.DataFrame:
    """A partition's rows of a Parquet file, filtered in Arrow a batch at a time and converted to pandas as
    `pd.read_parquet` converts a whole file."""
    file = pq.ParquetFile(path)
    kept, rows, first = [], [], 0
    for batch in file.iter_batches(batch_size=PARTITION_BATCH_ROWS, columns=columns):
        held = (
            partition.holds(batch.column(partition.by).to_pandas())
            if partition.by in batch.schema.names
            else partition.without_ids(batch.num_rows)
        )
        kept.append(batch.filter(pa.array(held)))
        rows.append(first + np.flatnonzero(held))
        first += batch.num_rows
    schema = file.schema_arrow if columns is None else pa.schema([file.schema_arrow.field(c) for c in columns])
    table = pa.Table.from_batches(kept, schema=schema)
    return table.to_pandas().set_axis(pd.Index(np.concatenate([[], *rows]).astype(np.int64)))


SENTIMENT_POINTER = "current.json"


def read_table_file(
    path: Path, name: str, partition: Partition | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """A single CSV or Parquet file: a contract table, or a user's labelled mentions (a `partition`'s rows, and only
    some `columns`, when given)."""
    if not path.is_file():
        raise ContractError([Problem(name, None, f"{path} does not exist.")])
    if path.suffix.lower() != ".parquet":
        return read_csv(name, path, partition, columns)
    try:
        if partition is None:  # a pandas index stored in the file is not its rows
            return pd.read_parquet(path, columns=columns).reset_index(drop=True)
        return parquet_partition(path, partition, columns)
    except (OSError, ValueError) as error:
        raise ContractError([Problem(name, None, f"{path.name} is not readable Parquet: {error}")]) from error


def load_sentiment_scorer(work: Path) -> LexiconScorer | TextModelScorer:
    """The text model trained with `surveyless sentiment train` in this work folder, else the shipped lexicon.

    The model is a pickle: only ever load one this project wrote into its own work folder.
    """
    import joblib

    pointer = Path(work) / "sentiment" / SENTIMENT_POINTER
    if not pointer.exists():
        return LexiconScorer.shipped()
    try:
        current = json.loads(pointer.read_text(encoding="utf-8"))
        model = (pointer.parent / current["path"]).resolve()
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        damaged = (
            f"{pointer} is damaged ({type(error).__name__}); train again with `surveyless sentiment train`, "
            "or remove it to use the lexicon."
        )
        raise ContractError([Problem("sentiment", None, damaged)]) from error
    if not model.is_relative_to(pointer.parent.resolve()):
        raise ContractError(
            [
                Problem(
                    "sentiment",
                    None,
                    f"{pointer} names {current['path']!r}, outside {pointer.parent}; only models `surveyless sentiment "
                    "train` saved there are loaded, since loading one runs its code.",
                )
            ]
        )
    return TextModelScorer(joblib.load(model), current["version"])
