"""``joinedup panels``: create a panel, add members, list panels, export a meeting's
network and agenda for i2 Analyst's Notebook (audited), and delete meetings past their
retention (audited). Meetings themselves are prepared and held in the web app."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from joinedup.cli._common import DIR, handle_errors
from joinedup.errors import JoinedupError

__all__ = ["panels"]


@click.group("panels")
def panels() -> None:
    """Multi-agency exploitation panels (docs/panels.md)."""


def _agreement_days(directory: Path, agreement: str, days: int | None) -> int:
    from joinedup.config import load_config

    cfg = load_config(directory, check_files=False)
    found = next((a for a in cfg.sharing_agreements if a.key == agreement), None)
    if found is None:
        keys = ", ".join(a.key for a in cfg.sharing_agreements) or "none"
        raise JoinedupError(
            f"partnership.yaml has no sharing agreement '{agreement}' (it has: {keys}); "
            "give one with --agreement."
        )
    if days is not None:
        return days
    if found.retention_years is None:
        raise JoinedupError(
            f"Sharing agreement '{agreement}' gives no retention_years: add it in "
            "partnership.yaml or give --retention-days."
        )
    return int(found.retention_years) * 365


@panels.command("create")
@DIR
@click.option("--name", required=True, help="The panel's name, e.g. 'North MACE'.")
@click.option("--agency", "agencies", multiple=True, required=True, help="An agency (repeat).")
@click.option("--chair", required=True, help="Username of the chair (a panel member).")
@click.option("--agreement", required=True, help="Sharing agreement key it works under.")
@click.option("--cadence-days", default=28, show_default=True, type=int)
@click.option("--retention-days", type=int, help="Default: the agreement's retention_years.")
@handle_errors
def create_cmd(
    directory: Path,
    name: str,
    agencies: tuple[str, ...],
    chair: str,
    agreement: str,
    cadence_days: int,
    retention_days: int | None,
) -> None:
    """Create a panel with its chair.

    \b
    Example:
      joinedup panels create ./demo --name "North MACE" --agency police \\
        --agency childrens_social_care --chair demo-panel --agreement isa
    """
    from joinedup.access import cli_actor, get_user
    from joinedup.access.panel_access import audit_panel_change, panel_store
    from joinedup.access.settings import partnership_agencies
    from joinedup.state import open_state

    known = set(partnership_agencies(directory) or [])
    unknown = sorted(set(agencies) - known)
    if unknown:
        raise JoinedupError(
            f"Not agencies of this partnership: {', '.join(unknown)}; use the ids in "
            "partnership.yaml's agencies."
        )
    days = _agreement_days(directory, agreement, retention_days)
    with open_state(directory) as state:
        user = get_user(state, chair)
        if user is None:
            raise JoinedupError(f"There is no user '{chair}'; see `joinedup users list`.")
        panel = panel_store(state).create_panel(
            name=name,
            agencies=list(agencies),
            cadence_days=cadence_days,
            agreement=agreement,
            retention_days=days,
            created_by=cli_actor(),
            chair=(user.username, user.agency),
        )
        audit_panel_change(
            state, actor=cli_actor(), panel=panel, meeting=None, action="panel_create", detail={}
        )
    click.echo(f"Panel {panel.id} '{panel.name}' created; chair {chair}; kept {days} days.")


@panels.command("add-member")
@DIR
@click.argument("panel_id", type=int)
@click.argument("username")
@click.option("--chair", "as_chair", is_flag=True, help="Make them a chair.")
@handle_errors
def add_member_cmd(directory: Path, panel_id: int, username: str, as_chair: bool) -> None:
    """Add a user (with the panel member role) to a panel."""
    from joinedup.access import Permission, cli_actor, get_user
    from joinedup.access.panel_access import audit_panel_change, panel_store
    from joinedup.state import open_state

    with open_state(directory) as state:
        store = panel_store(state)
        panel = store.get_panel(panel_id)
        if panel is None:
            raise JoinedupError(f"There is no panel {panel_id}; see `joinedup panels list`.")
        user = get_user(state, username)
        if user is None or not user.can(Permission.PANELS):
            raise JoinedupError(
                f"'{username}' is not a user with the panel member role; give it with "
                "`joinedup users set-roles`."
            )
        role = "chair" if as_chair else "member"
        store.add_member(panel_id=panel_id, username=username, agency=user.agency, member_role=role)
        audit_panel_change(
            state,
            actor=cli_actor(),
            panel=panel,
            meeting=None,
            action="panel_member",
            detail={"username": username, "member_role": role},
        )
    click.echo(f"{username} is now a {role} of panel {panel_id}.")


@panels.command("list")
@DIR
@handle_errors
def list_cmd(directory: Path) -> None:
    """List panels with their members and meetings (no one's data)."""
    from joinedup.access.panel_access import panel_store
    from joinedup.state import open_state

    with open_state(directory) as state:
        store = panel_store(state)
        for p in store.all_panels():
            click.echo(
                f"{p.id}\t{p.name}\tchair: {', '.join(p.chairs)}\tmembers: {len(p.members)}"
                f"\tmeetings: {len(store.meetings(p.id))}\tkept {p.retention_days} days"
            )


@panels.command("i2")
@DIR
@click.argument("meeting_id", type=int)
@click.option("--as", "username", required=True, help="A member of the meeting's panel.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@handle_errors
def i2_cmd(directory: Path, meeting_id: int, username: str, output: Path) -> None:
    """Write a meeting's agenda and network as an i2 Analyst's Notebook CSV (audited).

    \b
    Example:
      joinedup panels i2 ./demo 3 --as demo-panel --output mace-3-i2.csv
    """
    from joinedup.access import get_user
    from joinedup.access.panel_access import audit_pack, panel_store, user_meeting
    from joinedup.present.i2 import links_csv, network_links
    from joinedup.state import open_state
    from joinedup.views.panel_pack import meeting_pack
    from joinedup.views.panels import agenda_links

    with open_state(directory) as state:
        user = get_user(state, username)
        if user is None:
            raise JoinedupError(f"There is no user '{username}'; see `joinedup users list`.")
        panel, meeting = user_meeting(state, user, meeting_id)
        store = panel_store(state)
        audit_pack(
            state,
            user=user,
            panel=panel,
            meeting=meeting,
            form="i2",
            persons=[i.subject for i in store.items(meeting.id) if i.kind != "place"],
            release_id=meeting.release_id,
        )
        data = meeting_pack(
            directory,
            store=store,
            panel=panel,
            meeting=meeting,
            viewer=user.username,
            viewer_agency=user.agency,
            today=dt.date.today(),
        )
    nodes, edges = agenda_links(f"{panel.name} {meeting.held_on.isoformat()}", data["items"])
    links = network_links(nodes, edges)
    output.write_text(links_csv(links), encoding="utf-8")
    click.echo(f"Wrote {len(links)} links to {output} (OFFICIAL-SENSITIVE; the export is audited).")


@panels.command("purge")
@DIR
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Default: today.")
@handle_errors
def purge_cmd(directory: Path, today: dt.datetime | None) -> None:
    """Delete meetings past their panel's retention period, each deletion audited."""
    from joinedup.access import cli_actor
    from joinedup.access.panel_access import purge_due_meetings
    from joinedup.state import open_state

    day = today.date() if today is not None else dt.date.today()
    with open_state(directory) as state:
        done = purge_due_meetings(state, today=day, actor=cli_actor())
    for d in done:
        click.echo(
            f"Deleted meeting {d['meeting_id']} of {d['held_on']} (panel {d['panel_id']}): "
            f"{d['items']} items, {d['decisions']} decisions, {d['actions']} actions."
        )
    click.echo(f"{len(done)} meetings past retention deleted.")
