"""Person-level access, each use checked and logged: subject access requests for an
agency's data lead, and re-identification across agencies for panel members.

Neither the log nor an error message ever holds an identifier: a request names the
person by their pseudonymous id, and an agency identifier typed to find them is used for
the look-up only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joinedup.access.errors import Forbidden
from joinedup.access.roles import Permission
from joinedup.access.users import User
from joinedup.errors import JoinedupError
from joinedup.state import State
from joinedup.views import (
    ReleaseLike,
    open_current_release,
    person_dossier,
    persons_by_agency_identifier,
)

__all__ = [
    "MIN_PURPOSE_LENGTH",
    "PersonExport",
    "reidentify",
    "subject_access",
]

MIN_PURPOSE_LENGTH = 10


@dataclass(frozen=True)
class PersonExport:
    """What is held about one person in one release, by section."""

    person_id: str
    release_id: str
    generated_at: str
    reference: str
    sections: dict[str, list[dict[str, Any]]]

    @property
    def rows(self) -> int:
        return sum(len(v) for v in self.sections.values())

    @property
    def agencies(self) -> list[str]:
        return sorted(
            {str(r["agency"]) for v in self.sections.values() for r in v if r.get("agency")}
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "person_id": self.person_id,
                "release_id": self.release_id,
                "generated_at": self.generated_at,
                "reference": self.reference,
                "sections": self.sections,
            },
            indent=2,
            ensure_ascii=False,
        )

    def to_csv(self) -> str:
        """One row a value: section, row, source, field, value (for disclosure tools)."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["person_id", "release_id", "section", "row", "source", "field", "value"])
        for section, rows in self.sections.items():
            for i, row in enumerate(rows, start=1):
                for key, value in row.items():
                    w.writerow(
                        [
                            self.person_id,
                            self.release_id,
                            section,
                            i,
                            row.get("source") or "",
                            key,
                            "" if value is None else value,
                        ]
                    )
        return out.getvalue()


def _release_agencies(con: Any) -> dict[str, str]:
    return {str(s): str(a) for s, a in con.execute("SELECT source, agency FROM source").fetchall()}


def subject_access(
    state: State,
    partnership_dir: Path,
    *,
    user: User,
    reference: str,
    person_id: str | None = None,
    agency_identifier: str | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> PersonExport:
    """Everything held about one person across sources in the current release, for the
    user's agency's disclosure process; the request is logged.

    Find the person by pseudonymous ``person_id``, or by ``agency_identifier``: the
    user's own agency's id for them (its local person id, or one of its record ids).
    """
    if not user.can(Permission.SUBJECT_ACCESS):
        raise Forbidden("Only an agency's data lead can make a subject access export.")
    if not reference.strip():
        raise JoinedupError("Give the subject access request's reference (e.g. SAR-2026-014).")
    if (person_id is None) == (agency_identifier is None):
        raise JoinedupError("Give exactly one of a person id and an agency identifier.")
    handle = (open_release or open_current_release)(partnership_dir)
    con = handle.connect()
    try:
        if agency_identifier is not None:
            found = persons_by_agency_identifier(con, user.agency, agency_identifier)
            if len(found) != 1:
                state.audit.append(
                    actor=user.username,
                    action="subject_access",
                    purpose=reference,
                    detail={"lookup": "agency_identifier", "found": len(found)},
                    agencies=[user.agency],
                )
                raise JoinedupError(
                    f"The {user.agency} identifier given matches {len(found)} persons in "
                    f"release {handle.release_id}; "
                    + (
                        "check it against your system."
                        if not found
                        else "ask the partnership's data lead to review the linkage."
                    )
                )
            person_id = found[0]
        assert person_id is not None
        sections = person_dossier(con, person_id)
        agencies = _release_agencies(con)
    finally:
        con.close()
    for rows in sections.values():
        for row in rows:
            if row.get("source") in agencies and "agency" not in row:
                row["agency"] = agencies[row["source"]]
    export = PersonExport(
        person_id=person_id,
        release_id=handle.release_id,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        reference=reference.strip(),
        sections=sections,
    )
    state.audit.append(
        actor=user.username,
        action="subject_access",
        target=person_id,
        purpose=export.reference,
        detail={
            "lookup": "agency_identifier" if agency_identifier is not None else "person_id",
            "release_id": handle.release_id,
            "rows": export.rows,
        },
        agencies=export.agencies or [user.agency],
    )
    if not sections.get("person") and not sections.get("records"):
        raise JoinedupError(
            f"Nothing is held about person {person_id} in release {handle.release_id}."
        )
    return export


def reidentify(
    state: State,
    partnership_dir: Path,
    *,
    user: User,
    person_id: str,
    purpose: str,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The identifying fields every agency holds for a person, for a panel member with a
    typed purpose; logged with the purpose. Without the panel role it is refused (and
    the refusal logged)."""
    if not user.can(Permission.REIDENTIFY):
        state.audit.append(
            actor=user.username,
            action="reidentify_refused",
            target=person_id,
            detail={"reason": "role"},
        )
        raise Forbidden("Re-identifying a person across agencies needs the panel member role.")
    if len(purpose.strip()) < MIN_PURPOSE_LENGTH:
        raise Forbidden(
            f"Type the purpose of re-identifying this person (at least {MIN_PURPOSE_LENGTH} "
            "characters); it is kept in the audit log."
        )
    handle = (open_release or open_current_release)(partnership_dir)
    con = handle.connect()
    try:
        identity = person_dossier(con, person_id)["identity"]
        agencies = _release_agencies(con)
    finally:
        con.close()
    by_agency: dict[str, list[dict[str, Any]]] = {}
    for row in identity:
        by_agency.setdefault(agencies.get(str(row.get("source")), "unknown"), []).append(row)
    state.audit.append(
        actor=user.username,
        action="reidentify",
        target=person_id,
        purpose=purpose.strip(),
        detail={"release_id": handle.release_id, "records": len(identity)},
        agencies=sorted(by_agency),
    )
    return by_agency
