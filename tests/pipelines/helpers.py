"""Helpers the CLI tests share: break a world's tables, and see whether any output changed."""

import hashlib

import pandas as pd


def snapshot(work) -> dict:
    """Every file surveyless wrote (predictions, reports, the MLflow store, the logs) with its mtime and bytes'
    hash: 'no output changed' means this is equal."""
    written = [p for folder in ("predictions", "reports", "mlartifacts") for p in (work / folder).rglob("*")]
    written += [work / name for name in ("mlflow.db", "promotion_log.csv", "evaluations.csv")]
    return {
        p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in written
        if p.is_file() and not p.name.startswith(".")
    }


def arguments_for(root, config=None) -> list[str]:
    return ["--config", str(config or root / "config.yaml"), "--data", str(root / "world"), "--out", str(root / "work")]


def table(root, name) -> pd.DataFrame:
    return pd.read_parquet(root / "world" / f"{name}.parquet")


def rewrite(root, name, frame) -> None:
    frame.to_parquet(root / "world" / f"{name}.parquet", index=False)


def rewrite_as_csv(root, name, frame, **options) -> None:
    (root / "world" / f"{name}.parquet").unlink()
    frame.to_csv(root / "world" / f"{name}.csv", index=False, **options)


def as_text(frame, column) -> pd.DataFrame:
    return frame.assign(**{column: frame[column].dt.strftime("%Y-%m-%dT%H:%M:%S")})


def changed(root, name, column, row, value) -> None:
    """Sets one cell of a world's table, keeping the rest as it is."""
    frame = table(root, name)
    if isinstance(value, str) and pd.api.types.is_datetime64_any_dtype(frame[column]):
        frame = as_text(frame, column)
    elif not isinstance(value, type(frame[column].iloc[0])):
        frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    rewrite(root, name, frame)
