"""Drafts: ``publish`` (make a draft current, or list drafts) and ``discard``."""

from __future__ import annotations

from pathlib import Path

import click

from joinedup.cli._common import DIR, handle_errors

__all__ = ["discard", "publish"]


@click.command()
@DIR
@click.argument("release", required=False, metavar="[RELEASE]")
@click.option("--list", "list_only", is_flag=True, help="List the drafts; publish nothing.")
@handle_errors
def publish(directory: Path, release: str | None, list_only: bool) -> None:
    """Make a draft release of DIR current (the newest draft without RELEASE).

    Until then no page, report or export shows the draft. Publishing is written to the
    audit log with who did it. A draft built before another release was published is
    out of date and refused: build a new one.

    \b
    Examples:
      joinedup publish ./demo --list
      joinedup publish ./demo
      joinedup publish ./demo 20261204T101500Z-a1b2c3
    """
    from joinedup.access import cli_actor
    from joinedup.release.drafts import list_drafts, publish_draft

    if list_only:
        drafts = list_drafts(directory)
        if not drafts:
            click.echo(f"No drafts in {directory}. `joinedup build {directory} --draft` makes one.")
            return
        for d in drafts:
            state = "out of date" if d.out_of_date else "ready to publish"
            click.echo(
                f"  {d.release_id}  built {d.built_at}  records {d.records}  "
                f"persons {d.persons}  quarantined {d.quarantined}  ({state})"
            )
        return
    handle = publish_draft(directory, release, actor=cli_actor(), via="cli")
    click.echo(f"Release {handle.release_id} is current (published; in the audit log).")
    click.echo(str(handle.db_path))


@click.command()
@DIR
@click.argument("release", metavar="RELEASE")
@handle_errors
def discard(directory: Path, release: str) -> None:
    """Remove the draft RELEASE of DIR for good (written to the audit log).

    \b
    Example:
      joinedup discard ./demo 20261204T101500Z-a1b2c3
    """
    from joinedup.access import cli_actor
    from joinedup.release.drafts import discard_draft

    discard_draft(directory, release, actor=cli_actor(), via="cli")
    click.echo(f"Draft {release} is discarded (in the audit log).")
