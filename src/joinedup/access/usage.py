"""Where is my data used (issue 19): who may see an agency's usage report, and reading it.

The report itself is :func:`joinedup.views.usage.usage_report`; this module gathers what
it needs (the agency's audit entries, each user's roles and agency, each question's
purpose), checks who asks (a data lead sees their own agency's, an administrator any
agency's) and records the reading in the audit log (``view_usage``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from joinedup.access.audit import cli_actor
from joinedup.access.errors import Forbidden
from joinedup.access.roles import Permission
from joinedup.access.users import User, list_users
from joinedup.config import load_config
from joinedup.state import State
from joinedup.views.release import partnership_config
from joinedup.views.usage import UsageError, month_bounds, question_purposes, usage_report

__all__ = ["agency_usage", "read_usage"]


def agency_usage(state: State, partnership_dir: Path, *, agency: str, month: str) -> dict[str, Any]:
    """The usage report of ``agency``'s data in ``month`` (YYYY-MM), unaudited."""
    # partnership.yaml as read once while it is unchanged (views.release)
    config = partnership_config(Path(partnership_dir)) or load_config(
        Path(partnership_dir), check_files=False
    )
    names = {a.id: a.name for a in config.agencies}
    if agency not in names:
        raise UsageError(
            f"There is no agency '{agency}' in partnership.yaml; use one of "
            f"{', '.join(sorted(names))}."
        )
    people = {
        u.username: (", ".join(sorted(str(r.value) for r in u.roles)) or "no role", u.agency)
        for u in list_users(state)
    }
    start, end = month_bounds(month)  # the month's entries only, not the whole log
    return usage_report(
        (),
        counted=state.audit.grouped(agency=agency, since=start, before=end),
        agency=agency,
        month=month,
        people=people,
        purposes=question_purposes(Path(partnership_dir)),
        agency_name=lambda a: names.get(a, a),
    )


def read_usage(
    state: State,
    partnership_dir: Path,
    *,
    agency: str,
    month: str,
    user: User | None = None,
    via: str = "web",
) -> dict[str, Any]:
    """The usage report for ``user`` (None: the command line, run by the server's
    operators), refused (:class:`Forbidden`) for anyone but an administrator or the
    agency's own data lead; the reading is audited."""
    if user is not None:
        if not user.can(Permission.AUDIT_ALL):
            if not user.can(Permission.AUDIT_OWN_AGENCY):
                raise Forbidden("Only administrators and data leads can see where data is used.")
            if agency != user.agency:
                raise Forbidden("A data lead can see where their own agency's data is used only.")
    data = agency_usage(state, partnership_dir, agency=agency, month=month)
    state.audit.append(
        actor=user.username if user is not None else cli_actor(),
        action="view_usage",
        target=agency,
        detail={"via": via, "month": month},
        agencies=[agency],
    )
    return data
