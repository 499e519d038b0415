"""Setting up and building: ``init``, ``check``, ``build`` and ``releases``."""

from __future__ import annotations

from pathlib import Path

import click

from joinedup.cli._common import DIR, handle_errors, progress_bar, stage_labels

__all__ = ["build", "check", "init", "releases"]


@click.command()
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


@click.command()
@DIR
@click.option(
    "--accept-drop",
    "accept_drop",
    multiple=True,
    metavar="SOURCE",
    help="Publish SOURCE though its rows fell sharply, it has no data rows or its last row "
    "is cut short (check the extract first; recorded in the audit log). Repeatable.",
)
@click.option(
    "--draft",
    is_flag=True,
    help="Make a draft: complete, shown to no one until `joinedup publish DIR` "
    "(the default when partnership.yaml sets build.drafts: true).",
)
@click.option(
    "--relink",
    is_flag=True,
    help="Link every record afresh instead of only the new and changed ones (the model "
    "is still reused unless linkage.retrain_share of records changed since it was trained).",
)
@handle_errors
def build(directory: Path, accept_drop: tuple[str, ...], draft: bool, relink: bool) -> None:
    """Build a new release from DIR/partnership.yaml and make it current.

    The release is written aside and published only when complete: a build that fails
    leaves the previous release current. A source whose rows fell by more than
    build.max_drop_share (default 50%) since the current release, an extract with no
    data rows, or one whose last row is cut short stops the build before publishing,
    until --accept-drop names it.

    With --draft (or build.drafts: true in partnership.yaml) the release is kept as a
    draft: compare it with the current one on the web app's releases page, then
    `joinedup publish DIR` makes it current (or `joinedup discard DIR RELEASE`).

    Linkage is incremental when it can be: only new and changed records are scored and
    clustered on top of the previous release (the build says so); --relink (or
    linkage.incremental: false) links every record afresh.

    \b
    Examples:
      joinedup build ./demo
      joinedup build ./demo --accept-drop police_crimes
      joinedup build ./demo --draft && joinedup publish ./demo
      joinedup build ./demo --relink
    """
    from joinedup.access import audit_accepted_drops, audit_build, cli_actor
    from joinedup.pipeline import build as build_release
    from joinedup.pipeline.link import linkage_summary, relinking
    from joinedup.pipeline.publish import drafting

    with (
        progress_bar(stage_labels()) as update,
        drafting(True if draft else None, built_by=cli_actor()),
        relinking(relink),
    ):
        result = build_release(directory, progress=update, accept_drop=accept_drop)
    audit_accepted_drops(directory, result.accepted_drops, release_id=result.release.release_id)
    audit_build(directory, result)
    is_draft = bool(result.release.manifest.get("draft"))
    for drop in result.accepted_drops:
        kept = "Kept" if is_draft else "Published"
        click.echo(f"{kept} as confirmed (in the audit log): {drop.source}: {drop.finding}.")
    linkage = linkage_summary(result.release.db_path)
    if linkage:
        click.echo(linkage)
    from joinedup.cli.governance import excluded_summary  # issue 19

    if left_out := excluded_summary(result.release.db_path):
        click.echo(left_out)
    if is_draft:
        click.echo(
            f"Draft {result.release.release_id} is ready, not current: {result.sources} "
            f"sources, {result.records:,} records, {result.persons:,} persons, "
            f"{result.quarantined:,} rows in quarantine. Compare it with the current release "
            f"on the web app's releases page, then run `joinedup publish {directory}` "
            f"(or `joinedup discard {directory} {result.release.release_id}`)."
        )
        click.echo(str(result.release.db_path))
        return
    click.echo(
        f"Release {result.release.release_id} is current: {result.sources} sources, "
        f"{result.records:,} records, {result.persons:,} persons, "
        f"{result.quarantined:,} rows in quarantine."
    )
    click.echo(str(result.release.db_path))


@click.command()
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


@click.command()
@DIR
@click.option(
    "--full",
    is_flag=True,
    help="Map every row of every source, as a build does (default: a sample of each).",
)
@handle_errors
def check(directory: Path, full: bool) -> None:
    """Validate partnership.yaml, the geography files and every source without building.

    Anything a build would refuse is reported. Without --full each source's rows are
    mapped on a sample; --full maps them all.

    \b
    Examples:
      joinedup check ./partnership
      joinedup check ./partnership --full
    """
    from joinedup.insight import check_questions
    from joinedup.pipeline.check import check_partnership

    for line in check_partnership(directory, full=full):
        click.echo(line)
    click.echo(check_questions(directory))  # DIR/questions/*.yaml
    from joinedup.pipeline.language import check_language  # issue 20: the language guide

    findings = check_language(directory)
    for finding in findings:
        click.echo(finding.message())
    if not findings:
        click.echo("language: no words the language guide advises against.")
