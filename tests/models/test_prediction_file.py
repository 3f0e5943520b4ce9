import pandas as pd
import pytest
from jsonschema import Draft202012Validator, ValidationError

from models.prediction_file import (
    COLUMN_NAMES,
    SCHEMA_FILE,
    SCHEMA_VERSION,
    contract_fingerprint,
    json_schema,
    schema_text,
    spreadsheet_safe,
)

# Each published schema version and the shape (names, order, types, allowed values) it promises.
PUBLISHED = {"2.0": "0c048ca6a6a8c661", "3.0": "431c54c5a828bcdc", "3.1": "d2c41da48d28a243"}


def test_the_contract_cannot_change_without_a_version_bump():
    assert PUBLISHED.get(SCHEMA_VERSION) == contract_fingerprint(), (
        "the prediction contract changed: bump SCHEMA_VERSION, pin its fingerprint here, and run make docs"
    )


def test_the_published_schema_file_is_the_declared_one():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "stale schema file: run make docs"


def row(**changes) -> dict:
    valid = dict.fromkeys(COLUMN_NAMES, "x") | {
        "as_of": "2025-06-01",
        "churn_probability": 0.2,
        "churn_risk": "medium",
        "satisfaction_score": 7.5,
        "satisfaction_lower": 5.0,
        "satisfaction_upper": 9.0,
        "nps_category": "passive",
        "control_group": False,
        "status": "lapsed",
    }
    return valid | changes


@pytest.mark.parametrize(
    "changes",
    [
        {"churn_risk": "severe"},
        {"status": "gone"},
        {"control_group": "no"},
        {"churn_probability": None},
        {"extra": 1},
        {"nps_category": "fan"},
    ],
)
def test_the_schema_rejects_rows_that_break_the_contract(changes):
    with pytest.raises(ValidationError):
        Draft202012Validator(json_schema()).validate(row(**changes))


def test_the_schema_accepts_empty_satisfaction_without_a_model():
    Draft202012Validator(json_schema()).validate(
        row(satisfaction_score=None, satisfaction_lower=None, satisfaction_upper=None, nps_category=None)
    )


def test_csv_cells_that_would_run_as_formulas_are_defused():
    rows = pd.DataFrame({name: ["plain"] * 4 for name in COLUMN_NAMES}).assign(
        customer_id=["=cmd|' /C calc'!A0", "+1", "C3", "@SUM(A1)"],
        nps_category=[None, "passive", None, None],
        churn_probability=[-0.5, 0.1, 0.2, 0.3],
    )
    safe = spreadsheet_safe(rows)
    assert safe["customer_id"].tolist() == ["'=cmd|' /C calc'!A0", "'+1", "C3", "'@SUM(A1)"]
    assert safe["nps_category"].isna().tolist() == [True, False, True, True] and safe["churn_probability"].tolist() == [
        -0.5,
        0.1,
        0.2,
        0.3,
    ]
