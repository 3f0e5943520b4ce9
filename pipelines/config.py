"""The run configuration: YAML loaded once at the entry point into a frozen model; unknown keys are errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator

from features.builders import FeatureSettings
from features.labels import ChurnDefinition
from features.loaders import SqlOptions
from features.schema import TABLE_SPECS
from features.settings import Settings as Strict
from features.synthetic import WorldSpec
from features.training_sets import CutoffSchedule
from models.bias import SurveySettings
from models.gate import GateSettings
from models.scoring import ScoringSettings
from models.training import ModelSettings

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or breaks the schema."""


class WorldConfig(Strict):
    customers: int = Field(10_000, gt=0, description="Customers in the synthetic world.")
    seed: int = Field(7, description="Seed: the same seed gives the same world.")
    start: date = Field(date(2024, 1, 1), description="First day the world simulates.")
    end: date = Field(date(2025, 12, 31), description="Last day the world simulates.")


class OutputConfig(Strict):
    csv: bool = Field(False, description="Also write predictions.csv beside predictions.parquet.")
    report_customers: int = Field(25, gt=0, description="At-risk customers listed in the HTML report.")


class MonitoringConfig(Strict):
    drift_threshold: float = Field(
        0.2,
        gt=0,
        description="Population stability index from which a feature, or the prediction distribution, is flagged as drifted.",
    )
    max_auc_drop: float = Field(
        0.05, ge=0, description="Realised churn ROC AUC this far below the model's validation AUC is flagged."
    )


class Schedule(Strict):
    cron: str = Field(description="Cron expression, e.g. '0 6 * * MON'.")
    timezone: str = Field("UTC", description="IANA time zone the cron expression is read in, e.g. Europe/Helsinki.")

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        ZoneInfo(value)
        return value


class SchedulesConfig(Strict):
    retrain: Schedule | None = Field(
        Schedule(cron="0 3 1 * *", timezone="Europe/Helsinki"), description="Train, gate, then score with the champion."
    )
    score: Schedule | None = Field(
        Schedule(cron="0 6 * * MON", timezone="Europe/Helsinki"),
        description="Score with the champion (catch-up applies).",
    )


class ExecutorConfig(Strict):
    kind: Literal["local", "dask"] = Field(
        "local",
        description="local: one process; dask: features, training rows and scoring run per customer partition on a Dask cluster.",
    )
    address: str = Field(
        "local-cluster",
        description="Dask scheduler address (tcp://host:8786), or local-cluster to start one on this machine.",
    )
    workers: int = Field(2, gt=0, description="Worker processes of a local cluster.")
    partitions: int = Field(
        8, gt=0, description="Customer partitions (by a hash of customer_id) the work is split into."
    )


class SqlConfig(Strict):
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


class Config(Strict):
    data: str = Field(
        "work/world",
        description="Input: a folder (CSV/Parquet per table), a DuckDB file, or a SQLAlchemy database URL.",
    )
    out: Path = Field(Path("work"), description="Work folder: MLflow store, predictions, reports.")
    unknown_customers: Literal["error", "drop"] = Field(
        "error", description="Events of customers missing from customers: an error, or dropped with a counted warning."
    )
    world: WorldConfig = WorldConfig()
    churn: ChurnDefinition = ChurnDefinition()
    satisfaction: SurveySettings = SurveySettings()
    cutoffs: CutoffSchedule = CutoffSchedule()
    features: FeatureSettings = FeatureSettings()
    model: ModelSettings = ModelSettings()
    promotion: GateSettings = GateSettings()
    language: Literal["en", "fi"] = Field("en", description="Language of reasons and the report.")
    scoring: ScoringSettings = ScoringSettings()
    monitoring: MonitoringConfig = MonitoringConfig()
    schedules: SchedulesConfig = SchedulesConfig()
    output: OutputConfig = OutputConfig()
    sql: SqlConfig = SqlConfig()
    executor: ExecutorConfig = ExecutorConfig()

    @property
    def sql_options(self) -> SqlOptions:
        return SqlOptions(self.sql.schema_name, self.sql.tables, optional_timestamp(self.sql.since))

    @property
    def world_spec(self) -> WorldSpec:
        w = self.world
        return WorldSpec(w.customers, w.seed, pd.Timestamp(w.start), pd.Timestamp(w.end), self.satisfaction.scale)


def optional_timestamp(day: date | None) -> pd.Timestamp | None:
    return None if day is None else pd.Timestamp(day)


def load_config(path: Path | None = None, data: str | Path | None = None, out: Path | None = None) -> Config:
    """The config at `path` (default configs/default.yaml) with the CLI's --data/--out overrides."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping of keys to values")
    overrides = {key: str(value) for key, value in (("data", data), ("out", out)) if value is not None}
    try:
        return Config.model_validate(raw | overrides)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise ConfigError(f"config {path}: {problems}") from error
