"""Synthetic partnerships: ``synth`` writes one, ``demo`` builds and serves one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from joinedup.cli._common import DIR, handle_errors, progress_bar, stage_labels

__all__ = ["demo", "synth"]

#: Progress labels of the generator's steps (the rest show their own names).
SYNTH_LABELS = {"geography": "Loading geography"}


@click.command()
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

    with progress_bar(SYNTH_LABELS) as update:
        summary = generate(directory, people=people, seed=seed, progress=update)
    click.echo(
        f"Wrote a synthetic partnership to {directory}: {summary.people:,} people, "
        f"{summary.total_records:,} source records in {len(summary.files)} extracts."
    )


@click.command()
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
        with progress_bar(SYNTH_LABELS) as update:
            # the demo lets data leads and panel members review links seeing both
            # records (sharing_agreements[].reviewers): its data is fictional
            summary = generate(
                directory,
                people=people,
                seed=seed,
                progress=update,
                reviewers=("data_lead", "panel_member"),
            )
        click.echo(f"Synthesised {summary.total_records:,} source records in {directory}.")
    with progress_bar(stage_labels()) as update:
        result = build_release(directory, progress=update)
    click.echo(
        f"Built release {result.release.release_id}: {result.records:,} records, "
        f"{result.persons:,} persons."
    )
    _demo_accounts(directory, result)
    if no_serve:
        return
    from joinedup.web import serve as serve_app

    click.echo(f"Open http://{host}:{port}/ (Ctrl+C to stop)")
    serve_app(directory, host=host, port=port)


def _demo_accounts(directory: Path, result: Any) -> None:
    """Audit the demo's build and print one demo account per role (synthetic data only)."""
    from joinedup.access import (
        audit_build,
        cli_actor,
        ensure_demo_accounts,
        partnership_agencies,
    )
    from joinedup.state import open_state

    audit_build(directory, result)
    with open_state(directory) as state:
        accounts = ensure_demo_accounts(
            state, partnership_agencies(directory) or ["demo"], actor=cli_actor()
        )
    click.echo(
        "Demo accounts, one per role. Their passwords are printed here ONLY because every "
        "record in this demo is synthetic; they change each time the demo starts:"
    )
    for a in accounts:
        click.echo(f"  {a.role.value:<17} username {a.username:<22} password {a.password}")
