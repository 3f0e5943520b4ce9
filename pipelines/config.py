"""The run configuration: YAML loaded once at the entry point into a frozen model; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from features.builders import FeatureSettings
from features.labels import ChurnDefinition
from features.loaders import SqlSettings
from features.settings import Settings as Strict
from features.synthetic import WorldSpec
from features.training_sets import CutoffSchedule
from models.bias import SurveySettings
from models.gate import GateSettings
from models.scoring import ScoringSettings
from models.training import ModelSettings
from pipelines.executors import ExecutorSettings


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or breaks the schema."""


class OutputConfig(Strict):
    csv: bool = Field(False, description="Also write predictions.csv beside predictions.parquet.")
    report_customers: int = Field(25, gt=0, description="At-risk customers listed in the HTML report.")


class ReportSettings(Strict):
    currency: str = Field("EUR", description="ISO 4217 code of the amounts in orders, shown in the report.")
    owner_attribute: str | None = Field(
        None, description="Column of customers naming each customer's owner (account manager), shown in the list."
    )
    priority_list_csv: bool = Field(
        False, description="Also write the whole ranked priority list as priority_list.csv beside the report."
    )

    @field_validator("currency")
    @classmethod
    def known_currency(cls, value: str) -> str:
        from babel.numbers import get_currency_name

        if len(value) != 3 or get_currency_name(value.upper(), locale="en") == value.upper():
            raise ValueError(f"{value!r} is not an ISO 4217 currency code (EUR, USD, SEK...)")
        return value.upper()


class MonitoringConfig(Strict):
    drift_threshold: float = Field(
        0.2,
        gt=0,
        description="Population stability index from which a feature, or the prediction distribution, is flagged as "
        "drifted.",
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


class Config(Strict):
    data: str = Field(
        "work/world",
        description="Input: a folder (CSV/Parquet per table), a DuckDB file, or a SQLAlchemy database URL.",
    )
    out: Path = Field(Path("work"), description="Work folder: MLflow store, predictions, reports.")
    unknown_customers: Literal["error", "drop"] = Field(
        "error", description="Events of customers missing from customers: an error, or dropped with a counted warning."
    )
    world: WorldSpec = WorldSpec()
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
    report: ReportSettings = ReportSettings()
    sql: SqlSettings = SqlSettings()
    executor: ExecutorSettings = ExecutorSettings()


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (plain YAML keeps the last one without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_config(path: Path | None = None, data: str | Path | None = None, out: Path | None = None) -> Config:
    """The config at `path` with the CLI's --data/--out overrides; without a file, the defaults (which
    configs/default.yaml writes out, a test checks), so an installed package needs no file of its own."""
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), UniqueKeyLoader) or {} if path else {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping of keys to values")
    overrides = {key: str(value) for key, value in (("data", data), ("out", out)) if value is not None}
    work = Path(overrides.get("out", raw.get("out", "work")))
    if work.exists() and not work.is_dir():
        raise ConfigError(f"out: {work} is a file; the work folder must be a folder (new, or one surveyless made)")
    try:
        return Config.model_validate(raw | overrides)
    except ValidationError as error:
        raise ConfigError(f"config {path or '(defaults)'}: {broken_keys(error)}") from error


def broken_keys(error: ValidationError, prefix: str = "") -> str:
    """'model.seed: expected a number; ...': each key at fault, dotted from the config's top."""
    return "; ".join(f"{prefix}{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


def with_world(config: Config, customers: int | None, seed: int | None) -> WorldSpec:
    """The config's world with the command line's --customers and --seed, checked like the config itself."""
    given = {key: value for key, value in (("customers", customers), ("seed", seed)) if value is not None}
    try:
        return WorldSpec.model_validate(config.world.model_dump() | given)
    except ValidationError as error:
        raise ConfigError(f"--customers/--seed: {broken_keys(error)}") from error
