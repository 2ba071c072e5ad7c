"""Progress of many runs on stderr: a rich bar with ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Advance(Protocol):
    """Called once per finished run."""

    def __call__(self) -> None: ...


@contextmanager
def tracker(label: str, total: int, enabled: bool = True) -> Iterator[Advance]:
    """Count `total` runs as they finish; silent when not `enabled` or nothing is to run."""
    if not enabled or total == 0:
        yield lambda: None
        return
    if sys.stderr.isatty():
        columns = (
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=Console(stderr=True, emoji=False), transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda: bar.advance(task)
        return
    # a log or a CI job: a line at every tenth, not one per run
    done = 0
    step = max(1, total // 10)

    def advance() -> None:
        nonlocal done
        done += 1
        if done % step == 0 or done == total:
            print(f"{label}: {done}/{total} runs done", file=sys.stderr, flush=True)

    yield advance
