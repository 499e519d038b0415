"""Information governance that runs itself (issue 19): ``retention``, ``usage``,
``governance-docs`` and ``objection``; and the build's line on records left out."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from joinedup.cli._common import DIR, handle_errors

__all__ = ["excluded_summary", "governance_docs", "objection", "retention", "usage"]

_DAY = click.DateTime(["%Y-%m-%d"])


def excluded_summary(db_path: Path, threshold: int = 5) -> str | None:
    """The build's line on records left out by retention and objections (an objection
    count below ``threshold`` is shown as "c"); None when none were."""
    import duckdb

    from joinedup.pipeline.retention import excluded_counts

    with duckdb.connect(str(db_path), read_only=True) as con:
        found = excluded_counts(con)
    parts = []
    kept = found.get("retention", {})
    if kept:
        each = ", ".join(f"{s} {n:,}" for s, n in sorted(kept.items()))
        parts.append(f"{sum(kept.values()):,} records past retention left out ({each})")
    objected = sum(found.get("objection", {}).values())
    if objected:
        shown = "c" if objected < threshold else f"{objected:,}"
        parts.append(f"records of people who objected left out: {shown}")
    return ("Governance: " + "; ".join(parts) + ".") if parts else None


@click.command()
@DIR
@click.option("--apply", "apply_", is_flag=True, help="Delete what is past retention (audited).")
@click.option("--on", "day", type=_DAY, help="The day to judge retention on (default: today).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@handle_errors
def retention(directory: Path, apply_: bool, day: dt.datetime | None, fmt: str) -> None:
    """Report what is past retention, and with --apply delete it.

    Reports the records the next build will leave out (per source), the releases and the
    panel meeting records past retention. --apply deletes those releases and meetings,
    each deletion written to the audit log; records are left out by the next build.

    \b
    Examples:
      joinedup retention ./partnership
      joinedup retention ./partnership --apply
    """
    from joinedup.access.retention import apply_retention, retention_plan

    when = day.date() if day is not None else None
    plan = apply_retention(directory, day=when) if apply_ else retention_plan(directory, day=when)
    if fmt == "json":
        click.echo(json.dumps(plan.as_dict(), indent=2))
        return
    click.echo(f"Retention on {plan.day.isoformat()}:")
    due = [d for d in plan.records if d.records]
    click.echo(f"  Records the next build will leave out: {sum(d.records for d in due):,}")
    for d in due:
        click.echo(
            f"    {d.source}: {d.records:,} dated before {d.cutoff.isoformat()} "
            f"({d.agreement}, {d.retention_years} years)"
        )
    verb = "Deleted" if plan.applied else "To delete"
    click.echo(f"  {verb}: {len(plan.releases)} releases past retention")
    for r in plan.releases:
        click.echo(
            f"    {r.release_id} (built {r.built_at}; {r.agreement}: {r.retention_years} years, "
            f"due {r.due_on.isoformat()})"
        )
    click.echo(f"  {verb}: {len(plan.meetings)} panel meetings past retention")
    for m in plan.meetings:
        click.echo(
            f"    meeting {m['meeting_id']} of {m['held_on']} (panel {m['panel_id']}, "
            f"kept {m['retention_days']} days)"
        )
    if not plan.applied and (plan.releases or plan.meetings):
        click.echo(f"Run `joinedup retention {directory} --apply` to delete them (audited).")


@click.command()
@DIR
@click.option("--agency", required=True, help="The agency whose data's use to report.")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@handle_errors
def usage(directory: Path, agency: str, month: str, fmt: str) -> None:
    """Where an agency's data was used in a month, from the audit log (audited).

    \b
    Example:
      joinedup usage ./partnership --agency wexbury_police --month 2026-11
    """
    from joinedup.access.usage import read_usage
    from joinedup.state import open_state

    with open_state(directory) as state:
        data = read_usage(state, directory, agency=agency, month=month, via="cli")
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(
        f"Use of {data['agency_name']} ({agency}) data, {data['from']} to {data['to']}: "
        f"{data['uses']['total']:,} uses in the audit log."
    )
    for row in data["rows"]:
        click.echo(
            f"  {row['uses']:>5}  {row['kind']}: {row['what']}  for {row['purpose']}  "
            f"by {row['role']} ({row['agency']})"
        )
    for p in data["reidentification_purposes"]:
        click.echo(f"  Re-identification purpose given {p['uses']}x: {p['purpose']}")


@click.command("governance-docs")
@DIR
@click.option("--no-pdf", is_flag=True, help="Markdown and HTML only (no browser needed).")
@handle_errors
def governance_docs(directory: Path, no_pdf: bool) -> None:
    """Write the ISA schedule, DPIA annex and record of processing activities.

    Written into DIR/governance/ as Markdown, HTML and tagged PDF, from partnership.yaml
    (every build writes the Markdown and HTML too).
    """
    from joinedup.present.governance_docs import write_governance_pdfs

    for path in write_governance_pdfs(directory, pdf=not no_pdf):
        click.echo(str(path))


@click.group()
def objection() -> None:
    """Objections: records of people who objected are left out at build (counted)."""


@objection.command("add")
@DIR
@click.option(
    "--kind",
    type=click.Choice(["nhs_number", "upn", "pnc_id", "name_dob"]),
    required=True,
    help="What identifies the person.",
)
@click.option("--reference", default="", help="Your case reference for the objection.")
@handle_errors
def objection_add(directory: Path, kind: str, reference: str) -> None:
    """Add an objection; the identifier is typed at a prompt and only its keyed hash kept.

    \b
    Example:
      joinedup objection add ./partnership --kind nhs_number --reference OBJ-2026-003
    """
    from joinedup.config import load_config
    from joinedup.pipeline.context import load_secret
    from joinedup.pipeline.objections import add_objection

    secret = load_secret(directory, load_config(directory, check_files=False))
    value: str | tuple[str, str, str]
    if kind == "name_dob":
        value = (
            click.prompt("Forename", hide_input=True),
            click.prompt("Surname", hide_input=True),
            click.prompt("Date of birth (YYYY-MM-DD)", hide_input=True),
        )
    else:
        value = click.prompt(kind.replace("_", " ").upper(), hide_input=True)
    try:
        added = add_objection(directory, secret, kind, value, reference=reference)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(
        "Objection stored as a keyed hash; the next build leaves out matching records."
        if added
        else "That objection is already on the list."
    )
