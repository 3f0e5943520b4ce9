"""The user's own mistakes, declared once: flows never retry them, and the CLI exits 2 with these words."""

from __future__ import annotations

from features.contract import ContractError
from models.artifact import ModelMismatch
from models.monitoring import NotYetKnown
from models.tracking.registry import MissingModelError
from pipelines.config import ConfigError
from pipelines.writers import WorldFolderTaken

USER_ERRORS: dict[type[Exception], str] = {
    ContractError: "invalid input",
    ConfigError: "invalid configuration",
    MissingModelError: "no model yet",
    NotYetKnown: "not yet known",
    ModelMismatch: "the champion model does not fit this run",
    WorldFolderTaken: "the folder is not free",
}
