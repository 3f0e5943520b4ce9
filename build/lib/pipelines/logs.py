"""The work folder's two append-only CSV logs: what the promotion gate decided, and how past predictions turned out.

Each append rewrites the whole file to a temporary name and renames it, so a crash keeps the old log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from models.gate import Decision
from models.tracking.registry import REGISTERED, verdict
from pipelines.writers import write_text_atomically

PROMOTION_LOG = "promotion_log.csv"
EVALUATION_LOG = "evaluations.csv"
EVALUATION_COLUMNS = ["as_of", "churn_model_version", "roc_auc", "ece", "satisfaction_mae", "in_sample", "alert"]


def appended(path: Path, rows: list[dict]) -> None:
    new = pd.DataFrame(rows).astype(str)
    log = (
        pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False), new], ignore_index=True)
        if path.exists()
        else new
    )
    write_text_atomically(path, log.to_csv(index=False))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def append_promotions(work: Path, run_id: str, versions: dict[str, str], decisions: dict[str, Decision]) -> None:
    """One row per model the training run registered: its version and the gate's decision with the reason."""
    rows = [
        {
            "at": now(),
            "model": REGISTERED[kind],
            "version": version,
            "run_id": run_id,
            "decision": verdict(decisions[kind]),
            "reason": decisions[kind].reason,
        }
        for kind, version in versions.items()
    ]
    appended(Path(work) / PROMOTION_LOG, rows)


def append_evaluation(
    work: Path, as_of: pd.Timestamp, model_version: str, realised: dict, alert: str | None, run_id: str
) -> None:
    churn = realised["churn"]
    row = {
        "evaluated_at": now(),
        "as_of": str(as_of.date()),
        "churn_model_version": model_version,
        "roc_auc": churn.get("roc_auc", ""),
        "ece": churn.get("ece", ""),
        "satisfaction_mae": realised.get("satisfaction", {}).get("mae", ""),
        "in_sample": realised["in_sample"],
        "alert": alert or "",
        "mlflow_run_id": run_id,
    }
    appended(Path(work) / EVALUATION_LOG, [row])


def evaluation_history(work: Path) -> pd.DataFrame:
    """Every realised-performance check so far, oldest scoring date first (empty before the first)."""
    path = Path(work) / EVALUATION_LOG
    if not path.exists():
        return pd.DataFrame(columns=EVALUATION_COLUMNS)
    log = pd.read_csv(path, dtype=str, keep_default_na=False)
    return log.drop_duplicates("as_of", keep="last").sort_values("as_of")
