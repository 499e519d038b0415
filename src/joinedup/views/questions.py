"""The questions as pages and commands show them: one answer, the list with headlines,
one question with the quality of its sources, what changed since the last release, and
the pseudonymous ids a question counted (operational tier only).

Every figure goes through :func:`~joinedup.views.answers.protect_answer`; a caller that
shows person-level ids must write the view to the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure import (
    SUPPRESSED,
    DisclosurePolicy,
    SourceScope,
    Tier,
    policy_for,
    scope_release,
    source_scope,
    suppression_footnote,
)
from joinedup.errors import ReleaseError
from joinedup.insight import QuestionError, list_questions, read_answer, read_cross
from joinedup.insight.answers import ALL
from joinedup.insight.periods import Period, PeriodError, SourceSpan, custom_period
from joinedup.views.answers import check_tier, protect_answer
from joinedup.views.crosses import protect_crossed
from joinedup.views.memo import per_release  # moved from disclosure/ (issue 19)
from joinedup.views.missing import with_missing
from joinedup.views.records import NOT_RECORDS, RecordCells, record_cells, share_of
from joinedup.views.release import ReleaseLike, open_release_connection, partnership_config
from joinedup.views.voices import quotes

__all__ = [
    "QUALITY_MEASURES",
    "STANDARD_PERIODS",
    "PeriodError",
    "QuestionNotFound",
    "QuestionRefused",
    "current_answer",
    "current_changes",
    "current_question",
    "current_questions",
    "current_units",
    "headline_change",
    "period_choice",
]

#: ``period=`` values for the standard periods.
STANDARD_PERIODS = ("default", "all")

_open = open_release_connection


def _no_answers(handle: ReleaseLike) -> ReleaseError:
    return ReleaseError(
        f"Release {handle.release_id} holds no answers to questions: it was built by an "
        "older joinedup. Run `joinedup build DIR` to rebuild it."
    )


def period_choice(
    *,
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
    names: tuple[str, str] = ("--from", "--to"),
) -> Period | None:
    """The period a reader chose: ``period`` "default" or "all", or ``start``/``end``
    (ISO dates, whole months; either may be left out), or None for the default. ``names``
    are what the caller calls the two dates, for error messages."""
    if period not in (None, "", *STANDARD_PERIODS):
        raise QuestionError(
            f"There is no standard period '{str(period)[:20]}'; choose default or all, or "
            f"give {names[0]} and {names[1]}."
        )
    if (start or end) and period:
        raise QuestionError(f"Give either a standard period or {names[0]}/{names[1]}, not both.")
    if start or end:
        return custom_period(start or None, end or None, names=names)
    return ALL if period == "all" else None


def _spans(con: duckdb.DuckDBPyConnection) -> list[SourceSpan]:
    return [
        SourceSpan(str(s), str(a or ""), str(d or ""), f, la, int(n or 0))
        for s, a, d, f, la, n in con.execute(
            "SELECT source, agency, dataset, first_event, last_event, events FROM source_span "
            "ORDER BY source"
        ).fetchall()
    ]


def _by(by: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    wanted = (by,) if isinstance(by, str) else tuple(by or ())
    if len(wanted) > 2:
        raise QuestionError(
            f"--by is given {len(wanted)} times; an answer crosses at most two breakdowns."
        )
    return wanted


def _answer(
    con: duckdb.DuckDBPyConnection,
    question_id: str,
    by: tuple[str, ...],
    period: Period | None,
    tier: Tier,
    **protect: Any,
) -> dict[str, Any]:
    spans = _spans(con)
    if len(by) == 2:
        cross = read_cross(con, question_id, (by[0], by[1]), period=period)
        return protect_crossed(cross, tier, spans=spans, **protect)
    answer = read_answer(con, question_id, by=by[0] if by else None, period=period)
    return protect_answer(answer, tier, spans=spans, **protect)


@per_release
def current_answer(
    partnership_dir: Path,
    question_id: str,
    *,
    by: str | tuple[str, ...] | None = None,
    tier: Tier = Tier.STRATEGIC,
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
    names: tuple[str, str] = ("--from", "--to"),
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """One answer from the partnership's current release, protected for ``tier``: by
    one breakdown, or two crossed (``by`` a pair), for the default period, a standard
    ``period`` ("default", "all") or ``start``/``end`` (see :func:`period_choice`)."""
    tier = Tier(tier)
    wanted = _by(by)
    chosen = period_choice(start=start, end=end, period=period, names=names)
    config = config if config is not None else partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    handle, con = _open(partnership_dir, open_release)
    try:
        found = _answer(con, question_id, wanted, chosen, tier, policy=policy, scope=scope)
        return with_missing(found, config)  # issue 21: what is missing, in every output
    except duckdb.CatalogException as exc:
        raise _no_answers(handle) from exc
    finally:
        con.close()


@per_release
def current_questions(
    partnership_dir: Path,
    tier: Tier = Tier.STRATEGIC,
    *,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """Every question in the current release, with its headline protected for ``tier``
    (``headline`` is None for a question the tier may not see)."""
    tier = Tier(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    handle, con = _open(partnership_dir, open_release)
    try:
        infos = list_questions(con)
        answers = {i.id: read_answer(con, i.id) for i in infos}
    except duckdb.CatalogException as exc:
        raise _no_answers(handle) from exc
    finally:
        con.close()
    out = []
    for info in infos:
        try:
            protected: dict[str, Any] | None = protect_answer(
                answers[info.id], tier, policy=policy, scope=scope
            )
        except QuestionError:
            protected = None
        total = None if protected is None else protected["rows"][-1]
        out.append(
            {
                "id": info.id,
                "question": info.question,
                "unit": info.unit,
                "origin": info.origin,
                "tiers": list(info.tiers),
                "breakdowns": dict(info.breakdowns),
                "available": protected is not None,
                "headline": None if total is None else total["count"],
                "previous": None if total is None else total.get("previous"),
                "previous_release_id": info.previous_release_id,
            }
        )
    first = next(iter(answers.values()), None)
    return {
        "tier": tier.value,
        "release_id": handle.release_id,
        "period": None if first is None else first.period.as_dict(),
        "questions": out,
        "disclosure": {
            "threshold": policy.threshold,
            "rounding_base": policy.rounding_base,
            "suppressed": SUPPRESSED,
            "footnote": suppression_footnote(policy),
        },
    }


def current_units(
    partnership_dir: Path,
    question_id: str,
    *,
    tier: Tier,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> list[str]:
    """The pseudonymous ids a question counted: operational tier only. The caller must
    record the view in the audit log before showing them."""
    tier = Tier(tier)
    if tier is not Tier.OPERATIONAL:
        raise QuestionError(
            f"Person-level lists are for the operational tier only, not {tier.value}."
        )
    handle, con = _open(partnership_dir, open_release)
    try:
        read_answer(con, question_id)  # raises for an unknown question
        rows = con.execute(
            "SELECT unit_id FROM question_unit WHERE question_id = ? ORDER BY unit_id",
            [question_id],
        ).fetchall()
    except duckdb.CatalogException as exc:
        raise _no_answers(handle) from exc
    finally:
        con.close()
    return [str(r[0]) for r in rows]


# --- the web pages' questions (issue 7) -------------------------------------------------


class QuestionNotFound(QuestionError):
    """There is no question of that id in the current release."""


class QuestionRefused(QuestionError):
    """The tier may not see the question; ``tiers`` are those that may."""

    def __init__(self, message: str, *, tiers: tuple[str, ...]) -> None:
        super().__init__(message)
        self.tiers = tiers


#: The quality measures shown beside a question, per source it draws on: (dimension,
#: measure, label). Each is a share of records, shown as a percentage.
QUALITY_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("validity", "rows_usable", "Rows usable"),
    ("completeness", "filled", "Fields filled"),
    ("linkability", "strong_identifier", "With NHS number, UPN or PNC id"),
    ("linkability", "name_dob_postcode", "With name, date of birth and postcode"),
    ("uniqueness", "distinct_records", "Not repeats"),
    ("timeliness", "months_without_gaps", "Months without a gap"),
)
_LAG = ("timeliness", "extract_lag_days")
#: Tiers at which per-source quality measures are shown (as the overview's sources are).
_QUALITY_TIERS = (Tier.STRATEGIC, Tier.OPERATIONAL)


def _source_quality(
    con: duckdb.DuckDBPyConnection,
    sources: tuple[str, ...],
    tier: Tier,
    *,
    policy: DisclosurePolicy,
    scope: SourceScope,
    handle: object,
) -> list[dict[str, Any]]:
    """The sources a question draws on, with their key quality measures as percentages
    (strategic and operational tiers; the community tier gets the list only).

    A measure that is a share of records is worked out from the protected counts of
    records (:func:`~joinedup.views.records.record_cells`, as on the data quality page),
    so it is "c" wherever its numerator or denominator is hidden: a share beside a
    question must not give away a count the quality page hides. Narrows ``con`` to
    ``scope``, so call it last.
    """
    if not sources:
        return []
    marks = ", ".join("?" for _ in sources)
    try:
        found = con.execute(
            f"SELECT source, agency, dataset FROM source WHERE source IN ({marks}) "
            "ORDER BY agency, source",
            list(sources),
        ).fetchall()
    except duckdb.CatalogException:
        found = []
    named = {str(s): (str(a or ""), str(d or "")) for s, a, d in found}
    measures: dict[str, dict[tuple[str, str], float]] = {}
    if tier in _QUALITY_TIERS:
        try:
            rows = con.execute(
                "SELECT source, dimension, measure, avg(value) FROM quality_measure "
                f"WHERE source IN ({marks}) AND value IS NOT NULL "
                "AND (field = '' OR (dimension = 'completeness' AND measure = 'filled')) "
                "GROUP BY ALL",
                list(sources),
            ).fetchall()
        except duckdb.CatalogException:  # a release built before data-quality measures
            rows = []
        for src, dim, name, value in rows:
            measures.setdefault(str(src), {})[(str(dim), str(name))] = float(value)
        scope_release(con, scope)
        try:
            cells: RecordCells | None = record_cells(con, policy, scope, handle=handle)
        except duckdb.CatalogException:  # a release built before counts of records
            cells = None
    out = []
    for src in sorted(sources, key=lambda x: (named.get(x, ("", ""))[0], x)):
        agency, dataset = named.get(src, ("", ""))
        entry: dict[str, Any] = {"source": src, "agency": agency, "dataset": dataset}
        if tier in _QUALITY_TIERS:
            got = measures.get(src, {})
            entry["measures"] = [
                {
                    "measure": name,
                    "label": label,
                    "percent": _protected_percent(cells, src, dim, name, got),
                }
                for dim, name, label in QUALITY_MEASURES
            ]
            lag = got.get(_LAG)
            entry["extract_lag_days"] = None if lag is None else float(round(lag))
        out.append(entry)
    return out


def _protected_percent(
    cells: RecordCells | None,
    source: str,
    dimension: str,
    measure: str,
    raw: dict[tuple[str, str], float],
) -> float | str | None:
    """One measure of one source as a percentage: from the protected counts of records
    when it is a share of records ("c" when hidden), else as measured."""
    if (dimension, measure) not in raw:
        return None
    if measure in NOT_RECORDS or cells is None:
        return round(100 * raw[(dimension, measure)], 1)
    mine = [k for k in cells.measures if k[0] == source and k[1] == measure]
    # completeness is averaged over the source's fields, the others are source-wide
    keys = [k for k in mine if k[2]] if dimension == "completeness" else []
    keys = keys or [k for k in mine if not k[2]]
    shares = [share_of(*cells.measures[k]) for k in keys]
    if not shares or any(x == SUPPRESSED for x in shares):
        return SUPPRESSED if shares else None
    values = [float(x) for x in shares if isinstance(x, float | int)]
    return round(100 * sum(values) / len(values), 1) if values else None


@per_release
def current_question(
    partnership_dir: Path,
    question_id: str,
    *,
    by: str | tuple[str, ...] | None = None,
    tier: Tier = Tier.STRATEGIC,
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
    names: tuple[str, str] = ("from", "to"),
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """One question for a page: its answer protected for ``tier`` (exactly what
    :func:`current_answer` gives for the same choices) and the quality of the sources it
    draws on.

    Raises :class:`QuestionNotFound` for an unknown id, :class:`QuestionRefused` when
    the tier may not see it, and :class:`~joinedup.insight.QuestionError` for an unknown
    breakdown.
    """
    tier = Tier(tier)
    wanted = _by(by)
    chosen = period_choice(start=start, end=end, period=period, names=names)
    config = config if config is not None else partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    handle, con = _open(partnership_dir, open_release)
    try:
        info = next((i for i in list_questions(con) if i.id == question_id), None)
        if info is None:
            raise QuestionNotFound(
                f"There is no question '{question_id}' in release {handle.release_id}. "
                "The list of questions shows those it answers."
            )
        try:
            check_tier(info, tier, scope)
        except QuestionError as exc:
            raise QuestionRefused(str(exc), tiers=info.tiers) from None
        answer = _answer(con, question_id, wanted, chosen, tier, policy=policy, scope=scope)
        answer = with_missing(answer, config)  # issue 21
        voices = _voices(con, question_id, tier, policy, scope, answer.get("period") or {})
        sources = _source_quality(
            con, info.sources, tier, policy=policy, scope=scope, handle=handle
        )
    except duckdb.CatalogException as exc:
        raise _no_answers(handle) from exc
    finally:
        con.close()
    return {
        "answer": answer,
        "sources": sources,
        "quality_measures_shown": tier in _QUALITY_TIERS,
        "voices": voices,
    }


def _voices(
    con: duckdb.DuckDBPyConnection,
    question_id: str,
    tier: Tier,
    policy: DisclosurePolicy,
    scope: SourceScope,
    period: dict[str, Any],
) -> dict[str, Any] | None:
    """Scrubbed words from notes on the question's ``voices:`` themes, in its period
    (issue 20; :mod:`joinedup.views.voices`), or None when it quotes none."""
    row = con.execute("SELECT spec FROM question WHERE question_id = $q", {"q": question_id})
    found = row.fetchone()
    spec = json.loads(found[0]) if found and found[0] else {}
    themes = spec.get("voices") or []
    if not themes:
        return None

    def day(key: str) -> dt.date | None:
        value = period.get(key)
        return dt.date.fromisoformat(str(value)) if value else None

    return quotes(
        con, tier, themes=themes, policy=policy, scope=scope, start=day("from"), end=day("to")
    )


def headline_change(headline: Any, previous: Any) -> dict[str, Any] | None:
    """How a protected headline moved from its protected previous figure, or None when
    either is hidden or missing. ``change`` is signed text ("+3", "-2", "0"): it is a
    difference of two published figures, not a count; ``percent`` is None from zero."""
    if not (isinstance(headline, int) and isinstance(previous, int)):
        return None
    if isinstance(headline, bool) or isinstance(previous, bool):
        return None
    diff = headline - previous
    percent = None if previous == 0 else round(100 * diff / previous, 1)
    return {"change": f"{diff:+d}" if diff else "0", "percent": percent}


@per_release
def current_changes(
    partnership_dir: Path,
    tier: Tier = Tier.STRATEGIC,
    *,
    limit: int = 5,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """What changed since the last release: the questions (at most ``limit``) whose
    protected headline moved most against the previous release's protected headline,
    relative to it. ``previous_release_id`` is None when no previous release holds the
    questions in the same form; a release without answers gives an empty list and a note.
    """
    tier = Tier(tier)
    try:
        listing = current_questions(partnership_dir, tier, config=config, open_release=open_release)
    except ReleaseError as exc:
        return {
            "release_id": None,
            "previous_release_id": None,
            "questions": [],
            "note": str(exc),
        }
    previous_id = next(
        (q["previous_release_id"] for q in listing["questions"] if q["previous_release_id"]),
        None,
    )
    moved = []
    for q in listing["questions"]:
        if not q["available"] or q["previous_release_id"] is None:
            continue
        change = headline_change(q["headline"], q["previous"])
        if change is None or change["change"] == "0":
            continue
        diff = q["headline"] - q["previous"]
        size = abs(diff) / max(q["previous"], 1)
        moved.append(
            (
                -size,
                -abs(diff),
                q["id"],
                {
                    "id": q["id"],
                    "question": q["question"],
                    "unit": q["unit"],
                    "headline": q["headline"],
                    "previous": q["previous"],
                    **change,
                },
            )
        )
    moved.sort(key=lambda m: m[:3])
    if previous_id is None:
        note = (
            "There is no previous release to compare with: this is the first release, or "
            "the questions have changed since the last one."
        )
    elif not moved:
        note = "No headline figure that can be shown has changed since the previous release."
    else:
        note = None
    return {
        "release_id": listing["release_id"],
        "previous_release_id": previous_id,
        "questions": [m[3] for m in moved[:limit]],
        "note": note,
    }
