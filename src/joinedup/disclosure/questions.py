"""Question answers as each tier may see them.

:func:`protect_answer` is the only route from a raw :class:`~joinedup.insight.Answer` to
anything shown. The rules, on top of ``docs/disclosure.md``:

- A question lists the tiers that may see it; any other tier is refused, and so is a
  tier at which a sharing agreement leaves out a source the question draws on.
- Counts (of persons, events, places or groups) are protected together with their totals
  (:func:`~joinedup.disclosure.protect_one_way` / ``protect_two_way``). The counts of the
  previous release are protected the same way on their own; a change is shown only where
  both counts are.
- A median is shown only beside a count that is shown and not zero.
- A rate, its confidence interval and its ratio are computed from the count AS
  PUBLISHED (after rounding), and hidden where the count is: a rate beside a known
  denominator would otherwise give the count away.
- Person-level lists (pseudonymous ids) are for the operational tier only
  (:func:`current_units`); a caller that shows them must write the view to the audit log.

:func:`answer_rows` and :func:`answer_csv` lay a protected answer out as a table; CSV
cells that a spreadsheet would run as a formula are neutralised (:func:`csv_safe`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure import (
    SUPPRESSED,
    Cell,
    DisclosurePolicy,
    ReleaseLike,
    SourceScope,
    Tier,
    partnership_config,
    policy_for,
    protect_cells,
    protect_one_way,
    source_scope,
    suppression_footnote,
)
from joinedup.disclosure.memo import per_release
from joinedup.disclosure.overview import open_release_connection
from joinedup.errors import ReleaseError
from joinedup.insight import Answer, QuestionError, QuestionInfo, list_questions, read_answer

__all__ = [
    "QUALITY_MEASURES",
    "TOTAL",
    "QuestionNotFound",
    "QuestionRefused",
    "answer_csv",
    "answer_rows",
    "csv_safe",
    "current_answer",
    "current_changes",
    "current_question",
    "current_questions",
    "current_units",
    "headline_change",
    "protect_answer",
    "wilson_interval",
]

#: Label of total rows and columns.
TOTAL = "Total"
_Z = 1.959964  # 95% two-sided


def wilson_interval(count: int, n: float, *, z: float = _Z) -> tuple[float, float]:
    """Wilson score interval of the proportion ``count / n`` (0 < n)."""
    p = count / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _check_tier(info: QuestionInfo, tier: Tier, scope: SourceScope | None) -> None:
    if tier.value not in info.tiers:
        raise QuestionError(
            f"Question '{info.id}' is not available at the {tier.value} tier; it may be seen "
            f"at: {', '.join(info.tiers)}."
        )
    if scope is not None:
        blocked = sorted(set(info.sources) & scope.excluded_ids)
        if blocked:
            raise QuestionError(
                f"Question '{info.id}' draws on source(s) {', '.join(blocked)}, which their "
                f"sharing agreements do not permit at the {tier.value} tier."
            )


Key = tuple[str | None, str | None]


def _protect_counts(
    answer: Answer, get: Callable[[Key], int], policy: DisclosurePolicy
) -> dict[Key, Cell]:
    splits, cats = list(answer.splits), list(answer.categories)
    if splits and cats:
        # Split cohorts may overlap (a child with a concern is also one of "all
        # children"), so only each cohort's row is a table with a total; the margins
        # across cohorts are not shown. Each row is protected with its total, then the
        # row totals with the grand total.
        out: dict[Key, Cell] = {}
        for s in splits:
            row, row_total = protect_one_way(
                {c: get((s, c)) for c in cats}, policy, total=get((s, None))
            )
            out.update({(s, c): v for c, v in row.items()})
            out[(s, None)] = row_total
        shown, grand = protect_one_way(
            {s: get((s, None)) for s in splits}, policy, total=get((None, None))
        )
        for s, v in shown.items():
            if v == SUPPRESSED:
                out[(s, None)] = SUPPRESSED
        out[(None, None)] = grand
        return out
    if splits or cats:
        keys: list[Key] = [(s, None) for s in splits] or [(None, c) for c in cats]
        cells, total = protect_one_way({k: get(k) for k in keys}, policy, total=get((None, None)))
        return {**cells, (None, None): total}
    only: dict[Hashable, int] = {"total": get((None, None))}
    return {(None, None): protect_cells(only, [], policy)["total"]}


def _get(answer: Answer, attr: str) -> Callable[[Key], int]:
    def get(key: Key) -> int:
        cell = answer.cells.get(key)
        value = getattr(cell, attr) if cell is not None else 0
        return int(value or 0)

    return get


def _columns(answer: Answer) -> list[dict[str, str]]:
    info = answer.question
    cols = []
    if info.split:
        cols.append({"key": "split", "label": info.split_label or info.split})
    if answer.breakdown:
        cols.append({"key": "category", "label": info.breakdowns[answer.breakdown]})
    cols.append({"key": "count", "label": info.unit.capitalize()})
    if info.previous_release_id:
        cols.append({"key": "previous", "label": "Previous release"})
        cols.append({"key": "change", "label": "Change"})
    for v in info.spec.get("values", []):
        cols.append({"key": str(v["column"]), "label": str(v["label"])})
    rate = info.spec.get("rate")
    if rate:
        cols += [
            {"key": "denominator", "label": "Denominator"},
            {"key": "rate", "label": str(rate["label"])},
            {"key": "rate_low", "label": "95% CI lower"},
            {"key": "rate_high", "label": "95% CI upper"},
            {"key": "rate_ratio", "label": "Ratio to all"},
        ]
    return cols


def _rate(count: Cell, den: float | None, per: int) -> tuple[Any, Any, Any]:
    if den is None or den <= 0:
        return None, None, None
    if count == SUPPRESSED or not isinstance(count, int):
        return SUPPRESSED, SUPPRESSED, SUPPRESSED
    lo, hi = wilson_interval(min(count, int(den)), den)
    return round(count / den * per, 2), round(lo * per, 2), round(hi * per, 2)


def protect_answer(
    answer: Answer,
    tier: Tier,
    *,
    policy: DisclosurePolicy | None = None,
    scope: SourceScope | None = None,
) -> dict[str, Any]:
    """Exactly what of ``answer`` may leave the store for ``tier``, JSON-ready.

    Raises :class:`~joinedup.insight.QuestionError` when the tier may not see it.
    """
    tier = Tier(tier)
    info = answer.question
    _check_tier(info, tier, scope)
    policy = policy or policy_for(tier)
    now = _protect_counts(answer, _get(answer, "units"), policy)
    has_prev = info.previous_release_id is not None
    before = _protect_counts(answer, _get(answer, "previous"), policy) if has_prev else {}
    rate = info.spec.get("rate")
    per = int(rate["per"]) if rate else 1
    values = [str(v["column"]) for v in info.spec.get("values", [])]

    def row(key: Key) -> dict[str, Any]:
        s, c = key
        cell = answer.cells.get(key)
        count = now[key]
        out: dict[str, Any] = {}
        if info.split:
            out["split"] = TOTAL if s is None else s
        if answer.breakdown:
            out["category"] = TOTAL if c is None else c
        out["count"] = count
        out["total"] = s is None or (bool(answer.breakdown) and c is None)
        if has_prev:
            prev = before[key]
            out["previous"] = prev
            both = isinstance(count, int) and isinstance(prev, int)
            out["change"] = count - prev if both else SUPPRESSED  # type: ignore[operator]
        shown = isinstance(count, int) and count > 0
        for v in values:
            x = cell.values.get(v) if cell is not None and shown else None
            out[v] = None if x is None else round(float(x), 1)
        if rate:
            den = cell.denominator if cell is not None else None
            out["denominator"] = None if den is None else round(den)
            out["rate"], out["rate_low"], out["rate_high"] = _rate(count, den, per)
            out["rate_ratio"] = None
        return out

    keys: list[Key] = []
    splits: list[str | None] = [*answer.splits, None] if answer.splits else [None]
    cats: list[str | None] = [*answer.categories, None] if answer.breakdown else [None]
    for s in splits:
        for c in cats:
            if answer.breakdown and answer.splits and s is None and c is not None:
                continue  # the margin across overlapping cohorts is not shown per category
            keys.append((s, c))
    rows = [row(k) for k in keys]
    if rate:
        _ratios(rows, bool(info.split), bool(answer.breakdown))
    return {
        "tier": tier.value,
        "release_id": answer.release_id,
        "previous_release_id": info.previous_release_id,
        "question": {
            "id": info.id,
            "question": info.question,
            "definition": info.definition,
            "unit": info.unit,
            "caveats": list(info.caveats),
            "depends_on": list(info.depends_on),
            "sources": list(info.sources),
            "origin": info.origin,
            "breakdowns": dict(info.breakdowns),
        },
        "breakdown": answer.breakdown or None,
        "columns": _columns(answer),
        "rows": rows,
        "disclosure": {
            "threshold": policy.threshold,
            "rounding_base": policy.rounding_base,
            "suppressed": SUPPRESSED,
            "footnote": suppression_footnote(policy),
        },
        "scope": None if scope is None else scope.as_dict(),
    }


def _ratios(rows: list[dict[str, Any]], split: bool, breakdown: bool) -> None:
    """Each row's rate over its reference row's rate (its split's total, or the total)."""
    ref: dict[Any, Any] = {}
    for r in rows:
        if breakdown and r.get("category") == TOTAL:
            ref[r.get("split") if split else None] = r["rate"]
        elif not breakdown and (not split or r.get("split") == TOTAL):
            ref[None] = r["rate"]
    for r in rows:
        base = ref.get(r.get("split") if split and breakdown else None)
        if isinstance(r["rate"], float | int) and isinstance(base, float | int) and base > 0:
            r["rate_ratio"] = round(r["rate"] / base, 2)
        elif r["rate"] == SUPPRESSED:
            r["rate_ratio"] = SUPPRESSED


def answer_rows(protected: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """(column labels, rows of values) of a protected answer, for tables and CSV."""
    cols = protected["columns"]
    return [c["label"] for c in cols], [[r.get(c["key"]) for c in cols] for r in protected["rows"]]


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "|")


def csv_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula: text starting with
    = + - @ | or a tab or carriage return gets a leading apostrophe. Numbers pass."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def answer_csv(protected: dict[str, Any]) -> str:
    """The answer as CSV: a header row, then the rows; formula injection neutralised."""
    labels, rows = answer_rows(protected)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([csv_safe(x) for x in labels])
    for r in rows:
        w.writerow(["" if x is None else csv_safe(x) for x in r])
    return buf.getvalue()


_open = open_release_connection


def _no_answers(handle: ReleaseLike) -> ReleaseError:
    return ReleaseError(
        f"Release {handle.release_id} holds no answers to questions: it was built by an "
        "older joinedup. Run `joinedup build DIR` to rebuild it."
    )


@per_release
def current_answer(
    partnership_dir: Path,
    question_id: str,
    *,
    by: str | None = None,
    tier: Tier = Tier.STRATEGIC,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """One answer from the partnership's current release, protected for ``tier``."""
    tier = Tier(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    handle, con = _open(partnership_dir, open_release)
    try:
        answer = read_answer(con, question_id, by=by)
    except duckdb.CatalogException as exc:
        raise _no_answers(handle) from exc
    finally:
        con.close()
    return protect_answer(answer, tier, policy=policy, scope=scope)


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
    return {
        "tier": tier.value,
        "release_id": handle.release_id,
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
    con: duckdb.DuckDBPyConnection, sources: tuple[str, ...], tier: Tier
) -> list[dict[str, Any]]:
    """The sources a question draws on, with their key quality measures as percentages
    (strategic and operational tiers; the community tier gets the list only)."""
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
                    "percent": None if (dim, name) not in got else round(100 * got[(dim, name)], 1),
                }
                for dim, name, label in QUALITY_MEASURES
            ]
            lag = got.get(_LAG)
            entry["extract_lag_days"] = None if lag is None else float(round(lag))
        out.append(entry)
    return out


@per_release
def current_question(
    partnership_dir: Path,
    question_id: str,
    *,
    by: str | None = None,
    tier: Tier = Tier.STRATEGIC,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """One question for a page: its answer protected for ``tier`` (exactly what
    :func:`current_answer` gives) and the quality of the sources it draws on.

    Raises :class:`QuestionNotFound` for an unknown id, :class:`QuestionRefused` when
    the tier may not see it, and :class:`~joinedup.insight.QuestionError` for an unknown
    breakdown.
    """
    tier = Tier(tier)
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
            _check_tier(info, tier, scope)
        except QuestionError as exc:
            raise QuestionRefused(str(exc), tiers=info.tiers) from None
        answer = read_answer(con, question_id, by=by)
        sources = _source_quality(con, info.sources, tier)
    except duckdb.CatalogException as exc:
        raise _no_answers(handle) from exc
    finally:
        con.close()
    return {
        "answer": protect_answer(answer, tier, policy=policy, scope=scope),
        "sources": sources,
        "quality_measures_shown": tier in _QUALITY_TIERS,
    }


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
