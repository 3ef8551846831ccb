"""One progress bar style for all long work: rich with ETA on a terminal, silent when piped or --json."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

stderr_console = Console(stderr=True)


def progress_enabled(quiet: bool = False) -> bool:
    """Show bars only to a person: stderr is a terminal and the user did not ask for machine output."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress_bar(quiet: bool = False, *extra_columns) -> Iterator[Progress]:
    """A rich Progress on stderr (disabled → no output at all). Use `p.add_task(desc, total=N)`."""
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        *extra_columns,
    ]
    with Progress(*columns, console=stderr_console, disable=not progress_enabled(quiet), transient=False) as p:
        yield p
