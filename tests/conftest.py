"""Shared fixtures: a small generated world, and hand-written tiny tables."""

from __future__ import annotations

import pandas as pd
import pytest

from features.contract import validated_tables
from features.synthetic import WorldSpec, generate_world
from features.tables import Tables

SMALL_WORLD = WorldSpec(customers=1500, seed=3)


@pytest.fixture(scope="session")
def small_world():
    return generate_world(SMALL_WORLD)


@pytest.fixture(scope="session")
def small_tables(small_world) -> Tables:
    return validated_tables(small_world.tables, "nps")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def tiny_tables(**frames: pd.DataFrame) -> Tables:
    """Validated tables from hand-written frames; customers default to C1..C3 signed up on 2024-01-01."""
    customers = pd.DataFrame(
        {"customer_id": ["C1", "C2", "C3"], "signup_date": ["2024-01-01"] * 3, "segment": ["consumer", "smb", "smb"]}
    )
    return validated_tables({"customers": customers, **frames}, "nps")
