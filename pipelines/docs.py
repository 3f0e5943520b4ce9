"""README tables and the prediction JSON Schema, generated from the declarations so docs cannot drift from code.

`make docs` rewrites the tables in README.md between `<!-- table:NAME -->` markers and the
published schema file; tests check both match.
"""

from __future__ import annotations

import re
from pathlib import Path

from features.registry import FEATURES
from features.schema import TABLE_SPECS
from models.prediction_file import PREDICTION_COLUMNS, SCHEMA_FILE, SCHEMA_VERSION, schema_text


def contract_markdown() -> str:
    lines = ["| table | column | type | required | meaning |", "|---|---|---|---|---|"]
    for spec in TABLE_SPECS.values():
        for column in spec.columns:
            kind = f"{column.kind}: {' / '.join(column.allowed)}" if column.allowed else column.kind
            required = ("yes" if column.required else "optional") + (", may be empty" if column.nullable and column.required else "")
            table = f"`{spec.name}`{' (required)' if spec.required else ''}"
            lines.append(f"| {table} | `{column.name}` | {kind} | {required} | {column.description} |")
    return "\n".join(lines)


def predictions_markdown() -> str:
    lines = [f"Schema version {SCHEMA_VERSION}.", "", "| column | type | meaning |", "|---|---|---|"]
    for column in PREDICTION_COLUMNS:
        kind = f"{column.type}: {' / '.join(column.allowed)}" if column.allowed else column.type
        lines.append(f"| `{column.name}` | {kind}{', may be empty' if column.nullable else ''} | {column.description} |")
    return "\n".join(lines)


def features_markdown() -> str:
    lines = ["| feature | source | unit | meaning | driver |", "|---|---|---|---|---|"]
    for feature in FEATURES:
        window = {"each": "N", "longest": "L", "none": ""}[feature.windows]
        name, meaning = feature.name.replace("{window}", window), feature.description.replace("{window}", window)
        lines.append(f"| `{name}` | {feature.source} | {feature.unit} | {meaning} | {feature.driver} |")
    return "\n".join(lines)


TABLES = {"contract": contract_markdown, "predictions": predictions_markdown, "features": features_markdown}


def with_reference_tables(readme: str) -> str:
    """The README with every `<!-- table:NAME -->...<!-- /table -->` block regenerated."""
    for name, render in TABLES.items():
        pattern = re.compile(rf"(<!-- table:{name} -->\n).*?(\n<!-- /table -->)", re.DOTALL)
        readme = pattern.sub(lambda m: m.group(1) + render() + m.group(2), readme)
    return readme


def update_docs(readme: Path = Path("README.md")) -> None:
    readme.write_text(with_reference_tables(readme.read_text(encoding="utf-8")), encoding="utf-8")
    SCHEMA_FILE.parent.mkdir(exist_ok=True)
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
