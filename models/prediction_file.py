"""The prediction-file contract downstream systems rely on, declared once.

The writer orders and checks columns by it, the README's table and the published JSON Schema
(`models/schemas/predictions.schema.json`) are generated from it, and a test validates real output
against the schema. Changing a column changes the schema's fingerprint, which a test pins to
`SCHEMA_VERSION`: a change without a version bump fails.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from features.labels import STATUSES

SCHEMA_VERSION = "3.1"
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "predictions.schema.json"
RISK_LEVELS = ("low", "medium", "high")
NPS_CATEGORIES = ("detractor", "passive", "promoter")

ValueType = Literal["string", "date", "number", "boolean"]


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: ValueType
    description: str
    nullable: bool = False
    allowed: tuple[str, ...] | None = None


PREDICTION_COLUMNS: tuple[OutputColumn, ...] = (
    OutputColumn("customer_id", "string", "Customer identifier from the input's customers table."),
    OutputColumn("as_of", "date", "Scoring date: features use only events strictly before it."),
    OutputColumn(
        "churn_probability",
        "number",
        "Calibrated probability (Platt scaling, out of time) that the customer churns within the configured horizon "
        "after as_of.",
    ),
    OutputColumn(
        "churn_risk",
        "string",
        "Risk band: churn_probability against the config's `risk_thresholds` (medium from, high from).",
        allowed=RISK_LEVELS,
    ),
    OutputColumn(
        "status",
        "string",
        "new: signed up within the churn horizon before as_of; lapsed: churns by going quiet and has had no order (no "
        "linked event, without orders) "
        "for a whole horizon, so churn_probability is the chance of still buying nothing; active: everyone else. "
        "Customers whose contract ended are not listed.",
        allowed=STATUSES,
    ),
    OutputColumn(
        "satisfaction_score",
        "number",
        "Inferred satisfaction on the survey scale (NPS 0-10 or CSAT 1-5); empty when no satisfaction model exists "
        "(too few surveys).",
        nullable=True,
    ),
    OutputColumn(
        "satisfaction_lower",
        "number",
        "Lower end of the 90 % split-conformal interval for satisfaction_score.",
        nullable=True,
    ),
    OutputColumn(
        "satisfaction_upper",
        "number",
        "Upper end of the 90 % split-conformal interval for satisfaction_score.",
        nullable=True,
    ),
    OutputColumn(
        "nps_category",
        "string",
        "Most likely NPS category; NPS scale with a satisfaction model only, else empty.",
        nullable=True,
        allowed=NPS_CATEGORIES,
    ),
    OutputColumn(
        "reason_1",
        "string",
        "What raises the churn risk most among the drivers a person can act on, in plain language (the config's "
        "language) with its effect in probability points; empty when none raises it.",
    ),
    OutputColumn("reason_2", "string", "Second actionable driver raising the churn risk; may be empty."),
    OutputColumn("reason_3", "string", "Third actionable driver raising the churn risk; may be empty."),
    OutputColumn(
        "next_action",
        "string",
        "The playbook's next action for reason_1's driver (configurable, scoring.playbook); empty with reason_1.",
    ),
    OutputColumn(
        "reasons_json",
        "string",
        "The three largest contributions of any feature, unfiltered and signed, as a JSON list of "
        "{feature, value, contribution}; contribution in probability (-1..1).",
    ),
    OutputColumn("churn_model_version", "string", "Registered version of the churn model that scored this row."),
    OutputColumn(
        "satisfaction_model_version",
        "string",
        "Registered version of the satisfaction model that scored this row; empty without one.",
    ),
    OutputColumn("run_id", "string", "MLflow run id of the training run that produced the churn model."),
    OutputColumn(
        "control_group",
        "boolean",
        "True for the fixed share of customers (keyed hash of customer_id) to leave untouched, so the effect of acting "
        "on scores can be measured.",
    ),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in PREDICTION_COLUMNS)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(predictions: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula ('=cmd|...', '+1', '@SUM') get a leading apostrophe (OWASP's CSV
    injection advice)."""

    def defused(values: pd.Series) -> pd.Series:
        text = values.astype("str")
        return values.where(~text.str.startswith(FORMULA_STARTS).fillna(False), "'" + text)

    return predictions.assign(
        **{c.name: defused(predictions[c.name]) for c in PREDICTION_COLUMNS if c.type == "string"}
    )


JSON_TYPES = {"string": "string", "date": "string", "number": "number", "boolean": "boolean"}


def column_schema(column: OutputColumn) -> dict:
    schema: dict = {
        "type": [JSON_TYPES[column.type], "null"] if column.nullable else JSON_TYPES[column.type],
        "description": column.description,
    }
    if column.type == "date":
        schema["format"] = "date"
    if column.allowed:
        schema["enum"] = list(column.allowed) + ([None] if column.nullable else [])
    return schema


def json_schema() -> dict:
    """JSON Schema of one prediction row; `x-column-order` gives the file's column order."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"surveyless/predictions/{SCHEMA_VERSION}",
        "title": "surveyless prediction row",
        "schema_version": SCHEMA_VERSION,
        "x-column-order": list(COLUMN_NAMES),
        "type": "object",
        "properties": {c.name: column_schema(c) for c in PREDICTION_COLUMNS},
        "required": list(COLUMN_NAMES),
        "additionalProperties": False,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def contract_fingerprint() -> str:
    """What a consumer depends on (names, order, types, nullability, allowed values); descriptions may change freely."""
    shape = [(c.name, c.type, c.nullable, c.allowed) for c in PREDICTION_COLUMNS]
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]
