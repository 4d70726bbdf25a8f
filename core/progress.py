"""Progress of long steps (seeding, the demo's wait for drafts, eval runs), shown with rich on a terminal and not at
all otherwise: a bar drawn on stderr only when both stdout and stderr are terminals, so output piped or captured
(CI, tests, `| tee`) stays exactly the lines the command prints."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


def on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


def terminal_progress(*, transient: bool = False, enabled: bool = True) -> Progress:
    """A rich Progress (use it as a context manager; add_task, advance, update); disabled, so it draws nothing,
    unless `enabled` and on a terminal. `transient` clears the bars when done."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=transient,
        disable=not (enabled and on_terminal()),
    )
