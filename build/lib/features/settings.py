"""The base of every settings section: frozen, and a key it does not know is an error naming the key.

Each package declares the settings it reads (features: windows, churn definition, cutoffs; models:
boosters, gate, scoring) as one of these; `pipelines.config` composes them into the run's config
and passes each section down as it is.
"""

from __future__ import annotations

import types
import typing

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


def expects_number(annotation: object) -> bool:
    """True when a field holds numbers (alone, optional, or in a tuple) and no booleans."""
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, tuple):
        return any(expects_number(inner) for inner in typing.get_args(annotation) if inner is not bool)
    return False


def has_boolean(value: object) -> bool:
    return isinstance(value, bool) or (isinstance(value, list | tuple) and any(isinstance(v, bool) for v in value))


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def numbers_are_not_booleans(cls, value: object, info: ValidationInfo) -> object:
        """YAML reads `yes` and `true` as booleans, which pydantic would quietly take as 1: a number is asked for."""
        if has_boolean(value) and expects_number(cls.model_fields[info.field_name].annotation):
            raise ValueError(f"expected a number, got the boolean {value!r}")
        return value
