"""A progress display the CLI switches on; flows and tasks report stages to it, or to nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

_display: Progress | None = None


@contextmanager
def showing_progress(console: Console) -> Iterator[Progress]:
    """While active, every `stage` appears as a line with a spinner and its elapsed time."""
    global _display
    display = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=False)
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
    """`function`, shown as `label` on the progress display while it runs."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        with stage(label):
            return function(*args, **kwargs)

    return run
