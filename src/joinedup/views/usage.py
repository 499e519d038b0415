"""Where is my data used (issue 19): for an agency's data owner, from the audit log.

Every audit entry names the agencies whose data it touched. :func:`usage_report` reads
one agency's entries for one month and counts them by what was used (a question's
export, a person-level page, a re-identification, a panel's records, ...), by whom (the
user's role and agency, or "command line") and for which purpose: a question's own
purpose, a page's or an export's declared purpose (``config.purposes``), and for a
re-identification also the purpose the person typed. Counts are of audit entries (uses),
never of children, and no entry's target (a person id) is listed.

What is not in the audit log is not in the report: viewing a strategic page is not
audited (its figures are disclosure-controlled); exporting it is.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.purposes import (
    EXPORT_PURPOSES,
    PAGE_PURPOSES,
    purpose_label,
    question_purpose,
)
from joinedup.errors import JoinedupError
from joinedup.insight import list_questions
from joinedup.release.store import open_current
from joinedup.state import AuditEntry

__all__ = ["UsageError", "month_bounds", "question_purposes", "usage_report"]


class UsageError(JoinedupError):
    """A month that is not YYYY-MM, or an agency the partnership does not have."""


#: What each audited action is, in the report's words, and the purpose when fixed.
_KINDS: dict[str, tuple[str, str | None]] = {
    "export": ("Export", None),
    "view_person": ("Person-level page", PAGE_PURPOSES["person"]),
    "view_person_not_found": ("Person-level page", PAGE_PURPOSES["person"]),
    "view_cohort": ("Person-level page", PAGE_PURPOSES["cohorts"]),
    "reidentify": ("Re-identification", "operational_safeguarding"),
    "subject_access": ("Subject access request", EXPORT_PURPOSES["subject_access"]),
    "export_person_level": ("Export", "operational_safeguarding"),
    "link_decision": ("Linkage review", PAGE_PURPOSES["linkage_review"]),
}
_PANEL = ("Panel records", PAGE_PURPOSES["panels"])
_TARGET_PURPOSE = {
    "report": EXPORT_PURPOSES["board_report"],
    "overview": "strategic_needs_assessment",
}


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of ``month`` (YYYY-MM) and of the month after, in UTC."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month or ""):
        raise UsageError(f"The month must be given as YYYY-MM (e.g. 2026-11), not {month!r}.")
    year, mon = int(month[:4]), int(month[5:])
    start = dt.datetime(year, mon, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=dt.UTC)
    return start, end


def question_purposes(partnership_dir: Path) -> dict[str, str]:
    """Question id -> purpose, from the current release (empty without one)."""
    try:
        con = open_current(partnership_dir).connect()
    except JoinedupError:
        return {}
    try:
        infos = list_questions(con)
    except duckdb.Error:
        return {}
    finally:
        con.close()
    return {i.id: question_purpose(i.spec.get("purpose"), i.unit, i.tiers) for i in infos}


def _classify(e: AuditEntry, purposes: Mapping[str, str]) -> tuple[str, str, str | None] | None:
    """(kind, what, purpose) of an entry that used the agency's data, else None."""
    if e.action.startswith("panel_") or e.action == "delete_panel_meeting":
        return _PANEL[0], e.action.removeprefix("panel_").replace("_", " "), _PANEL[1]
    if e.action not in _KINDS:
        return None
    kind, purpose = _KINDS[e.action]
    page = str(e.detail.get("page") or "")
    if e.action == "export":
        question = str(e.detail.get("question") or e.target or "")
        if question in purposes:
            return "Question export", question, purposes[question]
        return kind, question or page, _TARGET_PURPOSE.get(question)
    if e.action == "reidentify":
        return kind, page or "person", purpose
    return kind, page or e.action.replace("_", " "), purpose


def usage_report(
    entries: Iterable[AuditEntry],
    *,
    agency: str,
    month: str,
    people: Mapping[str, tuple[str, str]],
    purposes: Mapping[str, str],
    agency_name: Callable[[str], str] = str,
    counted: Iterable[tuple[AuditEntry, int]] = (),
) -> dict[str, Any]:
    """The usage of ``agency``'s data in ``month`` from ``entries`` (the audit log's,
    any order) and ``counted`` (alike entries with how many there were,
    ``AuditLog.grouped``): ``people`` gives each username's (roles, agency); ``purposes``
    each question's purpose (:func:`question_purposes`)."""
    start, end = month_bounds(month)
    rows: Counter[tuple[str, str, str, str, str]] = Counter()
    typed: Counter[str] = Counter()
    weighted = itertools.chain(((e, 1) for e in entries), counted)
    for e, times in weighted:
        if agency not in e.agencies or not start <= e.at < end:
            continue
        found = _classify(e, purposes)
        if found is None:
            continue
        kind, what, purpose = found
        if e.actor.startswith("cli"):
            role, where = "command line", "(the server)"
        else:
            roles, home = people.get(e.actor, ("unknown", ""))
            role, where = roles, agency_name(home) if home else "unknown"
        label = purpose_label(purpose) if purpose else "Not declared"
        rows[(kind, what, label, role, where)] += times
        if e.action == "reidentify" and e.purpose:
            typed[e.purpose] += times
    table = [
        {"kind": k, "what": w, "purpose": p, "role": r, "agency": a, "uses": n}
        for (k, w, p, r, a), n in sorted(rows.items())
    ]
    totals = Counter[str]()
    for (kind, *_), n in rows.items():
        totals[kind] += n
    return {
        "agency": agency,
        "agency_name": agency_name(agency),
        "month": month,
        "from": start.date().isoformat(),
        "to": (end - dt.timedelta(days=1)).date().isoformat(),
        "rows": table,
        # every number is a count of audit entries (uses of the data), never of people
        "uses": {"total": sum(totals.values()), "by_kind": dict(sorted(totals.items()))},
        "reidentification_purposes": [
            {"purpose": p, "uses": n} for p, n in sorted(typed.items(), key=lambda x: -x[1])
        ],
    }
