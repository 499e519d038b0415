"""What to look for, the glossary and the community briefing (issue 20), for everyone
signed in, the community tier included.

- ``/what-to-look-for``: signs and indicators of each kind of exploitation, for children
  and adults, and the partnership's pathway ("what to do if you are worried");
- ``/what-to-look-for/{id}``: one kind as a one-page briefing, printable, and as a
  tagged PDF at ``/what-to-look-for/{id}.pdf``;
- ``/glossary``: the terms every page uses, defined once; figures link here;
- ``/community``: the community briefing (places by ward and themes at the community
  tier's threshold, what to look for, the pathway).

None of these pages holds personal data; the briefing's figures pass the community
tier's disclosure control exactly as on their own pages.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.present.briefing import briefing_html
from joinedup.present.pdf import PdfError, html_to_pdf_bytes
from joinedup.views import partnership_config
from joinedup.views.guidance import (
    community_briefing,
    glossary_page,
    look_for_page,
    look_for_section,
)
from joinedup.web.deps import CurrentUser, SettingsDep
from joinedup.web.errors import error_response
from joinedup.web.templating import templates

router = APIRouter()

SectionId = Annotated[str, PathParam(max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


def _respond(request: Request, template: str, data: dict[str, Any]) -> Response:
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, template, {"data": data})


@router.get("/what-to-look-for", response_class=HTMLResponse, name="look_for")
@router.get("/what-to-look-for.json", response_class=JSONResponse, name="look_for_json")
def look_for(request: Request, settings: SettingsDep, user: CurrentUser) -> Response:
    """Signs and indicators of each kind of exploitation, and the partnership's pathway."""
    return _respond(
        request, "look_for.html", look_for_page(partnership_config(settings.partnership_dir))
    )


def _section_or_404(request: Request, settings: SettingsDep, section_id: str) -> Any:
    data = look_for_section(partnership_config(settings.partnership_dir), section_id)
    if data is None:
        return error_response(
            request,
            404,
            "There is no briefing with this name. Choose one from the list on the "
            "What to look for page.",
            title="Briefing not found",
        )
    return data


@functools.lru_cache(maxsize=32)
def _briefing_pdf(html: str) -> bytes:
    """A briefing's PDF, made once a process for each text: it depends on the
    partnership's configuration only, and printing it takes a second or more."""
    return html_to_pdf_bytes(html, footer="<span></span>")


@router.get("/what-to-look-for/{section_id}.pdf", name="look_for_pdf")
def look_for_pdf(
    request: Request, section_id: SectionId, settings: SettingsDep, user: CurrentUser
) -> Response:
    """One kind of exploitation's briefing as a tagged, accessible A4 PDF."""
    data = _section_or_404(request, settings, section_id)
    if isinstance(data, Response):
        return data
    html = briefing_html(data)
    try:
        pdf = _briefing_pdf(html)
    except PdfError as exc:
        return error_response(request, 503, str(exc), title="The PDF could not be made")
    name = f"what-to-look-for-{section_id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/what-to-look-for/{section_id}", response_class=HTMLResponse, name="look_for_one")
@router.get(
    "/what-to-look-for/{section_id}.json", response_class=JSONResponse, name="look_for_one_json"
)
def look_for_one(
    request: Request, section_id: SectionId, settings: SettingsDep, user: CurrentUser
) -> Response:
    """One kind of exploitation as a one-page briefing with the pathway."""
    data = _section_or_404(request, settings, section_id)
    if isinstance(data, Response):
        return data
    return _respond(request, "look_for_section.html", data)


@router.get("/glossary", response_class=HTMLResponse, name="glossary")
@router.get("/glossary.json", response_class=JSONResponse, name="glossary_json")
def glossary(request: Request, settings: SettingsDep, user: CurrentUser) -> Response:
    """The terms pages and questions use, defined once."""
    return _respond(
        request, "glossary.html", glossary_page(partnership_config(settings.partnership_dir))
    )


@router.get("/community", response_class=HTMLResponse, name="community")
@router.get("/community.json", response_class=JSONResponse, name="community_json")
def community(request: Request, settings: SettingsDep, user: CurrentUser) -> Response:
    """The community briefing: figures at the community tier, what to look for, the
    pathway. The same for every role: it is what may be shared with universal services."""
    data = community_briefing(settings.partnership_dir, open_release=settings.open_release)
    return _respond(request, "community.html", data)
