"""``/usage`` and ``/usage.json``: where an agency's data is used (issue 19).

For the agency's data owner (its data lead; administrators may choose any agency): which
questions, pages, exports and re-identifications used its data in a month, by role and
agency, for which purpose, counted from the audit log. Reading it is itself audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.access import Permission, User
from joinedup.access.errors import Forbidden
from joinedup.access.usage import read_usage
from joinedup.views.usage import UsageError
from joinedup.web.deps import Require, SettingsDep, StateDep
from joinedup.web.errors import error_response
from joinedup.web.templating import templates

router = APIRouter()

UsageReader = Annotated[User, Depends(Require(Permission.AUDIT_ALL, Permission.AUDIT_OWN_AGENCY))]


@router.get("/usage", response_class=HTMLResponse, name="usage")
@router.get("/usage.json", response_class=JSONResponse, name="usage_json")
def usage_page(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    user: UsageReader,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    """The usage of an agency's data in a month (default: this month; a data lead's own
    agency)."""
    chosen = month or dt.date.today().strftime("%Y-%m")
    try:
        data = read_usage(
            state,
            settings.partnership_dir,
            agency=agency or user.agency,
            month=chosen,
            user=user,
        )
    except Forbidden as exc:
        return error_response(request, 403, str(exc))
    except UsageError as exc:
        return error_response(request, 422, str(exc))
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "usage.html", {"data": data})
