"""``/maturity``, ``/maturity/assess`` and ``/framework`` (issue 21), each with a ``.json``
twin where it shows figures.

- ``/maturity``: every agency's newest data maturity self-assessment beside the measured
  quality of its extracts, what it holds (the catalogue), disagreements named in a
  partnership summary, and change since its previous assessment
  (:func:`joinedup.views.maturity.maturity_view`). Everyone signed in.
- ``/maturity/assess``: the questionnaire, for a data lead (``Permission.AUDIT_OWN_AGENCY``)
  and their own agency only; a submission is kept with the history (never overwritten).
- ``/framework``: the partnership's performance framework: outcomes, their questions with
  the protected headline figure and the partnership's target as a reference.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from joinedup.access import Permission, User
from joinedup.state import MaturityError, SelfAssessments
from joinedup.views.maturity import framework_view, maturity_view, questionnaire_for
from joinedup.views.release import partnership_config
from joinedup.web.deps import CsrfChecked, CurrentUser, Require, SettingsDep, StateDep, TierDep
from joinedup.web.templating import templates

router = APIRouter()

DataLead = Annotated[User, Depends(Require(Permission.AUDIT_OWN_AGENCY))]


@router.get("/maturity", response_class=HTMLResponse, name="maturity")
@router.get("/maturity.json", response_class=JSONResponse, name="maturity_json")
def maturity(
    request: Request, settings: SettingsDep, state: StateDep, tier: TierDep, user: CurrentUser
) -> Response:
    """Agencies' self-assessed data maturity beside their measured quality, with what each
    holds and the partnership summary (disagreements named)."""
    data = maturity_view(
        settings.partnership_dir,
        tier,
        assessments=SelfAssessments(state.session),
        open_release=settings.open_release,
    )
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    context = {
        "data": data,
        "m": data["maturity"],
        "can_assess": user.can(Permission.AUDIT_OWN_AGENCY),
        "own_agency": user.agency,
        "done": request.query_params.get("done") == "1",
    }
    return templates.TemplateResponse(request, "maturity.html", context)


def _form(
    request: Request, settings: Any, state: Any, user: User, *, error: str | None = None,
    chosen: dict[str, Any] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    config = partnership_config(settings.partnership_dir)
    q = questionnaire_for(config)
    latest = SelfAssessments(state.session).latest(user.agency)
    names = {a.id: a.name for a in config.agencies} if config is not None else {}
    context = {
        "q": q,
        "agency_name": names.get(user.agency, user.agency),
        "latest": latest,
        "chosen": chosen or {},
        "error": error,
    }
    return templates.TemplateResponse(
        request, "maturity_assess.html", context, status_code=status_code
    )


@router.get("/maturity/assess", response_class=HTMLResponse, name="maturity_assess")
def assess_form(
    request: Request, settings: SettingsDep, state: StateDep, user: DataLead
) -> Response:
    """The self-assessment questionnaire for the data lead's own agency."""
    return _form(request, settings, state, user)


@router.post("/maturity/assess", response_class=HTMLResponse, name="maturity_submit")
async def assess_submit(
    request: Request, settings: SettingsDep, state: StateDep, user: DataLead, _: CsrfChecked
) -> Response:
    """Record the data lead's answers for their own agency (a new assessment each time)."""
    form = await request.form()
    config = partnership_config(settings.partnership_dir)
    q = questionnaire_for(config)
    dims = tuple(d.code for d in q.dimensions)
    levels: dict[str, int] = {}
    chosen: dict[str, Any] = {}
    for d in dims:
        raw = str(form.get(f"level_{d}") or "")
        chosen[d] = raw
        if raw.isdigit():
            levels[d] = int(raw)
    evidence = {d: str(form.get(f"evidence_{d}") or "")[:2000] for d in dims}
    try:
        SelfAssessments(state.session).submit(
            agency=user.agency,
            levels=levels,
            submitted_by=user.username,
            version=q.version,
            dimensions=dims,
            evidence=evidence,
            note=str(form.get("note") or "")[:2000],
        )
    except MaturityError as exc:
        return _form(request, settings, state, user, error=str(exc), chosen=chosen, status_code=422)
    state.audit.append(
        actor=user.username,
        action="maturity_self_assessment",
        target=user.agency,
        detail={"version": q.version, "levels": levels, "via": "web"},
        agencies=[user.agency],
    )
    return RedirectResponse("/maturity?done=1", status_code=303)


@router.get("/framework", response_class=HTMLResponse, name="framework")
@router.get("/framework.json", response_class=JSONResponse, name="framework_json")
def framework(
    request: Request, settings: SettingsDep, tier: TierDep, user: CurrentUser
) -> Response:
    """The partnership's performance framework, targets shown as a reference."""
    data = framework_view(settings.partnership_dir, tier, open_release=settings.open_release)
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "framework.html", {"data": data})
