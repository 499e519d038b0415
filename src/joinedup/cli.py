"""The ``joinedup`` command: a thin adapter over the library.

Each command parses its options, calls one library function and turns joinedup's errors
into a clean message on stderr with a non-zero exit (1 for a problem with the data or
configuration, 2 for a usage error).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from joinedup import __version__
from joinedup.errors import JoinedupError

F = TypeVar("F", bound=Callable[..., Any])

_err = Console(stderr=True, highlight=False)

STAGE_LABELS = {
    "read": "Reading extracts",
    "map": "Mapping to the canonical model",
    "geography": "Loading geography",
    "link": "Linking persons",
    "derive": "Deriving persons and places",
    "publish": "Publishing the release",
}


def _fail(exc: JoinedupError) -> None:
    _err.print(f"[bold red]Error:[/] {exc}", soft_wrap=True)
    sys.exit(1)


def handle_errors(fn: F) -> F:
    """Turn joinedup errors into a message and exit code 1."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JoinedupError as exc:
            _fail(exc)

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback drawing one bar per stage on stderr (quiet when not a terminal)."""
    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=False,
        disable=not _err.is_terminal,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGE_LABELS.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


DIR = click.argument("directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="joinedup")
def cli() -> None:
    """joinedup: see child exploitation and extra-familial harm as one picture.

    \b
    Quick start:
      joinedup demo                 synthetic partnership, built and served
      joinedup synth DIR            make a synthetic partnership folder
      joinedup build DIR            build a release from DIR/partnership.yaml
      joinedup serve DIR            serve the web app for DIR's current release
    """


@cli.command()
@DIR
@click.option("--name", default="My Safeguarding Partnership", help="Partnership name.")
@handle_errors
def init(directory: Path, name: str) -> None:
    """Create a partnership folder with a commented partnership.yaml to fill in.

    \b
    Example:
      joinedup init ./partnership --name "Northshire Safeguarding Partnership"
    """
    from joinedup.config.starter import write_starter

    path = write_starter(directory, name=name)
    click.echo(f"Wrote {path}. Edit it to describe your agencies and extracts, then run:")
    click.echo(f"  joinedup check {directory}")


@cli.command()
@DIR
@click.option(
    "--people",
    type=click.IntRange(min=50),
    default=2000,
    show_default=True,
    help="Number of people in the synthetic area (about 10 source records each).",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@handle_errors
def synth(directory: Path, people: int, seed: int) -> None:
    """Write a complete synthetic partnership folder, with known truth, into DIR.

    Nothing in it is about a real person. Same seed, same bytes.

    \b
    Example:
      joinedup synth ./demo --people 5000 --seed 7
    """
    from joinedup.synth import generate

    with progress_bar() as update:
        summary = generate(directory, people=people, seed=seed, progress=update)
    click.echo(
        f"Wrote a synthetic partnership to {directory}: {summary.people:,} people, "
        f"{summary.total_records:,} source records in {len(summary.files)} extracts."
    )


@cli.command()
@DIR
@handle_errors
def build(directory: Path) -> None:
    """Build a new release from DIR/partnership.yaml and make it current.

    The release is written aside and published only when complete: a build that fails
    leaves the previous release current.

    \b
    Example:
      joinedup build ./demo
    """
    from joinedup.pipeline import build as build_release

    with progress_bar() as update:
        result = build_release(directory, progress=update)
    click.echo(
        f"Release {result.release.release_id} is current: {result.sources} sources, "
        f"{result.records:,} records, {result.persons:,} persons, "
        f"{result.quarantined:,} rows in quarantine."
    )
    click.echo(str(result.release.db_path))


@cli.command()
@DIR
@click.option("--current", is_flag=True, help="Print only the current release's DuckDB path.")
@handle_errors
def releases(directory: Path, current: bool) -> None:
    """List the releases of DIR, marking the current one.

    \b
    Examples:
      joinedup releases ./demo
      duckdb "$(joinedup releases ./demo --current)"
    """
    from joinedup.release import current_release_id, list_releases, open_current

    if current:
        click.echo(str(open_current(directory).db_path))
        return
    found = list_releases(directory)
    if not found:
        click.echo(f"No releases in {directory} yet. Run `joinedup build {directory}`.")
        return
    cur = current_release_id(directory)
    for r in found:
        mark = "*" if r.release_id == cur else " "
        m = r.manifest
        click.echo(
            f"{mark} {r.release_id}  built {m.get('built_at', '?')}  "
            f"records {m.get('records', '?')}  persons {m.get('persons', '?')}  "
            f"quarantined {m.get('quarantined', '?')}"
        )
    click.echo("(* current)")


@cli.command()
@DIR
@handle_errors
def check(directory: Path) -> None:
    """Validate partnership.yaml and read every source without building.

    \b
    Example:
      joinedup check ./partnership
    """
    from joinedup.release.check import check_partnership

    for line in check_partnership(directory):
        click.echo(line)


@cli.command()
@DIR
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@handle_errors
def serve(directory: Path, host: str, port: int) -> None:
    """Serve the web app for DIR's current release.

    \b
    Example:
      joinedup serve ./demo --port 8000
    """
    from joinedup.web import serve as serve_app

    if not (directory / "partnership.yaml").is_file():
        raise JoinedupError(f"{directory} has no partnership.yaml; run `joinedup init` first.")
    click.echo(f"Serving {directory} on http://{host}:{port}/ (Ctrl+C to stop)")
    serve_app(directory, host=host, port=port)


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo"),
    show_default=True,
    help="Folder for the demo partnership.",
)
@click.option("--people", type=click.IntRange(min=50), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--no-serve", is_flag=True, help="Stop after the build.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@handle_errors
def demo(directory: Path, people: int, seed: int, no_serve: bool, host: str, port: int) -> None:
    """Synthesise a partnership, build it and serve it: joinedup in one command.

    An existing demo folder is reused (delete it to start again).

    \b
    Example:
      joinedup demo --dir ./demo --no-serve
    """
    from joinedup.pipeline import build as build_release
    from joinedup.synth import generate

    if (directory / "partnership.yaml").is_file():
        click.echo(f"Using the synthetic partnership already in {directory}.")
    else:
        with progress_bar() as update:
            summary = generate(directory, people=people, seed=seed, progress=update)
        click.echo(f"Synthesised {summary.total_records:,} source records in {directory}.")
    with progress_bar() as update:
        result = build_release(directory, progress=update)
    click.echo(
        f"Built release {result.release.release_id}: {result.records:,} records, "
        f"{result.persons:,} persons."
    )
    if no_serve:
        return
    from joinedup.web import serve as serve_app

    click.echo(f"Open http://{host}:{port}/ (Ctrl+C to stop)")
    serve_app(directory, host=host, port=port)


def main() -> None:
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
