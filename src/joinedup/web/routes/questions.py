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
from joinedup.present.charts import CHART_FONT, Chart, bar_chart, grouped_bar_chart
from joinedup.present.files import area_boundaries, write_tables
from joinedup.present.tables import answer_table
from joinedup.views import SUPPRESSED, QuestionError, Tier, partnership_config
from joinedup.views.answers import TOTAL
from joinedup.views.questions import (
    PeriodError,
    QuestionNotFound,
    QuestionRefused,
    current_question,
    current_questions,
    headline_change,
)
from joinedup.web import periods as pq
from joinedup.web.deps import CurrentUser, Require, SettingsDep, StateDep, TierDep
from joinedup.web.errors import error_response
from joinedup.web.templating import templates

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
    title = "This breakdown does not exist"
    title = "This period cannot be shown" if isinstance(exc, PeriodError) else title
    return error_response(request, 400, str(exc), title=title, page="questions_error.html")


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
    config = partnership_config(settings.partnership_dir)  # read once for both calls
    found = current_question(
        settings.partnership_dir,
        question_id,
        by=wanted,
        tier=tier,
        config=config,
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
                config=config,
                open_release=settings.open_release,
                **(when or {}),  # type: ignore[arg-type]
            )
    return found, wanted if isinstance(wanted, str) or wanted is None else ",".join(wanted)


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


def _label(row: dict[str, Any], split: bool, category: bool) -> str:
    parts = []
    if split:
        parts.append(str(row.get("split")))
    if category:
        parts.append(str(row.get("category")))
    return ": ".join(parts) or TOTAL


def _is_total(row: dict[str, Any], category: bool) -> bool:
    """A total row: the breakdown's "Total" (of each split), else the split's total."""
    if category:
        return bool(row.get("category") == TOTAL)
    return bool(row.get("split", TOTAL) == TOTAL)


def _charts(answer: dict[str, Any]) -> list[Chart]:
    """The answer's counts as a chart, and its rates with their intervals where it has
    them; drawn from the protected figures only."""
    q = answer["question"]
    unit = str(q["unit"]).capitalize()
    rows = answer["rows"]
    split = any("split" in r for r in rows)
    category = answer.get("breakdown") is not None
    columns = {c["key"]: c["label"] for c in answer["columns"]}
    parts = [r for r in rows if not _is_total(r, category)]
    charts: list[Chart] = []
    if split and category:
        cats = list(dict.fromkeys(str(r["category"]) for r in parts))
        splits = list(dict.fromkeys(str(r["split"]) for r in parts))
        cell = {(str(r["split"]), str(r["category"])): r["count"] for r in parts}
        charts.append(
            grouped_bar_chart(
                f"{unit} by {columns['category'].lower()} and {columns['split'].lower()}",
                cats,
                [(s, [cell.get((s, c)) for c in cats]) for s in splits],
                chart_id="chart-answer",
                axis_title=unit,
            )
        )
    elif parts:
        by = columns.get("category") or columns.get("split") or ""
        charts.append(
            bar_chart(
                f"{unit} by {by.lower()}",
                [_label(r, split, category) for r in parts],
                [r["count"] for r in parts],
                chart_id="chart-answer",
                axis_title=unit,
                width=320,
            )
        )
    else:
        total = rows[-1]
        labels, values = ["This release"], [total["count"]]
        if "previous" in total:
            labels.append("Previous release")
            values.append(total["previous"])
        charts.append(
            bar_chart(
                f"{unit}: this release and the previous one" if len(labels) > 1 else unit,
                labels,
                values,
                chart_id="chart-answer",
                axis_title=unit,
                width=320,
            )
        )
    if "rate" in columns:
        shown = [r for r in rows if r.get("rate") is not None]
        if shown:
            charts.append(
                rate_chart(
                    str(columns["rate"]),
                    [_label(r, split, category) for r in shown],
                    [(r["rate"], r["rate_low"], r["rate_high"]) for r in shown],
                )
            )
    return charts


def rate_chart(
    title: str,
    labels: list[str],
    rates: list[tuple[Any, Any, Any]],
    *,
    chart_id: str = "chart-rate",
) -> Chart:
    """Rates as points with their 95% confidence intervals as lines; a hidden rate ("c")
    gets no mark and is labelled "c"."""
    values = []
    for label, (rate, low, high) in zip(labels, rates, strict=True):
        known = isinstance(rate, int | float) and not isinstance(rate, bool)
        values.append(
            {
                "label": label,
                "rate": rate if known else None,
                "low": low if known else None,
                "high": high if known else None,
                "text": f"{rate:,.1f}" if known else SUPPRESSED,
            }
        )
    described = "; ".join(
        f"{v['label']}: {v['text']}"
        + (f" (95% interval {v['low']:,.1f} to {v['high']:,.1f})" if v["rate"] is not None else "")
        for v in values
    )
    y = {
        "field": "label",
        "type": "nominal",
        "sort": labels,
        "title": None,
        "axis": {"labelLimit": 220, "ticks": False, "domain": False},
    }
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 320,
        "height": {"step": 28},
        "data": {"values": values},
        "encoding": {"y": y},
        "layer": [
            {
                "mark": {"type": "rule", "color": "#0b0c0c", "strokeWidth": 2},
                "encoding": {
                    "x": {"field": "low", "type": "quantitative", "title": title},
                    "x2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 80, "color": "#1d70b8"},
                "encoding": {"x": {"field": "rate", "type": "quantitative"}},
            },
            {
                "transform": [{"calculate": "datum.rate == null ? 0 : datum.high", "as": "at"}],
                "mark": {"type": "text", "align": "left", "dx": 6},
                "encoding": {
                    "x": {"field": "at", "type": "quantitative"},
                    "text": {"field": "text"},
                },
            },
        ],
        "config": {
            "aria": False,
            "font": CHART_FONT,
            "background": "white",
            "view": {"stroke": None},
            "axis": {
                "labelColor": "#0b0c0c",
                "titleColor": "#0b0c0c",
                "labelFontSize": 13,
                "titleFontSize": 13,
                "gridColor": "#e5e5e5",
            },
            "text": {"color": "#0b0c0c", "fontSize": 13},
        },
    }
    return Chart(chart_id, f"{title}, with 95% confidence intervals", described, spec)


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
    context = {
        "data": data,
        "charts": [] if data["cross"] else _charts(answer),
        "tier_param": request.query_params.get("tier"),
    }
    return templates.TemplateResponse(request, "question.html", context)


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
