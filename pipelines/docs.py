"""README tables generated from the declarations, so the docs cannot drift from the code.

`surveyless docs` prints them; a test checks the README holds exactly these tables.
"""

from __future__ import annotations

from features.registry import FEATURES
from features.schema import TABLE_SPECS
from models.scoring import PREDICTION_COLUMNS, SCHEMA_VERSION


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
    lines = [f"Schema version {SCHEMA_VERSION}.", "", "| column | meaning |", "|---|---|"]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in PREDICTION_COLUMNS.items()]
    return "\n".join(lines)


def features_markdown() -> str:
    lines = ["| feature | source | unit | meaning | driver |", "|---|---|---|---|---|"]
    for feature in FEATURES:
        name = feature.name.replace("{window}", "N")
        lines.append(f"| `{name}` | {feature.source} | {feature.unit} | {feature.description.replace('{window}', 'N')} | {feature.driver} |")
    return "\n".join(lines)



def reference_markdown() -> str:
    sections = (("Input contract", contract_markdown()), ("Prediction file", predictions_markdown()), ("Features", features_markdown()))
    return "\n\n".join(f"## {title}\n\n{table}" for title, table in sections)
