"""What joinedup writes to the audit log, and who may read it.

The log itself (hash chain, verification) is ``joinedup.state.audit``; this module holds
the governance around it: the actor of a command-line action, the entries for builds and
views of person-level data, and the view of the log each role is entitled to.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from joinedup.access.errors import Forbidden
from joinedup.access.roles import Permission
from joinedup.access.settings import source_agencies
from joinedup.access.users import User
from joinedup.errors import JoinedupError
from joinedup.state import AuditEntry, State, VerifyResult, open_state

if TYPE_CHECKING:
    from joinedup.pipeline.drops import SourceDrop

__all__ = [
    "PERSON_LEVEL_ACTIONS",
    "audit_accepted_drops",
    "audit_build",
    "audit_output",
    "audit_person_view",
    "audit_person_views",
    "cli_actor",
    "verify_audit",
    "visible_audit",
]

#: Actions that touch person-level data: what a data owner reviews for their agency.
PERSON_LEVEL_ACTIONS = (
    "view_person",
    "view_person_not_found",
    "view_cohort",
    "reidentify",
    "subject_access",
    "export_person_level",
    # issue 18: a meeting pack is person-level (each view and download names its persons)
    "view_panel_pack",
    "download_panel_pack",
)


def cli_actor() -> str:
    """``cli:<login name>``: who ran a command, as the operating system knows them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def audit_build(partnership_dir: Path, result: Any, *, actor: str | None = None) -> AuditEntry:
    """Record a published build (``joinedup.release.BuildResult``)."""
    with open_state(partnership_dir) as state:
        return state.audit.append(
            actor=actor or cli_actor(),
            action="build",
            target=str(result.release.release_id),
            detail={
                "sources": int(result.sources),
                "records": int(result.records),
                "persons": int(result.persons),
                "quarantined": int(result.quarantined),
            },
        )


def audit_accepted_drops(
    partnership_dir: Path,
    drops: Iterable[SourceDrop],
    *,
    release_id: str,
    actor: str | None = None,
    via: str = "cli",
    state: State | None = None,
) -> list[AuditEntry]:
    """Record each source a data lead let through though it shrank sharply or looked cut
    short (``joinedup build --accept-drop`` or the web build page; issue 11): action
    ``accept_drop``, target the source id, and in ``detail`` its file, why it stopped,
    the previous and new row counts, the fall, and the release it went into. One entry
    per source, in ``state`` when given (the web app's), else the partnership's."""
    by_source = source_agencies(partnership_dir)
    items: list[dict[str, Any]] = [
        {
            "actor": actor or cli_actor(),
            "action": "accept_drop",
            "target": d.source,
            "detail": {
                "via": via,
                "source": d.source,
                "file": d.file,
                "kind": d.kind,
                "measure": d.measure,
                "previous_rows": d.previous_rows,
                "rows": d.rows,
                "fall_percent": d.as_dict()["fall_percent"],
                "previous_release": d.previous_release,
                "release_id": release_id,
            },
            "agencies": tuple(a for a in (by_source.get(d.source),) if a),
        }
        for d in drops
    ]
    if not items:
        return []
    if state is not None:
        return state.audit.append_many(items)
    with open_state(partnership_dir) as own:
        return own.audit.append_many(items)


def audit_output(
    partnership_dir: Path,
    *,
    command: str,
    target: str,
    tier: str,
    fmt: str,
    output: str,
    release_id: str | None,
    sources: Iterable[str] | None = None,
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Record figures leaving joinedup by a command (``joinedup ask``, ``export``,
    ``report``) as the web records a download: action ``export``, the command's actor
    (:func:`cli_actor` unless given), ``target`` (a question id, ``overview`` or
    ``report``), and in ``detail`` the command, tier, format, release and ``output`` (a
    file or folder written, or ``stdout``), plus ``detail``'s own keys (the breakdown,
    the board). ``sources`` (ids) name the agencies whose data it draws on; None: every
    source of the partnership."""
    by_source = source_agencies(partnership_dir)
    wanted = by_source.keys() if sources is None else sources
    agencies = sorted({by_source[s] for s in wanted if s in by_source})
    with open_state(partnership_dir) as state:
        return state.audit.append(
            actor=actor or cli_actor(),
            action="export",
            target=target,
            detail={
                "via": "cli",
                "command": command,
                **(detail or {}),
                "tier": tier,
                "format": fmt,
                "release_id": release_id,
                "output": output,
            },
            agencies=agencies,
        )


def verify_audit(partnership_dir: Path) -> VerifyResult:
    """Walk a partnership's whole audit chain (``joinedup audit verify``); a chain from an
    older joinedup (unkeyed) is keyed first when its head file agrees (see
    ``joinedup.state.audit``), and its older entries are reported as legacy."""
    if not Path(partnership_dir).is_dir():
        raise JoinedupError(
            f"{partnership_dir} is not a partnership folder; give the folder holding "
            "partnership.yaml."
        )
    with open_state(partnership_dir) as state:
        state.audit.key_chain()
        return state.audit.verify()


def audit_person_views(
    state: State,
    *,
    user: User,
    people: Iterable[tuple[str, Iterable[str]]],
    page: str,
    purpose: str | None = None,
) -> list[AuditEntry]:
    """:func:`audit_person_view` for a page showing many people at once (a network's
    members): one entry per person, written in one transaction."""
    return state.audit.append_many(
        [
            {
                "actor": user.username,
                "action": "view_person",
                "target": person_id,
                "purpose": purpose,
                "detail": {"page": page, "user_agency": user.agency},
                "agencies": tuple(agencies),
            }
            for person_id, agencies in people
        ]
    )


def audit_person_view(
    state: State,
    *,
    user: User,
    person_id: str,
    page: str,
    agencies: Iterable[str],
    purpose: str | None = None,
) -> AuditEntry:
    """Record that ``user`` saw a person-level page about ``person_id`` (pseudonymous),
    drawing on ``agencies``' data. Call it for every person-level view (DPA 2018 s62)."""
    return state.audit.append(
        actor=user.username,
        action="view_person",
        target=person_id,
        purpose=purpose,
        detail={"page": page, "user_agency": user.agency},
        agencies=agencies,
    )


def visible_audit(
    state: State,
    user: User,
    *,
    agency: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """The entries ``user`` may read: all for an administrator; for a data lead, the
    entries touching their own agency's data."""
    if user.can(Permission.AUDIT_ALL):
        return state.audit.entries(agency=agency, limit=limit, offset=offset)
    if user.can(Permission.AUDIT_OWN_AGENCY):
        if agency is not None and agency != user.agency:
            raise Forbidden("A data lead can see the audit of their own agency's data only.")
        return state.audit.entries(agency=user.agency, limit=limit, offset=offset)
    raise Forbidden("Only administrators and data leads can see the audit log.")
