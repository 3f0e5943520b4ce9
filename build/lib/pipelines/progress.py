"""A progress display the CLI switches on; flows and tasks report stages to it, or to nothing."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

_display: Progress | None = None
_durations: list[tuple[str, float]] = []


@contextmanager
def showing_progress(console: Console) -> Iterator[Progress]:
    """While active, every `stage` appears as a line with a spinner and its elapsed time."""
    global _display
    display = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    _display = display
    try:
        with display:
            yield display
    finally:
        _display = None


@contextmanager
def stage(label: str, total: float | None = None) -> Iterator[Callable[[float], None]]:
    """Shows `label` while the block runs; the yielded callable advances a bar when `total` is known."""
    if _display is None:
        yield lambda amount: None
        return
    task_id = _display.add_task(label, total=total)
    try:
        yield lambda amount: _display.advance(task_id, amount)
    finally:
        _display.update(task_id, total=_display.tasks[task_id].total or 1, completed=_display.tasks[task_id].total or 1)


def staged(label: str, function: Callable) -> Callable:
    """`function`, shown as `label` on the progress display while it runs; its wall time is kept for `durations`."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        started = time.perf_counter()
        try:
            with stage(label):
                return function(*args, **kwargs)
        finally:
            _durations.append((label, time.perf_counter() - started))

    return run


def durations() -> list[dict]:
    """Each step run since the last call, with its seconds (a run reports where its time went), then forgets them."""
    taken = [{"step": label, "seconds": round(seconds, 2)} for label, seconds in _durations]
    _durations.clear()
    return taken
