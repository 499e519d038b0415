"""Questions: every question's answer with chart, table, breakdown and caveats (issue 7).

- ``/questions`` (+ ``.json``): every question in the current release, grouped by what
  it counts, with its headline at the visitor's tier and its change since the previous
  release; questions the tier may not see are listed as such, with why.
- ``/questions/{id}`` (+ ``.json``): one question's answer as a chart and a table, by a
  breakdown of the visitor's choice (``?by=``; ``?by=none`` for the total only), with
  rates and their intervals, caveats, and the quality of the sources it rests on.
- ``/questions/{id}.csv`` / ``.xlsx`` / ``.parquet`` / ``.geojson``: the same table as a
  download, for users with the export permission; every download is in the audit log.

Figures come only from ``joinedup.views.questions``; exports are written by
``joinedup.present.files`` (the same writers as ``joinedup export``).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from joinedup.access import Permission, User
from joinedup.errors import JoinedupError
from joinedup.present.files import area_boundaries, write_tables
from joinedup.present.tables import answer_table
from joinedup.views import QuestionError, Tier, agency_names
from joinedup.views.guidance import terms_for
from joinedup.views.questions import (
    PeriodError,
    QuestionNotFound,
    QuestionRefused,
    current_question,
    current_questions,
    headline_change,
)
from joinedup.web import periods as pq
from joinedup.web.answer_charts import answer_charts, rate_chart
from joinedup.web.deps import CurrentUser, Require, SettingsDep, StateDep, TierDep
from joinedup.web.errors import error_response
from joinedup.web.templating import cached_body, templates

router = APIRouter()

#: Breakdowns that are periods of time: offered as "over time" choices.
TIME_BREAKDOWNS = frozenset({"quarter", "month", "year", "financial_year"})
#: Breakdowns whose categories are areas of the partnership's geography (GeoJSON).
AREA_BREAKDOWNS = frozenset({"authority", "ward", "small_area"})

#: Headings of the list, by what a question counts (in this order).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Children", ("children",)),
    ("Children and young people", ("children and young people",)),
    ("Young adults", ("young people",)),
    ("Persons of concern and networks", ("persons of concern", "persons", "groups")),
    ("Events and referrals", ("events",)),
    ("Places", ("places",)),
)

EXPORTS: dict[str, tuple[str, str]] = {
    "csv": ("CSV (UTF-8)", "text/csv; charset=utf-8"),
    "xlsx": ("Excel workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "parquet": ("Parquet", "application/vnd.apache.parquet"),
    "geojson": ("GeoJSON of areas", "application/geo+json"),
}

QuestionId = Annotated[str, "A question id, as in the list of questions"]
Exporter = Annotated[User, Depends(Require(Permission.EXPORT))]


def _tier_query(request: Request) -> str:
    tier = request.query_params.get("tier")
    return f"tier={tier}" if tier in {t.value for t in Tier} else ""


def _with_query(path: str, *parts: str) -> str:
    query = "&".join(p for p in parts if p)
    return f"{path}?{query}" if query else path


def _words(items: list[str] | tuple[str, ...]) -> str:
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _refusal(tier: Tier, tiers: tuple[str, ...] | list[str]) -> str:
    if tier.value in tiers:
        return (
            "It draws on a source whose sharing agreement does not permit its use at the "
            f"{tier.value} tier."
        )
    return (
        f"It is not available at the {tier.value} tier. It can be seen at the "
        f"{_words(list(tiers))} tier{'s' if len(tiers) > 1 else ''}."
    )


def _group_title(unit: str) -> str:
    for title, units in GROUPS:
        if unit in units:
            return title
    return "Other questions"


def _grouped(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = [title for title, _ in GROUPS] + ["Other questions"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for q in questions:
        groups.setdefault(_group_title(str(q["unit"])), []).append(q)
    return [
        {"title": t, "id": "group-" + t.lower().replace(" ", "-"), "questions": groups[t]}
        for t in order
        if t in groups
    ]


@router.get("/questions", response_class=HTMLResponse, name="questions")
@router.get("/questions.json", response_class=JSONResponse, name="questions_json")
def questions_list(request: Request, settings: SettingsDep, tier: TierDep) -> Response:
    """Every question in the current release, grouped by what it counts, with its headline
    figure at the visitor's tier and its change since the previous release."""
    listing = current_questions(settings.partnership_dir, tier, open_release=settings.open_release)
    tier_q = _tier_query(request)
    items = []
    for q in listing["questions"]:
        change = headline_change(q["headline"], q["previous"]) if q["available"] else None
        items.append(
            {
                "id": q["id"],
                "question": q["question"],
                "unit": q["unit"],
                "origin": q["origin"],
                "tiers": q["tiers"],
                "available": q["available"],
                "why_not": None if q["available"] else _refusal(tier, q["tiers"]),
                "headline": q["headline"],
                "previous": q["previous"],
                "previous_release_id": q["previous_release_id"],
                "change": None if change is None else change["change"],
                "change_percent": None if change is None else change["percent"],
                "href": _with_query(f"/questions/{q['id']}", tier_q),
            }
        )
    previous = next((q["previous_release_id"] for q in items if q["previous_release_id"]), None)
    data = {
        "tier": listing["tier"],
        "release_id": listing["release_id"],
        "previous_release_id": previous,
        "groups": _grouped(items),
        "disclosure": listing["disclosure"],
    }
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    return templates.TemplateResponse(request, "questions.html", {"data": data})


def _question_error(request: Request, tier: Tier, exc: QuestionError) -> Response:
    if isinstance(exc, QuestionNotFound):
        return error_response(
            request, 404, str(exc), title="No such question", page="questions_error.html"
        )
    if isinstance(exc, QuestionRefused):
        return error_response(
            request,
            403,
            "You cannot see this question at the tier you are viewing. "
            + _refusal(tier, exc.tiers),
            title="This question is not available at your tier",
            page="questions_error.html",
        )
    if isinstance(exc, PeriodError):
        detail = str(exc).replace("YYYY-MM-DD", "a date such as 2026-01-01")
        return error_response(
            request, 400, detail, title="This period cannot be shown", page="questions_error.html"
        )
    named = re.search(r"no breakdown '([a-z][a-z0-9_]*)'", str(exc))
    what = f"by '{named.group(1)}'" if named else "that way"
    return error_response(
        request,
        400,
        f"This question cannot be broken down {what}. Choose a breakdown, or two to cross, "
        "from the choices on the question's page.",
        title="This breakdown does not exist",
        page="questions_error.html",
    )


def _resolve(
    settings: SettingsDep,
    question_id: str,
    by: str | list[str] | None,
    tier: Tier,
    when: dict[str, str | None] | None = None,
) -> tuple[dict[str, Any], str | None]:
    """The page's question and its breakdown: ``?by=`` (twice to cross two); ``none``
    for the total only; without one, the question's first breakdown that is not a period
    of time. ``when`` is the period chosen (``start``, ``end``, ``period``)."""
    given = [by] if isinstance(by, str) else [b for b in (by or []) if b]
    if any(len(b) > 64 or not re.match(r"^[a-z][a-z0-9_]*$", b) for b in given):
        raise QuestionError("A breakdown is a lower-case name, as in the question's list.")
    chosen = tuple(b for b in given if b != pq.NO_BREAKDOWN)
    wanted = None if not chosen else chosen[0] if len(chosen) == 1 else chosen
    found = current_question(
        settings.partnership_dir,
        question_id,
        by=wanted,
        tier=tier,
        open_release=settings.open_release,
        **(when or {}),  # type: ignore[arg-type]
    )
    if not given:
        breakdowns = list(found["answer"]["question"]["breakdowns"])
        first = next((b for b in breakdowns if b not in TIME_BREAKDOWNS), None)
        first = first or next(iter(breakdowns), None)
        if first is not None:
            wanted = first
            found = current_question(
                settings.partnership_dir,
                question_id,
                by=first,
                tier=tier,
                open_release=settings.open_release,
                **(when or {}),  # type: ignore[arg-type]
            )
    return found, wanted if isinstance(wanted, str) or wanted is None else ",".join(wanted)


def _terms(question: dict[str, Any]) -> list[dict[str, str]]:
    """The glossary terms the question's words use (issue 20)."""
    texts = [str(question.get(k) or "") for k in ("question", "definition", "unit")]
    return terms_for(*texts)


def _choices(question: dict[str, Any], by: str | None, crossed: list[str]) -> dict[str, Any]:
    breakdowns = question["breakdowns"]
    plain = [
        {"value": k, "label": v, "selected": k == by}
        for k, v in breakdowns.items()
        if k not in TIME_BREAKDOWNS
    ]
    over_time = [
        {"value": k, "label": v, "selected": k == by}
        for k, v in breakdowns.items()
        if k in TIME_BREAKDOWNS
    ]
    return {
        "none": {
            "value": pq.NO_BREAKDOWN,
            "label": "No breakdown: the total only",
            "selected": not by,
        },
        "breakdowns": plain,
        "over_time": over_time,
        "cross": pq.cross_choices(breakdowns, crossed),
    }


def _exports(
    user: User, question_id: str, by: str | None, tier_q: str, when_q: str = ""
) -> list[dict[str, str]]:
    if not user.can(Permission.EXPORT):
        return []
    out = []
    for fmt, (label, _) in EXPORTS.items():
        if fmt == "geojson" and by not in AREA_BREAKDOWNS:
            continue
        href = _with_query(f"/questions/{question_id}.{fmt}", pq.by_query(by), when_q, tier_q)
        out.append({"format": fmt, "label": label, "href": href})
    return out


@router.get("/questions/{question_id}", response_class=HTMLResponse, name="question")
@router.get("/questions/{question_id}.json", response_class=JSONResponse, name="question_json")
def question_page(
    request: Request,
    settings: SettingsDep,
    tier: TierDep,
    user: CurrentUser,
    question_id: QuestionId,
    by: pq.ByList = None,
    start: pq.FromQuery = None,
    end: pq.DateQuery = None,
    period: pq.PeriodQuery = None,
) -> Response:
    """One question's answer at the visitor's tier, for a period (``?period=default|all``
    or ``?from=&to=``, whole months): chart and table by a breakdown of their choice, or
    two crossed (``?by=a&by=b``), change since the previous release, rates with 95%
    confidence intervals, caveats, the history each source holds, and the quality of the
    sources it rests on."""
    asked = pq.period_asked(start, end, period)
    try:
        found, chosen = _resolve(settings, question_id, by, tier, asked)
    except QuestionError as exc:
        return _question_error(request, tier, exc)
    answer = found["answer"]
    q = answer["question"]
    tier_q = _tier_query(request)
    names = agency_names(settings.partnership_dir)  # people's words (issue 16)
    for s in found["sources"]:
        s["agency_name"] = names.get(s["agency"], s["agency"])
    previous = answer["previous_release_id"]
    first = (chosen or "").split(",")[0] or None
    data = {
        "tier": answer["tier"],
        "release_id": answer["release_id"],
        "previous_release_id": previous,
        "question": q,
        "breakdown": first,
        "by": answer["by"],
        "period": answer["period"],
        "period_choice": pq.period_choice(answer["period"], asked),
        "history": answer["history"],
        "cross": answer.get("table"),
        "choices": _choices(q, first, answer["by"]),
        "comparison": {
            "previous_release_id": previous,
            "note": (
                f"The table compares this release with release {previous}: the same question "
                "answered the same way."
                if previous
                else "There is no previous release answering this question in the same form, "
                "so there is no change to show."
            ),
        },
        "answer": answer,
        "sources": found["sources"],
        "quality_measures_shown": found["quality_measures_shown"],
        "voices": found.get("voices"),  # issue 20: scrubbed words beside the figure
        "terms": _terms(answer.get("question") or {}),  # issue 20: linked to the glossary
        "exports": _exports(user, question_id, chosen, tier_q, pq.when_query(asked)),
        "links": {
            "list": _with_query("/questions", tier_q),
            "json": _with_query(
                f"/questions/{question_id}.json", pq.by_query(chosen), pq.when_query(asked), tier_q
            ),
        },
    }
    if request.url.path.endswith(".json"):
        return JSONResponse(data)
    body = cached_body(
        request,
        "question_body.html",
        {"data": data},
        lambda: {
            "data": data,
            "charts": [] if data["cross"] else answer_charts(answer),
            "tier_param": request.query_params.get("tier"),
        },
    )
    return templates.TemplateResponse(request, "question.html", {"data": data, "body": body})


def _download(
    request: Request,
    settings: SettingsDep,
    state: StateDep,
    tier: Tier,
    user: User,
    question_id: str,
    by: list[str] | None,
    fmt: str,
    when: dict[str, str | None],
) -> Response:
    try:  # the same table as the page with the same ?by= and period shows
        found, wanted = _resolve(settings, question_id, by, tier, when)
    except QuestionError as exc:
        return _question_error(request, tier, exc)
    protected = found["answer"]
    area = wanted in AREA_BREAKDOWNS
    if fmt == "geojson" and not area:
        return error_response(
            request,
            404,
            "A GeoJSON download is for a breakdown by area: choose a breakdown by local "
            "authority or ward on the question's page.",
            page="questions_error.html",
        )
    table = answer_table(protected, area_key="category" if area else None)
    try:
        boundaries = area_boundaries(settings.partnership_dir) if fmt == "geojson" else None
        with tempfile.TemporaryDirectory(prefix="joinedup-export-") as tmp:
            target = Path(tmp) / (f"{table.name}.xlsx" if fmt == "xlsx" else "out")
            written = write_tables([table], fmt, target, boundaries=boundaries)
            body = written[0].read_bytes()
    except JoinedupError as exc:  # e.g. no area boundaries for GeoJSON
        return error_response(request, 409, str(exc), page="questions_error.html")
    state.audit.append(
        actor=user.username,
        action="export",
        target=question_id,
        detail={
            "page": "question",
            "question": question_id,
            "by": wanted or pq.NO_BREAKDOWN,
            "format": fmt,
            "tier": protected["tier"],
            "release_id": protected["release_id"],
        },
        agencies=sorted({s["agency"] for s in found["sources"] if s["agency"]}),
    )
    filename = f"{table.name}.{fmt}"
    return Response(
        body,
        media_type=EXPORTS[fmt][1],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _export_route(fmt: str) -> Any:
    def download(
        request: Request,
        settings: SettingsDep,
        state: StateDep,
        tier: TierDep,
        user: Exporter,
        question_id: QuestionId,
        by: pq.ByList = None,
        start: pq.FromQuery = None,
        end: pq.DateQuery = None,
        period: pq.PeriodQuery = None,
    ) -> Response:
        asked = pq.period_asked(start, end, period)
        return _download(request, settings, state, tier, user, question_id, by, fmt, asked)

    download.__doc__ = (
        f"The question's table at the visitor's tier as {EXPORTS[fmt][0]}, through "
        "disclosure control (suppressed counts are 'c'); needs the export permission and "
        "is recorded in the audit log."
        + (" Only for a breakdown by area." if fmt == "geojson" else "")
    )
    download.__name__ = f"question_{fmt}"
    return download


for _fmt in EXPORTS:
    router.add_api_route(
        f"/questions/{{question_id}}.{_fmt}",
        _export_route(_fmt),
        methods=["GET"],
        response_class=Response,
        name=f"question_{_fmt}",
    )


# The page route matches any id, so the downloads (``/questions/x.csv``) and the JSON
# twin must come first in the router: move the page route to the end.
_page = next(r for r in router.routes if getattr(r, "name", None) == "question")
router.routes.remove(_page)
router.routes.append(_page)

__all__ = ["AREA_BREAKDOWNS", "TIME_BREAKDOWNS", "rate_chart", "router"]
