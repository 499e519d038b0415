"""``/report``: the board's local profile report as a tagged PDF, for the roles that may
have it (issue 16, item 8), and ``/report.json``, its twin.

The page offers one download a board; ``/report.pdf?board=children`` makes the PDF from
the current release at the strategic tier, exactly as ``joinedup report DIR --format
pdf`` does (the report is built in ``present/``: :mod:`joinedup.present.profile`, printed
by :mod:`joinedup.present.pdf`). Each download is written to the audit log (action
``export``, target ``report``). Board members, data leads and analysts may download it:
the board report's audience and the people who prepare it; it is a strategic document.

A PDF takes Chromium a few seconds, so each one is kept beside the partnership in
``DIR/reports/web/`` under the release id, the board and a hash of the narrative files:
the next download of the same release is served from there, and a new release or an
edited narrative makes a new one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.access import Forbidden, Permission, Role, User
from joinedup.present.narrative import NARRATIVE_DIR
from joinedup.present.pdf import PdfError, html_to_pdf_bytes
from joinedup.present.profile import BOARDS, gather_report
from joinedup.present.profile_html import render_html
from joinedup.views import Tier
from joinedup.web.deps import CurrentUser, Require, SettingsDep, StateDep, TierDep
from joinedup.web.errors import error_response
from joinedup.web.templating import templates

__all__ = ["REPORT_ROLES", "router"]

router = APIRouter()

#: Who may download the board report: its audience and the people who prepare it.
REPORT_ROLES = frozenset({Role.BOARD_MEMBER, Role.DATA_LEAD, Role.ANALYST})
#: Where downloaded PDFs are kept, under the partnership folder.
CACHE_DIR = Path("reports") / "web"


class _ReportReader(Require):
    """``Require(BOARD_REPORT)`` whose refusal says who the report is for."""

    def __call__(self, user: CurrentUser) -> User:
        if not self.allows(user):
            raise Forbidden(
                "The board report is for board members, data leads and analysts. Ask your "
                "partnership's joinedup administrator if you need it."
            )
        return user


report_reader = _ReportReader(Permission.BOARD_REPORT)
ReportReader = Annotated[User, Depends(report_reader)]


def _strategic_only(tier: Tier) -> None:
    """The board report is at the strategic tier: a visitor viewing another tier of theirs
    (``?tier=``) is told so rather than handed strategic figures."""
    if tier is not Tier.STRATEGIC:
        raise Forbidden(
            "The board report is written at the strategic tier. Open it at that tier "
            "(?tier=strategic), or use the community briefing for the community tier."
        )


def _narrative_hash(partnership_dir: Path) -> str:
    """A short hash of the narrative files (names and contents): a new PDF when one changes."""
    digest = hashlib.sha256()
    folder = partnership_dir / NARRATIVE_DIR
    if folder.is_dir():
        for path in sorted(folder.glob("*.md")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _file_name(board: str, release_id: str) -> str:
    return f"{board}-strategic-{release_id}.pdf"


@router.get("/report", response_class=HTMLResponse, name="report")
@router.get("/report.json", response_class=JSONResponse, name="report_json")
def report_page(
    request: Request, settings: SettingsDep, user: ReportReader, tier: TierDep
) -> Response:
    """The boards' reports that can be downloaded, one button each."""
    _strategic_only(tier)
    data: dict[str, Any] = {
        "tier": Tier.STRATEGIC.value,
        "format": "pdf",
        "reports": [
            {"board": board, "name": name, "href": f"/report.pdf?board={board}"}
            for board, name in BOARDS.items()
        ],
    }
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "report.html", {"data": data})


@router.get("/report.pdf", name="report_pdf")
def report_pdf(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    user: ReportReader,
    tier: TierDep,
    board: Annotated[str, Query(description="children, adults or community-safety")] = "children",
) -> Response:
    """The board's local profile report as a tagged PDF (strategic tier); audited."""
    _strategic_only(tier)
    if board not in BOARDS:
        names = ", ".join(f"{b} ({n})" for b, n in BOARDS.items())
        return error_response(
            request, 404, f"There is no report for that board. The reports are: {names}."
        )
    root = Path(settings.partnership_dir)
    report = gather_report(
        root, board=board, tier=Tier.STRATEGIC, open_release=settings.open_release
    )
    release_id = str(report.release.get("release_id") or "release")
    cached = root / CACHE_DIR / f"{board}-{release_id}-{_narrative_hash(root)}.pdf"
    if cached.is_file():
        data = cached.read_bytes()
    else:
        try:
            data = html_to_pdf_bytes(render_html(report))
        except PdfError as exc:
            return error_response(request, 503, f"The report could not be printed. {exc}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, cached)  # whole or not at all, if two downloads race
    state.audit.append(
        actor=user.username,
        action="export",
        target="report",
        detail={
            "page": "report",
            "board": board,
            "format": "pdf",
            "tier": report.tier,
            "release_id": release_id,
        },
    )
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_file_name(board, release_id)}"'},
    )
