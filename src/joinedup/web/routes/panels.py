"""Multi-agency exploitation panels (issue 18): panels, meetings, the suggested agenda,
the meeting pack (page, JSON, PDF, i2 CSV), decisions and actions.

Every route needs the ``panels`` permission and membership of the panel concerned
(``joinedup.access.panel_access``); anyone else gets 403. Every view or download of a
pack is audited first, with the meeting as purpose. Responses are ``no-store``.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import Permission, User
from joinedup.access.panel_access import (
    audit_pack,
    audit_panel_change,
    member_panel,
    panel_store,
    user_action,
    user_item,
    user_meeting,
    user_panels,
)
from joinedup.errors import JoinedupError
from joinedup.present.i2 import links_csv, network_links
from joinedup.views.panel_pack import MARKING, action_dict, meeting_pack, panel_page
from joinedup.views.panels import agency_names, agenda_links, suggested_agenda
from joinedup.web.deps import CsrfChecked, Require, SettingsDep, StateDep
from joinedup.web.templating import templates

router = APIRouter()

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PanelUser = Annotated[User, Depends(Require(Permission.PANELS))]
PanelId = Annotated[int, PathParam(ge=1, le=2**31, description="Panel id")]
MeetingId = Annotated[int, PathParam(ge=1, le=2**31, description="Meeting id")]
ItemId = Annotated[int, PathParam(ge=1, le=2**31, description="Agenda item id")]
ActionId = Annotated[int, PathParam(ge=1, le=2**31, description="Action id")]


def _today() -> dt.date:
    return dt.date.today()


def _respond(
    request: Request, template: str, data: dict[str, Any], status: int = 200, **extra: Any
) -> Response:
    if request.url.path.endswith(".json"):
        return JSONResponse(data, headers=NO_STORE, status_code=status)
    response = templates.TemplateResponse(
        request, template, {"data": data, **extra}, status_code=status
    )
    response.headers.update(NO_STORE)
    return response


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303, headers=NO_STORE)


@router.get("/panels", response_class=HTMLResponse, name="panels")
@router.get("/panels.json", response_class=JSONResponse, name="panels_json")
def panels(request: Request, state: StateDep, settings: SettingsDep, user: PanelUser) -> Response:
    """The panels you sit on, with each one's overdue actions if you chair it."""
    today = _today()
    store = panel_store(state)
    rows = [
        panel_page(
            settings.partnership_dir, store=store, panel=p, viewer=user.username, today=today
        )
        for p in user_panels(state, user)
    ]
    return _respond(
        request, "panels.html", {"tier": "operational", "marking": MARKING, "panels": rows}
    )


@router.get("/panels/{panel_id}", response_class=HTMLResponse, name="panel")
@router.get("/panels/{panel_id}.json", response_class=JSONResponse, name="panel_json")
def panel(
    request: Request, panel_id: PanelId, state: StateDep, settings: SettingsDep, user: PanelUser
) -> Response:
    """One panel: members, meetings, open actions (overdue ones shown to the chair)."""
    found = member_panel(state, user, panel_id)
    data = panel_page(
        settings.partnership_dir,
        store=panel_store(state),
        panel=found,
        viewer=user.username,
        today=_today(),
    )
    return _respond(request, "panel.html", data, error=None)


@router.post("/panels/{panel_id}/meetings", response_class=HTMLResponse, name="panel_meeting_new")
def new_meeting(
    request: Request,
    panel_id: PanelId,
    state: StateDep,
    settings: SettingsDep,
    user: PanelUser,
    _: CsrfChecked,
    held_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Plan a meeting on a day; its agenda is then prepared from the suggestions."""
    found = member_panel(state, user, panel_id)
    store = panel_store(state)
    try:
        meeting = store.create_meeting(panel_id=found.id, held_on=held_on, created_by=user.username)
    except JoinedupError as exc:
        data = panel_page(
            settings.partnership_dir, store=store, panel=found, viewer=user.username, today=_today()
        )
        return _respond(request, "panel.html", data, status=400, error=str(exc))
    audit_panel_change(
        state, actor=user.username, panel=found, meeting=meeting, action="panel_meeting", detail={}
    )
    return _back(f"/meetings/{meeting.id}")


def _meeting_data(
    request: Request, state: Any, settings: Any, user: User, meeting_id: int
) -> dict[str, Any]:
    found, meeting = user_meeting(state, user, meeting_id)
    store = panel_store(state)
    data = meeting_pack(
        settings.partnership_dir,
        store=store,
        panel=found,
        meeting=meeting,
        viewer=user.username,
        viewer_agency=user.agency,
        today=_today(),
        with_release=False,
        open_release_fn=settings.open_release,
    )
    previous = store.previous_meeting(meeting)
    suggested = suggested_agenda(
        settings.partnership_dir,
        since=meeting.since,
        as_of=meeting.held_on,
        baseline_release=previous.release_id if previous is not None else None,
        open_release_fn=settings.open_release,
    )
    on_agenda = {(i["kind"], i["subject"]) for i in data["items"]}
    for entry in suggested["entries"]:
        entry["key"] = f"{entry['kind']}|{entry['subject']}"
        entry["on_agenda"] = (entry["kind"], entry["subject"]) in on_agenda
    data["suggested"] = suggested
    return data


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse, name="meeting")
@router.get("/meetings/{meeting_id}.json", response_class=JSONResponse, name="meeting_json")
def meeting(
    request: Request, meeting_id: MeetingId, state: StateDep, settings: SettingsDep, user: PanelUser
) -> Response:
    """Prepare a meeting: the suggested agenda with the facts behind each entry, and the
    agenda so far (pseudonymous ids; the pack holds the detail)."""
    data = _meeting_data(request, state, settings, user, meeting_id)
    return _respond(request, "meeting.html", data, error=None)


@router.post("/meetings/{meeting_id}/agenda", response_class=HTMLResponse, name="meeting_agenda")
async def add_to_agenda(
    request: Request,
    meeting_id: MeetingId,
    state: StateDep,
    settings: SettingsDep,
    user: PanelUser,
    _: CsrfChecked,
) -> Response:
    """Put suggested entries (``pick``, each with a ``reason-<key>``), or one entry by
    hand (``kind``, ``subject``, ``reason``), on the agenda."""
    form = await request.form()
    found, meet = user_meeting(state, user, meeting_id)
    store = panel_store(state)
    data = _meeting_data(request, state, settings, user, meeting_id)
    by_key = {e["key"]: e for e in data["suggested"]["entries"]}
    try:
        added = 0
        for key in form.getlist("pick"):
            entry = by_key.get(str(key))
            if entry is None or entry["on_agenda"]:
                continue
            reason = str(form.get(f"reason-{key}") or "").strip() or "; ".join(
                r["label"] for r in entry["rules"]
            )
            store.add_item(
                meeting_id=meet.id,
                kind=entry["kind"],
                subject=entry["subject"],
                label=entry["label"],
                reason=reason,
                added_by=user.username,
                rules=[r["rule"] for r in entry["rules"]],
                facts=[{k: v for k, v in f.items() if k != "text"} for f in entry["facts"]],
            )
            added += 1
        subject = str(form.get("subject") or "").strip()
        if subject:
            kind = str(form.get("kind") or "child")
            store.add_item(
                meeting_id=meet.id,
                kind=kind,
                subject=subject,
                label=subject,
                reason=str(form.get("reason") or ""),
                added_by=user.username,
            )
            added += 1
        if not added:
            raise JoinedupError("Choose at least one entry, or give a subject and a reason.")
        store.set_release(meeting_id=meet.id, release_id=data["suggested"]["release_id"])
    except JoinedupError as exc:
        data = _meeting_data(request, state, settings, user, meeting_id)
        return _respond(request, "meeting.html", data, status=400, error=str(exc))
    audit_panel_change(
        state,
        actor=user.username,
        panel=found,
        meeting=meet,
        action="panel_agenda",
        detail={"added": added},
    )
    return _back(f"/meetings/{meet.id}")


def _pack(state: Any, settings: Any, user: User, meeting_id: int, form: str) -> dict[str, Any]:
    found, meet = user_meeting(state, user, meeting_id)
    store = panel_store(state)
    # audited before anything is read from the release
    items = store.items(meet.id)
    audit_pack(
        state,
        user=user,
        panel=found,
        meeting=meet,
        form=form,
        persons=[i.subject for i in items if i.kind in ("child", "person_of_concern")],
        release_id=meet.release_id,
    )
    return meeting_pack(
        settings.partnership_dir,
        store=store,
        panel=found,
        meeting=meet,
        viewer=user.username,
        viewer_agency=user.agency,
        today=_today(),
        open_release_fn=settings.open_release,
    )


@router.get("/meetings/{meeting_id}/pack", response_class=HTMLResponse, name="meeting_pack")
@router.get(
    "/meetings/{meeting_id}/pack.json", response_class=JSONResponse, name="meeting_pack_json"
)
def pack(
    request: Request, meeting_id: MeetingId, state: StateDep, settings: SettingsDep, user: PanelUser
) -> Response:
    """The meeting pack: per item the timeline, networks, places, scrubbed notes, your
    agency's own references, and this and earlier meetings' decisions and actions.
    Every view is audited with the meeting as purpose."""
    form = "json" if request.url.path.endswith(".json") else "page"
    data = _pack(state, settings, user, meeting_id, form)
    return _respond(request, "meeting_pack.html", data, error=None)


@functools.lru_cache(maxsize=8)
def _pack_pdf(html: str, footer: str) -> bytes:
    """A pack's PDF, printed once a process for each text (printing takes a second or
    more): the same text, for the same viewer on the same day, gives the same PDF. Every
    download is audited by ``_pack`` before this is reached."""
    from joinedup.present.pdf import html_to_pdf_bytes

    return html_to_pdf_bytes(html, footer=footer)


@router.get("/meetings/{meeting_id}/pack.pdf", name="meeting_pack_pdf")
def pack_pdf(
    request: Request, meeting_id: MeetingId, state: StateDep, settings: SettingsDep, user: PanelUser
) -> Response:
    """The pack as an accessible (tagged) PDF marked OFFICIAL-SENSITIVE; audited."""
    data = _pack(state, settings, user, meeting_id, "pdf")
    html = templates.get_template("print/meeting_pack.html").render(data=data)
    footer = (
        '<div style="font-size:8px;width:100%;text-align:center;color:#000">'
        f'{MARKING} · Page <span class="pageNumber"></span> of '
        '<span class="totalPages"></span></div>'
    )
    body = _pack_pdf(html, footer)
    name = f"meeting-{data['meeting']['id']}-pack.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/meetings/{meeting_id}/i2.csv", name="meeting_i2")
def pack_i2(
    request: Request, meeting_id: MeetingId, state: StateDep, settings: SettingsDep, user: PanelUser
) -> Response:
    """The agenda and its network as an i2 Analyst's Notebook entity/link CSV; audited."""
    data = _pack(state, settings, user, meeting_id, "i2")
    label = f"{data['panel']['name']} {data['meeting']['held_on']}"
    nodes, edges = agenda_links(label, data["items"])
    body = links_csv(network_links(nodes, edges))
    name = f"meeting-{data['meeting']['id']}-i2.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/decision",
    response_class=HTMLResponse,
    name="item_decision",
)
def decide(
    request: Request,
    meeting_id: MeetingId,
    item_id: ItemId,
    state: StateDep,
    settings: SettingsDep,
    user: PanelUser,
    _: CsrfChecked,
    stage: Annotated[str, Form(max_length=24)] = "",
    concern_level: Annotated[str, Form(max_length=64)] = "",
    disruption: Annotated[str, Form(max_length=4000)] = "",
    summary: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record the panel's decision on an item (MSET stage, level of concern in the
    panel's words, disruption activity, summary)."""
    found, meet, item = user_item(state, user, meeting_id, item_id)
    try:
        d = panel_store(state).record_decision(
            item_id=item.id,
            stage=stage,
            concern_level=concern_level,
            disruption=disruption,
            summary=summary,
            decided_by=user.username,
        )
    except JoinedupError as exc:
        return _pack_error(request, state, settings, user, meeting_id, str(exc))
    audit_panel_change(
        state,
        actor=user.username,
        panel=found,
        meeting=meet,
        action="panel_decision",
        detail={"item_id": item.id, "decision_id": d.id, "stage": d.stage},
    )
    return _back(f"/meetings/{meet.id}/pack#item-{item.id}")


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/actions",
    response_class=HTMLResponse,
    name="item_action",
)
def add_action(
    request: Request,
    meeting_id: MeetingId,
    item_id: ItemId,
    state: StateDep,
    settings: SettingsDep,
    user: PanelUser,
    _: CsrfChecked,
    description: Annotated[str, Form(max_length=4000)] = "",
    owner_agency: Annotated[str, Form(max_length=64)] = "",
    due_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Agree an action on an item: what, which agency owns it, when it is due."""
    found, meet, item = user_item(state, user, meeting_id, item_id)
    known = agency_names(settings.partnership_dir)
    try:
        if owner_agency not in known:
            raise JoinedupError("Choose the agency that owns the action from the list.")
        a = panel_store(state).add_action(
            item_id=item.id,
            description=description,
            owner_agency=owner_agency,
            due_on=due_on,
            created_by=user.username,
        )
    except JoinedupError as exc:
        return _pack_error(request, state, settings, user, meeting_id, str(exc))
    audit_panel_change(
        state,
        actor=user.username,
        panel=found,
        meeting=meet,
        action="panel_action",
        detail={"item_id": item.id, "action_id": a.id, "owner_agency": a.owner_agency},
    )
    return _back(f"/meetings/{meet.id}/pack#item-{item.id}")


def _pack_error(
    request: Request, state: Any, settings: Any, user: User, meeting_id: int, error: str
) -> Response:
    data = _pack(state, settings, user, meeting_id, "page")
    return _respond(request, "meeting_pack.html", data, status=400, error=error)


@router.get("/actions/{action_id}", response_class=HTMLResponse, name="panel_action")
@router.get("/actions/{action_id}.json", response_class=JSONResponse, name="panel_action_json")
def action(
    request: Request, action_id: ActionId, state: StateDep, settings: SettingsDep, user: PanelUser
) -> Response:
    """One action: what, owner, due date, status, and the meeting and item it is from."""
    found, meet, item, act = user_action(state, user, action_id)
    agencies = agency_names(settings.partnership_dir)
    data = {
        "tier": "operational",
        "marking": MARKING,
        "panel": {"id": found.id, "name": found.name},
        "meeting": {"id": meet.id, "held_on": meet.held_on.isoformat()},
        "item": {"id": item.id, "label": item.label, "kind": item.kind},
        "action": action_dict(act, _today(), agencies),
    }
    return _respond(request, "panel_action.html", data)


@router.post("/actions/{action_id}/status", response_class=HTMLResponse, name="action_status")
def action_status(
    request: Request,
    action_id: ActionId,
    state: StateDep,
    user: PanelUser,
    _: CsrfChecked,
    status: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Mark an action done, cancelled or open again."""
    found, meet, item, act = user_action(state, user, action_id)
    try:
        panel_store(state).set_action_status(
            action_id=act.id, status=status, updated_by=user.username
        )
    except JoinedupError:
        return _back(f"/actions/{act.id}")
    audit_panel_change(
        state,
        actor=user.username,
        panel=found,
        meeting=meet,
        action="panel_action_status",
        detail={"action_id": act.id, "status": status},
    )
    return _back(f"/actions/{act.id}")
