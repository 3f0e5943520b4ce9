"""The base of every settings section: frozen, and a key it does not know is an error naming the key.

Each package declares the settings it reads (features: windows, churn definition, cutoffs; models:
boosters, gate, scoring) as one of these; `pipelines.config` composes them into the run's config
and passes each section down as it is.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
