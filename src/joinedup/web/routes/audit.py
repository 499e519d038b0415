"""``/audit`` and ``/audit.json``: the audit log for administrators (all of it) and for
each agency's data lead (who did what with their agency's data). Reading it is logged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.access import Permission, User, visible_audit
from joinedup.state import State
from joinedup.web.deps import Require, StateDep
from joinedup.web.errors import error_response
from joinedup.web.templating import templates

router = APIRouter()

PAGE = 100
#: The largest ``offset`` (a page of the audit log further back than any log will reach).
MAX_OFFSET = 1_000_000_000
BAD_OFFSET = (
    f"The offset must be a whole number from 0 to {MAX_OFFSET:,}: how many of the newest "
    "entries to skip. Use the links on the page, or leave it out to start at the newest."
)


AuditReader = Annotated[User, Depends(Require(Permission.AUDIT_ALL, Permission.AUDIT_OWN_AGENCY))]


@router.get("/audit", response_class=HTMLResponse, name="audit")
@router.get("/audit.json", response_class=JSONResponse, name="audit_json")
def audit_page(
    request: Request,
    state: StateDep,
    user: AuditReader,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[str, Query(description="How many of the newest entries to skip")] = "0",
    verify: Annotated[bool, Query()] = False,
) -> Response:
    skip = _offset(offset)
    if skip is None:
        return error_response(request, 422, BAD_OFFSET)
    return _page(request, state, user, agency, skip, verify)


def _offset(text: str) -> int | None:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > MAX_OFFSET:
        return None
    return int(text)


def _page(
    request: Request, state: State, user: User, agency: str | None, offset: int, verify: bool
) -> Response:
    entries = visible_audit(state, user, agency=agency, limit=PAGE + 1, offset=offset)
    everything = user.can(Permission.AUDIT_ALL)
    state.audit.append(
        actor=user.username,
        action="view_audit",
        detail={"scope": "all" if everything else "agency", "offset": offset},
        agencies=[] if everything else [user.agency],
    )
    data: dict[str, Any] = {
        "scope": "all" if everything else "agency",
        "agency": agency if everything else user.agency,
        "offset": offset,
        "next_offset": offset + PAGE if len(entries) > PAGE else None,
        "entries": [
            {
                "seq": e.seq,
                "at": e.at.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "purpose": e.purpose,
                "agencies": list(e.agencies),
                "detail": e.detail,
            }
            for e in entries[:PAGE]
        ],
        "verify": None,
    }
    if verify and everything:
        result = state.audit.verify()
        data["verify"] = {
            "ok": result.ok,
            "entries": result.entries,
            "head_hash": result.head_hash,
            "problems": [str(p) for p in result.problems],
        }
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "audit.html", {"data": data})
