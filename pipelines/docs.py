"""README tables generated from the declarations, so the docs cannot drift from the code.

`make docs` rewrites them in README.md between `<!-- table:NAME -->` markers; a test checks the
README holds exactly these tables.
"""

from __future__ import annotations

import re
from pathlib import Path

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


def update_readme(path: Path = Path("README.md")) -> None:
    path.write_text(with_reference_tables(path.read_text(encoding="utf-8")), encoding="utf-8")
