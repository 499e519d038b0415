"""``users``: people who may sign in (every change is audited, naming ``cli:<login>``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from joinedup.cli._common import DIR, handle_errors

__all__ = ["users"]

ROLE_CHOICE = click.Choice(
    ["admin", "data_lead", "analyst", "panel_member", "board_member", "community_viewer"]
)
USERNAME = click.argument("username")


def _actor() -> str:
    from joinedup.access import cli_actor

    return cli_actor()


@click.group()
def users() -> None:
    """People who may sign in: their agency, roles and passwords.

    \b
    Roles: admin, data_lead, analyst, panel_member, board_member, community_viewer.
    """


def _new_password(generate: bool) -> str:
    from joinedup.access import generate_password

    if generate:  # shown by _show_password once it is stored, never before
        return generate_password()
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


def _show_password(generate: bool, password: str | None) -> None:
    if generate and password is not None:
        click.echo(f"Password (give it to them securely; it is not shown again): {password}")


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
    _show_password(generate_password, password)


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
    _show_password(generate_password, password)
