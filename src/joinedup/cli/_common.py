"""What every command shares: the error handler, the progress bar, common arguments.

Each command parses its options, calls one library function and turns joinedup's errors
into a clean message on stderr with a non-zero exit (1 for a problem with the data or
configuration, 2 for a usage error).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from joinedup.errors import JoinedupError

__all__ = [
    "DIR",
    "TIER",
    "TIER_CHOICE",
    "err",
    "handle_errors",
    "progress_bar",
    "stage_labels",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The console for messages and progress (stderr, so stdout stays for results).
err = Console(stderr=True, highlight=False)


def stage_labels() -> dict[str, str]:
    """What the progress bar calls each stage of a build (the pipeline names them)."""
    from joinedup.pipeline import STAGES

    return {stage.name: stage.label for stage in STAGES}


def _fail(exc: JoinedupError) -> None:
    err.print(f"[bold red]Error:[/] {exc}", soft_wrap=True)
    sys.exit(1)


def handle_errors(fn: F) -> F:
    """Turn joinedup errors into a message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JoinedupError as exc:
            _fail(exc)

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_bar(
    labels: Mapping[str, str] | None = None,
) -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback drawing one bar per stage on stderr (quiet when not a terminal);
    ``labels`` name the stages (default: their own names)."""
    labels = labels or {}
    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


DIR = click.argument("directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR")

TIER_CHOICE = click.Choice(["strategic", "operational", "community"])

TIER = click.option(
    "--tier",
    type=TIER_CHOICE,
    default="strategic",
    show_default=True,
    help="Audience: disclosure control and the questions shown follow the tier.",
)
