"""Draft releases: preview against the current release, then publish or discard (issue 16).

- ``/releases/preview`` (+ ``.json``), ``?draft=ID`` (default: the newest draft): the
  draft beside the current release, every count protected at the visitor's tier as the
  compare page does, with the forms to publish or discard it;
- ``POST /releases/drafts/{release_id}/publish``: make the draft current (CSRF-checked;
  audited ``publish_release``); refused (409) for a draft that is out of date;
- ``POST /releases/drafts/{release_id}/discard``: remove it (audited ``discard_draft``).

Every route needs ``manage_releases`` (data leads and administrators). No other page
reads a draft: until it is published, everyone else sees the current release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import Permission, User
from joinedup.config import load_config
from joinedup.errors import BuildError, ReleaseError
from joinedup.release import current_release_id, open_release
from joinedup.release.drafts import (
    discard_draft,
    draft_info,
    list_drafts,
    open_draft,
    publish_draft,
)
from joinedup.release.store import ReleaseHandle
from joinedup.views import compare_releases
from joinedup.web.deps import CsrfChecked, Require, SettingsDep, StateDep, TierDep
from joinedup.web.errors import error_response, wants_json
from joinedup.web.templating import templates

router = APIRouter()

Manager = Annotated[User, Depends(Require(Permission.MANAGE_RELEASES))]


def _opener(draft_id: str) -> Any:
    def open_handle(partnership_dir: Path, release_id: str) -> ReleaseHandle:
        if release_id == draft_id:
            return open_draft(partnership_dir, release_id)
        return open_release(partnership_dir, release_id)

    return open_handle


@router.get("/releases/preview", response_class=HTMLResponse, name="preview_draft")
@router.get("/releases/preview.json", response_class=JSONResponse, name="preview_draft_json")
def preview_page(
    request: Request,
    settings: SettingsDep,
    tier: TierDep,
    user: Manager,
    draft: Annotated[str | None, Query(max_length=64, description="The draft's id")] = None,
) -> Response:
    """A draft beside the current release (what would change if it were published),
    protected at the visitor's tier, with the forms to publish or discard it."""
    base = settings.partnership_dir
    drafts = list_drafts(base)
    chosen = draft or (drafts[0].release_id if drafts else None)
    data: dict[str, Any] = {
        "tier": tier.value,
        "drafts": [d.as_dict() for d in drafts],
        "draft": None,
        "comparison": None,
    }
    if chosen is not None:
        try:
            info = draft_info(base, chosen)
        except ReleaseError:
            return error_response(
                request,
                404,
                "There is no such draft: it may have been published or discarded. The "
                "releases page lists the drafts waiting.",
            )
        data["draft"] = info.as_dict()
        current = current_release_id(base)
        if current is not None:
            cfg = load_config(base, check_files=False)
            data["comparison"] = compare_releases(
                base, current, chosen, tier, config=cfg, open_handle=_opener(chosen)
            )
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "release_preview.html", {"data": data})


def _refused(request: Request, status: int, message: str) -> Response:
    return error_response(request, status, message)


@router.post("/releases/drafts/{release_id}/publish", name="publish_draft")
def publish(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    user: Manager,
    _: CsrfChecked,
    release_id: str,
) -> Response:
    """Make the draft the current release (audited); back to the releases page."""
    try:
        publish_draft(
            settings.partnership_dir, release_id, actor=user.username, state=state, via="web"
        )
    except ReleaseError as exc:
        status = 404 if "no draft" in str(exc) else 409
        return _refused(request, status, str(exc))
    except BuildError as exc:  # a build holds the lock
        return _refused(request, 409, str(exc))
    if wants_json(request):
        return JSONResponse({"published": release_id, "current": release_id})
    return RedirectResponse(f"/releases?published={release_id}", status_code=303)


@router.post("/releases/drafts/{release_id}/discard", name="discard_draft")
def discard(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    user: Manager,
    _: CsrfChecked,
    release_id: str,
) -> Response:
    """Remove the draft for good (audited); back to the releases page."""
    try:
        discard_draft(
            settings.partnership_dir, release_id, actor=user.username, state=state, via="web"
        )
    except ReleaseError as exc:
        return _refused(request, 404, str(exc))
    except BuildError as exc:
        return _refused(request, 409, str(exc))
    if wants_json(request):
        return JSONResponse({"discarded": release_id})
    return RedirectResponse(f"/releases?discarded={release_id}", status_code=303)
