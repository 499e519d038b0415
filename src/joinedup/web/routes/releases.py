"""Sources and releases: upload an extract, build with live progress, compare (issue 7).

Every route needs ``manage_releases`` (data leads and administrators). A data lead may
upload only the extracts of their own agency's sources; an administrator any. Builds run
in the background (``joinedup.web.builds``); their page shows progress live where the
browser runs JavaScript (a small script reads the page's JSON twin every two seconds) and
has a "check progress again" link where it does not. No ``<meta http-equiv="refresh">``:
a page that reloads itself on a timer fails WCAG 2.2.1 (timing adjustable).
"""

from __future__ import annotations

import re
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import Permission, Role, User
from joinedup.config import PartnershipConfig, load_config
from joinedup.disclosure import compare_releases, release_listing
from joinedup.disclosure.releases import default_pair
from joinedup.errors import BuildError
from joinedup.release import list_releases
from joinedup.web.builds import BuildRunner, BuildStatus
from joinedup.web.deps import CsrfChecked, Require, SettingsDep, StateDep, TierDep
from joinedup.web.errors import error_response, wants_json
from joinedup.web.templating import templates
from joinedup.web.uploads import (
    DEFAULT_MAX_BYTES,
    SourceFile,
    UploadError,
    UploadResult,
    human_size,
    save_extract,
    source_files,
)

router = APIRouter()

Manager = Annotated[User, Depends(Require(Permission.MANAGE_RELEASES))]
_RUNNER_LOCK = threading.Lock()
_BUILD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Seconds between progress checks by a running build's page (with JavaScript).
REFRESH_SECONDS = 2


def get_runner(request: Request) -> BuildRunner:
    """The app's build runner (made on first use, one per app)."""
    with _RUNNER_LOCK:
        runner = getattr(request.app.state, "builds", None)
        if not isinstance(runner, BuildRunner):
            runner = BuildRunner(request.app.state.settings.partnership_dir)
            request.app.state.builds = runner
        return runner


RunnerDep = Annotated[BuildRunner, Depends(get_runner)]


def _max_bytes(request: Request) -> int:
    value = getattr(request.app.state, "upload_max_bytes", None)
    return int(value) if isinstance(value, int) else DEFAULT_MAX_BYTES


def _config(settings: SettingsDep) -> PartnershipConfig:
    return load_config(settings.partnership_dir, check_files=False)


def may_upload(user: User, sf: SourceFile) -> bool:
    """Administrators may upload any extract; a data lead those of their own agency's
    sources (every source reading the file must be theirs)."""
    if Role.ADMIN in user.roles:
        return True
    return sf.source.agency == user.agency and all(a == user.agency for a in sf.shared_agencies)


def _source_rows(
    sfs: list[SourceFile], user: User, listing: dict[str, Any]
) -> list[dict[str, Any]]:
    current = next((r for r in listing["releases"] if r["current"]), None)
    in_current = {s["source"]: s for s in (current or {}).get("sources", [])}
    rows = []
    for sf in sfs:
        row = sf.as_dict()
        rel = in_current.get(sf.source.id)
        row["rows_read"] = None if rel is None else rel["rows_read"]
        row["may_upload"] = may_upload(user, sf)
        rows.append(row)
    return rows


def _releases_data(
    settings: SettingsDep, tier: Any, user: User, runner: BuildRunner
) -> dict[str, Any]:
    cfg = _config(settings)
    listing = release_listing(settings.partnership_dir, tier, config=cfg)
    sfs = source_files(settings.partnership_dir, cfg)
    previous, current = default_pair(settings.partnership_dir)
    return {
        **listing,
        "partnership": cfg.partnership.name,
        "sources": _source_rows(sfs, user, listing),
        "compare": {"a": previous, "b": current},
        "running": runner.running(),
        "builds": [
            {k: b[k] for k in ("build_id", "state", "started_by", "started_at", "release_id")}
            for b in runner.recent()
        ],
        "upload_max": human_size(DEFAULT_MAX_BYTES),
    }


@router.get("/releases", response_class=HTMLResponse, name="releases")
@router.get("/releases.json", response_class=JSONResponse, name="releases_json")
def releases_page(
    request: Request, settings: SettingsDep, tier: TierDep, user: Manager, runner: RunnerDep
) -> Response:
    """The partnership's releases (newest first), its configured sources with the file
    each reads now, and the builds started from this app."""
    data = _releases_data(settings, tier, user, runner)
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "releases.html", {"data": data, "error": None})


# --- upload -------------------------------------------------------------------------


def _source_file(settings: SettingsDep, source_id: str) -> tuple[PartnershipConfig, SourceFile]:
    cfg = _config(settings)
    sfs = source_files(settings.partnership_dir, cfg)
    found = next((sf for sf in sfs if sf.source.id == source_id), None)
    if found is None:
        raise _NoSource(source_id, [sf.source.id for sf in sfs])
    return cfg, found


class _NoSource(Exception):
    def __init__(self, source_id: str, known: list[str]) -> None:
        super().__init__(source_id)
        self.detail = (
            f"There is no source '{source_id}' in partnership.yaml. The sources are: "
            + ", ".join(known)
            + "."
        )


def _refuse_other_agency(request: Request, sf: SourceFile) -> Response:
    return error_response(
        request,
        403,
        f"The extract of '{sf.source.id}' belongs to {sf.source.agency}: only that agency's "
        "data lead or an administrator may replace it.",
    )


def _upload_context(sf: SourceFile, max_bytes: int) -> dict[str, Any]:
    return {
        "source": sf.as_dict(),
        "extracted_at": (
            None if sf.source.extracted_at is None else sf.source.extracted_at.isoformat()
        ),
        "max_size": human_size(max_bytes),
    }


@router.get("/releases/sources/{source_id}/upload", response_class=HTMLResponse, name="upload_form")
def upload_form(request: Request, source_id: str, settings: SettingsDep, user: Manager) -> Response:
    """The form to upload a new extract for one configured source."""
    try:
        _, sf = _source_file(settings, source_id)
    except _NoSource as exc:
        return error_response(request, 404, exc.detail)
    if not may_upload(user, sf):
        return _refuse_other_agency(request, sf)
    context = {"data": _upload_context(sf, _max_bytes(request)), "result": None, "error": None}
    return templates.TemplateResponse(request, "upload.html", context)


@router.post(
    "/releases/sources/{source_id}/upload", response_class=HTMLResponse, name="upload_extract"
)
def upload_extract(
    request: Request,
    source_id: str,
    settings: SettingsDep,
    state: StateDep,
    user: Manager,
    _: CsrfChecked,
    extract: Annotated[UploadFile | None, File(description="The extract file")] = None,
    accept_quarantine: Annotated[bool, Form()] = False,
) -> Response:
    """Check an uploaded extract and, when nothing in it would stop a build, make it the
    source's file (the previous one is kept as ``<name>.previous``)."""
    try:
        cfg, sf = _source_file(settings, source_id)
    except _NoSource as exc:
        return error_response(request, 404, exc.detail)
    if not may_upload(user, sf):
        return _refuse_other_agency(request, sf)
    max_bytes = _max_bytes(request)
    context: dict[str, Any] = {"data": _upload_context(sf, max_bytes), "result": None}
    error: str | None = None
    result: UploadResult | None = None
    status = 200
    length = request.headers.get("content-length", "")
    if extract is None or not extract.filename:
        error, status = "Choose the extract file to upload.", 422
    elif length.isdigit() and int(length) > max_bytes + 1024 * 1024:
        error, status = (
            f"The file is larger than the {human_size(max_bytes)} the web app accepts. "
            "Split the extract by date, or ask the partnership's administrator to put it "
            "in the partnership folder and run `joinedup build`.",
            413,
        )
    else:
        try:
            result = save_extract(
                settings.partnership_dir,
                cfg,
                sf.source.id,
                extract.file,
                file_name=extract.filename,
                accept_quarantine=accept_quarantine,
                max_bytes=max_bytes,
            )
        except UploadError as exc:
            error, status = str(exc), 413 if "larger than" in str(exc) else 422
        except BuildError as exc:
            error, status = f"{exc} The extract was not replaced; upload it again then.", 409
        if result is not None and not result.saved:
            status = 422
    agencies = sorted({sf.source.agency, *sf.shared_agencies})
    state.audit.append(
        actor=user.username,
        action="upload_extract",
        target=sf.source.id,
        detail={
            "source": sf.source.id,
            "outcome": "saved" if result is not None and result.saved else "refused",
            "size": 0 if result is None else result.size,
            "sha256": "" if result is None else result.sha256,
            "problems": 0 if result is None else len(result.problems),
            "rows_quarantined": 0 if result is None else result.quarantined,
        },
        agencies=agencies,
    )
    if result is not None and result.saved:
        sf = _source_file(settings, source_id)[1]  # the new file's size and time
        context["data"] = _upload_context(sf, max_bytes)
    context["result"] = None if result is None else result.as_dict()
    context["error"] = error
    if wants_json(request):
        body = {**context["data"], "result": context["result"], "error": error}
        return JSONResponse(body, status_code=status)
    return templates.TemplateResponse(request, "upload.html", context, status_code=status)


# --- build --------------------------------------------------------------------------


def _recorder(request: Request, user: User) -> Any:
    partnership_dir = request.app.state.settings.partnership_dir
    gov = request.app.state.governance

    def record(status: BuildStatus, result: Any) -> None:
        detail: dict[str, Any] = {"build_id": status.build_id, "outcome": status.state}
        if result is not None:
            detail.update(
                sources=int(result.sources),
                records=int(result.records),
                persons=int(result.persons),
                quarantined=int(result.quarantined),
            )
        gov.state.audit.append(
            actor=user.username,
            action="build_release",
            target=status.release_id or str(partnership_dir.name),
            detail=detail,
        )

    return record


@router.post("/releases/build", response_class=HTMLResponse, name="start_build")
def start_build(
    request: Request,
    settings: SettingsDep,
    tier: TierDep,
    user: Manager,
    runner: RunnerDep,
    _: CsrfChecked,
) -> Response:
    """Start building a new release in the background; go to its progress page. Refused
    (409) while another build of the partnership runs."""
    try:
        build_id = runner.start(started_by=user.username, on_finish=_recorder(request, user))
    except BuildError as exc:
        if wants_json(request):
            return error_response(request, 409, str(exc), title="A build is running")
        data = _releases_data(settings, tier, user, runner)
        return templates.TemplateResponse(
            request, "releases.html", {"data": data, "error": str(exc)}, status_code=409
        )
    url = request.url_for("build_status", build_id=build_id)
    if wants_json(request):
        return JSONResponse(
            {"build_id": build_id, "status": str(url) + ".json"},
            status_code=202,
            headers={"Location": str(url)},
        )
    return RedirectResponse(str(url), status_code=303)


@router.get("/releases/builds/{build_id}", response_class=HTMLResponse, name="build_status")
@router.get(
    "/releases/builds/{build_id}.json", response_class=JSONResponse, name="build_status_json"
)
def build_status(
    request: Request,
    build_id: str,
    user: Manager,
    runner: RunnerDep,
) -> Response:
    """One build's progress (stage, done of total) and then its result: the new release
    or the error. ``latest`` is the most recent build started from this app."""
    is_json = request.url.path.endswith(".json")
    if build_id == "latest":
        status = runner.latest()
    else:
        status = runner.get(build_id) if _BUILD_ID.match(build_id) else None
    if status is None and build_id != "latest":
        return error_response(
            request,
            404,
            "This app does not know that build. Builds are remembered until the app "
            "restarts; the releases page lists every release that builds have made.",
        )
    if is_json:
        return JSONResponse({"build": status})
    context = {"build": status, "seconds": REFRESH_SECONDS}
    response = templates.TemplateResponse(request, "build.html", context)
    return response


# --- compare ------------------------------------------------------------------------


@router.get("/releases/compare", response_class=HTMLResponse, name="compare_releases")
@router.get("/releases/compare.json", response_class=JSONResponse, name="compare_releases_json")
def compare_page(
    request: Request,
    settings: SettingsDep,
    tier: TierDep,
    user: Manager,
    a: Annotated[str | None, Query(max_length=64, description="The earlier release")] = None,
    b: Annotated[str | None, Query(max_length=64, description="The later release")] = None,
) -> Response:
    """Two releases side by side (default: the previous and the current one), with every
    count of people disclosure-controlled at the visitor's tier."""
    ids = [h.release_id for h in list_releases(settings.partnership_dir)]
    previous, current = default_pair(settings.partnership_dir)
    a = a or previous
    b = b or current
    unknown = [x for x in (a, b) if x is not None and x not in ids]
    if unknown:
        return error_response(
            request,
            404,
            f"There is no release '{unknown[0]}'. Choose releases from the releases page.",
        )
    data: dict[str, Any]
    if a is None or b is None:
        data = {"tier": tier.value, "comparison": None, "releases": list(reversed(ids))}
    else:
        cfg = _config(settings)
        data = {
            "tier": tier.value,
            "comparison": compare_releases(settings.partnership_dir, a, b, tier, config=cfg),
            "releases": list(reversed(ids)),
        }
    data["chosen"] = {"a": a, "b": b}
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "release_compare.html", {"data": data})
