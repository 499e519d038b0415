"""Governance: ``audit verify`` (the hash-chained log) and ``subject-access`` (one
person's data for their agency's disclosure process, logged with its reference)."""

from __future__ import annotations

from pathlib import Path

import click

from joinedup.cli._common import DIR, err, handle_errors
from joinedup.errors import JoinedupError

__all__ = ["audit", "subject_access_cmd"]


@click.command("subject-access")
@DIR
@click.option("--as", "username", required=True, help="The data lead making the export.")
@click.option("--reference", required=True, help="The subject access request's reference.")
@click.option("--person", "person_id", help="The person's pseudonymous id.")
@click.option("--agency-id", "agency_identifier", help="Your agency's own id for them.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write (it holds personal data: keep it in your disclosure system).",
)
@handle_errors
def subject_access_cmd(
    directory: Path,
    username: str,
    reference: str,
    person_id: str | None,
    agency_identifier: str | None,
    fmt: str,
    output: Path,
) -> None:
    """Export everything held about one person, for your agency's disclosure process.

    The request is written to the audit log with its reference.

    \b
    Example:
      joinedup subject-access ./demo --as demo-data-lead --reference SAR-2026-014 \\
        --person P-1A2B3C4D5E --output sar-014.csv
    """
    from joinedup.access import get_user, subject_access
    from joinedup.state import open_state

    with open_state(directory) as state:
        user = get_user(state, username)
        if user is None:
            raise JoinedupError(f"There is no user '{username}'; see `joinedup users list`.")
        export = subject_access(
            state,
            directory,
            user=user,
            reference=reference,
            person_id=person_id,
            agency_identifier=agency_identifier,
        )
    output.write_text(export.to_csv() if fmt == "csv" else export.to_json(), encoding="utf-8")
    click.echo(
        f"Wrote {export.rows:,} rows about person {export.person_id} from release "
        f"{export.release_id} to {output}; the request is in the audit log."
    )


@click.group()
def audit() -> None:
    """The audit log: who did what, when and why (hash-chained, append-only)."""


@audit.command("verify")
@DIR
@handle_errors
def audit_verify(directory: Path) -> None:
    """Check that no audit entry has been edited, deleted or reordered.

    Exit 0 when the chain is intact, 1 when it is not (each problem is listed with its
    entry number). Note the head hash printed: a later verify can be compared with it.

    \b
    Example:
      joinedup audit verify ./demo
    """
    from joinedup.access import verify_audit

    result = verify_audit(directory)
    if result.ok:
        click.echo(f"Audit log intact: {result.entries:,} entries; head hash {result.head_hash}.")
    for line in result.summary_lines():  # what was checked: entries, key, head file
        click.echo(f"  {line}")
    if result.ok:
        return
    for problem in result.problems:
        err.print(f"  - {problem}", soft_wrap=True, markup=False)
    raise JoinedupError(
        f"The audit log has been tampered with: {len(result.problems)} problem(s) above, "
        f"in {result.entries:,} entries. Keep a copy of the database and tell the "
        "partnership's information governance lead."
    )
