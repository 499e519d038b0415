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
    "quality": "Measuring data quality",
    "insight": "Answering the questions",
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
    from joinedup.access import audit_build
    from joinedup.pipeline import build as build_release

    with progress_bar() as update:
        result = build_release(directory, progress=update)
    audit_build(directory, result)
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
    _check_questions(directory)  # insight (issue 5): DIR/questions/*.yaml


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
    _demo_accounts(directory, result)
    if no_serve:
        return
    from joinedup.web import serve as serve_app

    click.echo(f"Open http://{host}:{port}/ (Ctrl+C to stop)")
    serve_app(directory, host=host, port=port)


# --- governance (issue 6): audit log and users ---------------------------------------


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


def _actor() -> str:
    from joinedup.access import cli_actor

    return cli_actor()


@cli.group()
def users() -> None:
    """People who may sign in: their agency, roles and passwords.

    \b
    Roles: admin, data_lead, analyst, panel_member, board_member, community_viewer.
    """


ROLE_CHOICE = click.Choice(
    ["admin", "data_lead", "analyst", "panel_member", "board_member", "community_viewer"]
)
USERNAME = click.argument("username")


def _new_password(generate: bool) -> str:
    from joinedup.access import generate_password

    if generate:
        password = generate_password()
        click.echo(f"Password (give it to them securely; it is not shown again): {password}")
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


@users.command("add")
@DIR
@USERNAME
@click.option("--agency", required=True, help="The agency id they work for.")
@click.option("--role", "roles", type=ROLE_CHOICE, multiple=True, required=True, help="Repeat.")
@click.option("--name", "display_name", default="", help="Their name as shown in the app.")
@click.option("--generate-password", is_flag=True, help="Make a random password and print it.")
@click.option(
    "--oidc-only", is_flag=True, help="No password: they sign in with their organisation."
)
@handle_errors
def users_add(
    directory: Path,
    username: str,
    agency: str,
    roles: tuple[str, ...],
    display_name: str,
    generate_password: bool,
    oidc_only: bool,
) -> None:
    """Add a user (the change is audited).

    \b
    Example:
      joinedup users add ./demo jo.bloggs@police.example --agency police \\
        --role panel_member --name "Jo Bloggs" --generate-password
    """
    from joinedup.access import create_user, partnership_agencies
    from joinedup.state import open_state

    password = None if oidc_only else _new_password(generate_password)
    with open_state(directory) as state:
        user = create_user(
            state,
            username=username,
            display_name=display_name,
            agency=agency,
            roles=roles,
            password=password,
            actor=_actor(),
            agencies=partnership_agencies(directory),
        )
    click.echo(f"Added {user.username} ({user.agency}: {', '.join(sorted(user.roles))}).")


@users.command("list")
@DIR
@handle_errors
def users_list(directory: Path) -> None:
    """List users with their agency, roles and state.

    \b
    Example:
      joinedup users list ./demo
    """
    from joinedup.access import list_users
    from joinedup.state import open_state

    with open_state(directory) as state:
        found = list_users(state)
    if not found:
        click.echo(f"No users yet. Add one with `joinedup users add {directory} ...`.")
    for u in found:
        flags = ("disabled" if u.disabled else "active") + ("" if u.has_password else ", oidc")
        click.echo(f"{u.username}  {u.agency}  {','.join(sorted(u.roles))}  {flags}")


def _user_change(action: str) -> Callable[[Path, str], None]:
    def change(directory: Path, username: str) -> None:
        from joinedup import access
        from joinedup.state import open_state

        fn = getattr(access, f"{action}_user")
        with open_state(directory) as state:
            fn(state, username=username, actor=_actor())
        done = f"{action}d" if action.endswith("e") else f"{action}ed"
        click.echo(f"{username}: {done}.")

    return change


@users.command("disable")
@DIR
@USERNAME
@handle_errors
def users_disable(directory: Path, username: str) -> None:
    """Stop a user signing in; their sessions end at once.

    \b
    Example:
      joinedup users disable ./demo jo.bloggs@police.example
    """
    _user_change("disable")(directory, username)


@users.command("enable")
@DIR
@USERNAME
@handle_errors
def users_enable(directory: Path, username: str) -> None:
    """Let a disabled user sign in again.

    \b
    Example:
      joinedup users enable ./demo jo.bloggs@police.example
    """
    _user_change("enable")(directory, username)


@users.command("unlock")
@DIR
@USERNAME
@handle_errors
def users_unlock(directory: Path, username: str) -> None:
    """Clear a lockout after too many failed sign-ins.

    \b
    Example:
      joinedup users unlock ./demo jo.bloggs@police.example
    """
    _user_change("unlock")(directory, username)


@users.command("roles")
@DIR
@USERNAME
@click.argument("roles", nargs=-1, required=True, type=ROLE_CHOICE)
@handle_errors
def users_roles(directory: Path, username: str, roles: tuple[str, ...]) -> None:
    """Replace a user's roles.

    \b
    Example:
      joinedup users roles ./demo jo.bloggs@police.example analyst panel_member
    """
    from joinedup.access import set_roles
    from joinedup.state import open_state

    with open_state(directory) as state:
        user = set_roles(state, username=username, roles=roles, actor=_actor())
    click.echo(f"{user.username}: roles now {', '.join(sorted(user.roles))}.")


@users.command("password")
@DIR
@USERNAME
@click.option("--generate-password", is_flag=True, help="Make a random password and print it.")
@handle_errors
def users_password(directory: Path, username: str, generate_password: bool) -> None:
    """Set a new password for a user; their sessions end.

    \b
    Example:
      joinedup users password ./demo jo.bloggs@police.example --generate-password
    """
    from joinedup.access import set_password
    from joinedup.state import open_state

    password = _new_password(generate_password)
    with open_state(directory) as state:
        set_password(state, username=username, password=password, actor=_actor())
    click.echo(f"{username}: password changed.")


@cli.command("subject-access")
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


@cli.group()
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
        return
    for problem in result.problems:
        _err.print(f"  - {problem}", soft_wrap=True, markup=False)
    raise JoinedupError(
        f"The audit log has been tampered with: {len(result.problems)} problem(s) above, "
        f"in {result.entries:,} entries. Keep a copy of the database and tell the "
        "partnership's information governance lead."
    )


# --- insight (issue 5): questions and answers ------------------------------------------


def _check_questions(directory: Path) -> None:
    from joinedup.errors import ConfigError
    from joinedup.insight import QUESTIONS_DIR, validate_questions

    problems = validate_questions(directory)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) with the questions (default pack and "
            f"{directory / QUESTIONS_DIR}); see docs/insight.md for the format:",
            problems,
        )
    own = len(list((directory / QUESTIONS_DIR).glob("*.y*ml")))
    click.echo(f"questions: the default pack and {own} of the partnership's own are valid.")


TIER = click.option(
    "--tier",
    type=click.Choice(["strategic", "operational", "community"]),
    default="strategic",
    show_default=True,
    help="Audience: disclosure control and the questions shown follow the tier.",
)


@cli.command()
@DIR
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@TIER
@handle_errors
def questions(directory: Path, fmt: str, tier: str) -> None:
    """List the questions answered in DIR's current release, with their headline figure.

    \b
    Examples:
      joinedup questions ./demo
      joinedup questions ./demo --format json
    """
    import json

    from joinedup.disclosure import Tier
    from joinedup.disclosure.questions import current_questions

    listing = current_questions(directory, Tier(tier))
    if fmt == "json":
        click.echo(json.dumps(listing, indent=1, ensure_ascii=False))
        return
    click.echo(f"Release {listing['release_id']}, {tier} tier:")
    for q in listing["questions"]:
        head = q["headline"] if q["available"] else "(not at this tier)"
        by = ", ".join(q["breakdowns"]) or "-"
        click.echo(f"  {q['id']}: {head} {q['unit']}")
        click.echo(f"      {q['question']}")
        click.echo(f"      --by {by}")


@cli.command()
@DIR
@click.argument("question")
@click.option("--by", "by", metavar="FIELD", help="Break the answer down by FIELD.")
@TIER
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@handle_errors
def ask(directory: Path, question: str, by: str | None, tier: str, fmt: str) -> None:
    """Print one question's answer from DIR's current release, through disclosure control.

    Counts from 1 to the tier's threshold are shown as "c". CSV output is safe to open
    in a spreadsheet (no cell runs as a formula).

    \b
    Examples:
      joinedup ask ./demo children_with_concern --by exploitation_type
      joinedup ask ./demo disproportionality --by ethnicity --format csv > rates.csv
    """
    import json

    from joinedup.disclosure import Tier
    from joinedup.disclosure.questions import answer_csv, answer_rows, current_answer

    answer = current_answer(directory, question, by=by, tier=Tier(tier))
    if fmt == "json":
        click.echo(json.dumps(answer, indent=1, ensure_ascii=False))
        return
    if fmt == "csv":
        click.echo(answer_csv(answer), nl=False)
        return
    q = answer["question"]
    click.echo(q["question"])
    labels, rows = answer_rows(answer)
    text = [[_cell(x) for x in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(labels)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(labels, widths, strict=True)).rstrip())
    for r in text:
        click.echo("  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)).rstrip())
    click.echo("")
    click.echo(f"Definition: {q['definition']}")
    for caveat in q["caveats"]:
        click.echo(f"Caveat: {caveat}")
    click.echo(answer["disclosure"]["footnote"])
    if answer.get("scope") and answer["scope"].get("note"):
        click.echo(answer["scope"]["note"])


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


# --- reports and exports (issue 7) ----------------------------------------------------

TIER_CHOICE = click.Choice(["strategic", "operational", "community"])


@cli.command()
@DIR
@click.option(
    "--board",
    type=click.Choice(["children", "adults", "community-safety"]),
    default="children",
    show_default=True,
    help="Which board the report is for (chooses its questions).",
)
@click.option("--tier", type=TIER_CHOICE, default="strategic", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf", "xlsx"]),
    default="html",
    show_default=True,
    help="Self-contained HTML, PDF (needs Chromium), or an Excel workbook.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write [default: DIR/reports/BOARD-TIER-RELEASE.FORMAT].",
)
@handle_errors
def report(directory: Path, board: str, tier: str, fmt: str, out: Path | None) -> None:
    """Write the local profile report of DIR's current release for a board.

    Narrative the partnership writes in DIR/narrative/*.md is placed in the report.

    \b
    Examples:
      joinedup report ./demo --board children --format pdf
      joinedup report ./demo --board community-safety --format xlsx --out profile.xlsx
    """
    from joinedup.disclosure import Tier
    from joinedup.report import write_report

    path = write_report(directory, board=board, tier=Tier(tier), fmt=fmt, out=out)
    click.echo(str(path))


@cli.command()
@DIR
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "parquet", "geojson", "i2"]),
    required=True,
    help="i2 is an entity/link CSV for i2 Analyst's Notebook.",
)
@click.option("--tier", type=TIER_CHOICE, default="strategic", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write into (a .xlsx file for --format xlsx).",
)
@handle_errors
def export(directory: Path, fmt: str, tier: str, out: Path) -> None:
    """Export the current release's overview tables, through disclosure control.

    \b
    Examples:
      joinedup export ./demo --format xlsx --out overview.xlsx
      joinedup export ./demo --format geojson --out ./maps
    """
    from joinedup.disclosure import Tier
    from joinedup.export import export_overview

    for path in export_overview(directory, fmt, out, tier=Tier(tier)):
        click.echo(str(path))


def main() -> None:
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
