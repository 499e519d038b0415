"""Sources and releases: upload an extract, build with live progress, compare (issue 7).

Every route needs ``manage_releases`` (data leads and administrators). A data lead may
upload only the extracts of their own agency's sources; an administrator any. Builds run
in the background (``joinedup.web.builds``); their page shows progress live where the
browser runs JavaScript (a small script reads the page's JSON twin every two seconds) and
has a "check progress again" link where it does not. No ``<meta http-equiv="refresh">``:
a page that reloads itself on a timer fails WCAG 2.2.1 (timing adjustable).

Drafts (issue 16): the build form's first button builds a **draft** (``mode=draft``),
which a data lead previews against the current release and publishes or discards
(``joinedup.web.routes.drafts``); a post without ``mode`` publishes as it always did,
unless partnership.yaml sets ``build.drafts: true``, when every build is a draft.
"""

from __future__ import annotations

import hmac
import re
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from joinedup.access import Forbidden, Permission, Role, User, audit_accepted_drops
from joinedup.config import PartnershipConfig, load_config
from joinedup.errors import BuildError, ConfigError
from joinedup.pipeline.drops import check_accept_drop
from joinedup.release import list_releases
from joinedup.release.drafts import list_drafts
from joinedup.state import State
from joinedup.views import compare_releases, release_listing
from joinedup.views.release import partnership_config
from joinedup.views.releases import default_pair
from joinedup.web.builds import BuildRunner, BuildStatus
from joinedup.web.deps import (
    CsrfChecked,
    NotSignedIn,
    Require,
    SettingsDep,
    StateDep,
    TierDep,
    WebSettings,
    get_session,
)
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
    # partnership.yaml as read once while it is unchanged (views.release)
    return partnership_config(settings.partnership_dir) or load_config(
        settings.partnership_dir, check_files=False
    )


def may_upload(user: User, sf: SourceFile) -> bool:
    """Administrators may upload any extract; a data lead those of their own agency's
    sources (every source reading the file must be theirs)."""
    if Role.ADMIN in user.roles:
        return True
    return sf.source.agency == user.agency and all(a == user.agency for a in sf.shared_agencies)


def may_confirm(user: User, cfg: PartnershipConfig) -> list[str]:
    """The sources whose shrunken extract ``user`` may confirm for a build: an
    administrator any; a data lead their own agency's."""
    admin = Role.ADMIN in user.roles
    return [s.id for s in cfg.sources if admin or s.agency == user.agency]


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
    # no configuration object: each release's facts are remembered (views.releases)
    listing = release_listing(settings.partnership_dir, tier)
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
        "drafts": [d.as_dict() for d in list_drafts(settings.partnership_dir)],
        "drafts_only": bool(cfg.build.drafts),
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
async def upload_extract(
    request: Request,
    source_id: str,
    settings: SettingsDep,
    state: StateDep,
    user: Manager,
) -> Response:
    """Check an uploaded extract and, when nothing in it would stop a build, make it the
    source's file (the previous one is kept as ``<name>.previous``).

    The form (``extract``, ``accept_quarantine``, ``csrf_token``) is read only after the
    session and permission (the dependencies above), the source and the user's agency,
    and the declared size have been checked (issue 11): a visitor who may not upload
    cannot make the server read, or spool to disk, a byte of the file.
    """
    try:
        cfg, sf = await run_in_threadpool(_source_file, settings, source_id)
    except _NoSource as exc:
        return error_response(request, 404, exc.detail)
    if not may_upload(user, sf):
        return _refuse_other_agency(request, sf)
    max_bytes = _max_bytes(request)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + 1024 * 1024:
        return _upload_page(request, sf, max_bytes, None, _too_large(max_bytes), 413)
    form = await request.form(max_files=1, max_fields=8)
    try:
        session = get_session(request)
        token = form.get("csrf_token")
        if session is None:
            raise NotSignedIn()
        if not isinstance(token, str) or not hmac.compare_digest(session.csrf_token, token):
            raise Forbidden("This form had expired. Go back, reload the page and try again.")
        extract = form.get("extract")
        accept = str(form.get("accept_quarantine") or "").lower() in ("true", "on", "1", "yes")
        return await run_in_threadpool(
            _receive_upload,
            request,
            settings,
            state,
            user,
            cfg,
            sf,
            extract if isinstance(extract, StarletteUpload) else None,
            accept,
            max_bytes,
        )
    finally:
        await form.close()


def _too_large(max_bytes: int) -> str:
    return (
        f"The file is larger than the {human_size(max_bytes)} the web app accepts. "
        "Split the extract by date, or ask the partnership's administrator to put it "
        "in the partnership folder and run `joinedup build`."
    )


def _upload_page(
    request: Request,
    sf: SourceFile,
    max_bytes: int,
    result: UploadResult | None,
    error: str | None,
    status: int,
) -> Response:
    context: dict[str, Any] = {
        "data": _upload_context(sf, max_bytes),
        "result": None if result is None else result.as_dict(),
        "error": error,
    }
    if wants_json(request):
        body = {**context["data"], "result": context["result"], "error": error}
        return JSONResponse(body, status_code=status)
    return templates.TemplateResponse(request, "upload.html", context, status_code=status)


def _receive_upload(
    request: Request,
    settings: WebSettings,
    state: State,
    user: User,
    cfg: PartnershipConfig,
    sf: SourceFile,
    extract: StarletteUpload | None,
    accept_quarantine: bool,
    max_bytes: int,
) -> Response:
    error: str | None = None
    result: UploadResult | None = None
    status = 200
    if extract is None or not extract.filename:
        error, status = "Choose the extract file to upload.", 422
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
        sf = _source_file(settings, sf.source.id)[1]  # the new file's size and time
    return _upload_page(request, sf, max_bytes, result, error, status)


# --- build --------------------------------------------------------------------------


def _recorder(request: Request, user: User) -> Any:
    partnership_dir = request.app.state.settings.partnership_dir
    gov = request.app.state.governance

    def record(status: BuildStatus, result: Any) -> None:
        detail: dict[str, Any] = {"build_id": status.build_id, "outcome": status.state}
        if status.draft:
            detail["draft"] = True
        if status.drops:  # stopped before publishing: sources that shrank sharply
            detail["stopped_by"] = [d["source"] for d in status.drops]
        if status.accept_drop:
            detail["accept_drop"] = list(status.accept_drop)
        if result is not None and result.accepted_drops:
            audit_accepted_drops(
                partnership_dir,
                result.accepted_drops,
                release_id=str(result.release.release_id),
                actor=user.username,
                via="web",
                state=gov.state,
            )
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
    accept_drop: Annotated[list[str] | None, Form(max_length=64)] = None,
    mode: Annotated[Literal["draft", "publish", ""], Form()] = "",
) -> Response:
    """Start building a new release in the background; go to its progress page. Refused
    (409) while another build of the partnership runs.

    ``accept_drop`` (one field per source; the boxes a stopped build's page offers) lets
    through sources that shrank sharply or look cut short, as ``joinedup build
    --accept-drop`` does; the published build audits each (``accept_drop``). A data lead
    may confirm their own agency's sources only (403 otherwise); an administrator any.

    ``mode=draft`` builds a draft (previewed and published from ``/releases/preview``);
    ``publish`` or nothing publishes, unless ``build.drafts`` makes every build a draft."""
    wanted = sorted(set(accept_drop or []))
    if wanted:
        cfg = _config(settings)
        try:
            check_accept_drop(cfg, wanted)
        except ConfigError as exc:
            return error_response(request, 422, str(exc))
        theirs = may_confirm(user, cfg)
        others = [s for s in wanted if s not in theirs]
        if others:
            return error_response(
                request,
                403,
                f"Only the data lead of the agency a source comes from, or an administrator, "
                f"may confirm its extract: you may not confirm {', '.join(others)}.",
            )
    try:
        build_id = runner.start(
            started_by=user.username,
            on_finish=_recorder(request, user),
            accept_drop=wanted,
            draft=mode == "draft",
        )
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
    settings: SettingsDep,
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
    confirm = may_confirm(user, _config(settings)) if status and status["drops"] else []
    context = {"build": status, "seconds": REFRESH_SECONDS, "may_confirm": confirm}
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
        # no configuration object: each release's figures are remembered (views.memo)
        data = {
            "tier": tier.value,
            "comparison": compare_releases(settings.partnership_dir, a, b, tier),
            "releases": list(reversed(ids)),
        }
    data["chosen"] = {"a": a, "b": b}
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "release_compare.html", {"data": data})
