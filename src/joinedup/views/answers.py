"""One question's answer as each tier may see it, and its table and CSV forms.

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
  (:func:`~joinedup.views.questions.current_units`); a caller that shows them must write
  the view to the audit log.

:func:`answer_rows` and :func:`answer_csv` lay a protected answer out as a table; CSV
cells that a spreadsheet would run as a formula are neutralised (:func:`csv_safe`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from joinedup.config.purposes import purpose_label, question_purpose
from joinedup.disclosure import (
    SUPPRESSED,
    Cell,
    DisclosurePolicy,
    Relation,
    SourceScope,
    Tier,
    policy_for,
    suppression_footnote,
)
from joinedup.disclosure.cube import protect_with
from joinedup.insight import Answer, QuestionError, QuestionInfo
from joinedup.insight.periods import SERIES, SourceSpan, history_text, incomplete
from joinedup.views.cellkey import ON_REQUEST_NOTE, disclosure_dict, perturb_answer, uses_cell_key

__all__ = [
    "ON_REQUEST_ROUNDING",
    "TOTAL",
    "answer_csv",
    "answer_policy",
    "answer_rows",
    "check_tier",
    "csv_safe",
    "incomplete_reason",
    "period_facts",
    "protect_answer",
    "protect_counts",
    "question_facts",
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


def check_tier(info: QuestionInfo, tier: Tier, scope: SourceScope | None) -> None:
    """Refuse a question the tier may not see, or whose sources its agreements leave out."""
    if tier.value not in info.tiers:
        raise QuestionError(
            f"Question '{info.id}' is not available at the {tier.value} tier; it may be seen "
            f"at: {', '.join(info.tiers)}."
        )
    if scope is not None:
        blocked = sorted(set(info.sources) & scope.excluded_ids)
        if blocked:
            names = {
                x.source: f"{x.dataset} ({x.source})" if x.dataset else x.source
                for x in scope.excluded
            }
            datasets = "; ".join(dict.fromkeys(names.get(b, b) for b in blocked))
            why = {x.source: x.reason for x in scope.excluded}
            at = f"at the {tier.value} tier"
            if all(why.get(b) == "purpose" for b in blocked):  # issue 19
                at = "for " + purpose_label(scope.purpose or "").lower()
            raise QuestionError(
                f'"{info.question}" draws on {datasets}, which the sharing agreements '
                f"do not permit {at}."
            )


Key = tuple[str | None, str | None]


def _one_way(
    counts: dict[Key, int], total: tuple[Key, int], policy: DisclosurePolicy, hide: set[Key]
) -> tuple[dict[Key, Cell], Cell]:
    marker: Key = ("\x00total", "\x00total")
    values: dict[Key, int] = {**counts, marker: total[1]}
    hidden = {k for k in hide if k in counts} | ({marker} if total[0] in hide else set())
    out = protect_with(values, [Relation(marker, tuple(counts))], policy, hide=hidden)
    published = out.pop(marker)
    return out, published


def protect_counts(
    answer: Answer,
    get: Callable[[Key], int],
    policy: DisclosurePolicy,
    *,
    small_change: bool = True,
) -> dict[Key, Cell]:
    """An answer's counts as published: the table with its total protected together.
    With ``small_change``, a default-period count that is fewer than the all-time count
    by 1 to the threshold is hidden too (so that the two standard periods cannot be
    compared to count a few units)."""
    hide = {
        key
        for key, cell in answer.cells.items()
        if small_change and cell.diff is not None and policy.is_small(cell.diff)
    }
    splits, cats = list(answer.splits), list(answer.categories)
    if splits and cats:
        # Split cohorts may overlap (a child with a concern is also one of "all
        # children"), so only each cohort's row is a table with a total; the margins
        # across cohorts are not shown. Each row is protected with its total, then the
        # row totals with the grand total.
        out: dict[Key, Cell] = {}
        for s in splits:
            row, row_total = _one_way(
                {(s, c): get((s, c)) for c in cats}, ((s, None), get((s, None))), policy, hide
            )
            out.update(row)
            out[(s, None)] = row_total
        shown, grand = _one_way(
            {(s, None): get((s, None)) for s in splits},
            ((None, None), get((None, None))),
            policy,
            hide,
        )
        for key, v in shown.items():
            if v == SUPPRESSED:
                out[key] = SUPPRESSED
        out[(None, None)] = grand
        return out
    if splits or cats:
        keys: list[Key] = [(s, None) for s in splits] or [(None, c) for c in cats]
        cells, total = _one_way(
            {k: get(k) for k in keys}, ((None, None), get((None, None))), policy, hide
        )
        return {**cells, (None, None): total}
    only: dict[Key, int] = {(None, None): get((None, None))}
    return protect_with(only, [], policy, hide=hide)


#: Counts of a period counted on request are rounded to at least this base, so that
#: comparing two chosen periods (or one with a standard period) cannot pin down a small
#: number: the difference of two rounded counts leaves five or more possible values.
ON_REQUEST_ROUNDING = 5


def answer_policy(answer: Answer, policy: DisclosurePolicy) -> DisclosurePolicy:
    """The policy an answer is published under: the tier's, rounded to at least
    :data:`ON_REQUEST_ROUNDING` for a period counted on request."""
    if answer.stored:
        return policy
    return replace(policy, rounding_base=max(policy.rounding_base or 1, ON_REQUEST_ROUNDING))


def period_facts(
    answer: Answer, spans: Sequence[SourceSpan] = ()
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The period an answer is for, as JSON, and the history each source it draws on
    holds ("police data from October 2023 to October 2026")."""
    period = answer.period
    note = None
    if not answer.dated:
        note = (
            "This question's records carry no date, so it counts all the history in the "
            "release whatever period is chosen."
        )
    elif not answer.stored:
        note = (
            "Counted on request for this period, and rounded to the nearest "
            f"{ON_REQUEST_ROUNDING} so that comparing two periods cannot give a small number "
            "away; there is no comparison with the previous release."
        )
    facts = {
        **period.as_dict(),
        "stored": answer.stored,
        "dated": answer.dated,
        "reference_date": None
        if answer.reference_date is None
        else answer.reference_date.isoformat(),
        "note": note,
    }
    mine = set(answer.question.sources)
    history = [
        {
            "source": sp.source,
            "agency": sp.agency,
            "dataset": sp.dataset,
            "first_event": None if sp.first is None else sp.first.isoformat(),
            "last_event": None if sp.last is None else sp.last.isoformat(),
            "text": history_text(sp),
        }
        for sp in spans
        if sp.source in mine
    ]
    return facts, history


def incomplete_reason(
    answer: Answer, breakdown: str, category: str | None, spans: Sequence[SourceSpan]
) -> str | None:
    """Why a month or quarter of a series is incomplete (None when it is not a series,
    or complete)."""
    if breakdown not in SERIES or category is None or answer.reference_date is None:
        return None
    mine = [sp for sp in spans if sp.source in set(answer.question.sources)]
    return incomplete(
        breakdown, category, reference=answer.reference_date, period=answer.period, spans=mine
    )


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
    if info.previous_release_id and answer.stored:
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


def question_facts(info: QuestionInfo) -> dict[str, Any]:
    """What a protected answer says about its question (the same for every answer)."""
    return {
        "id": info.id,
        "question": info.question,
        "definition": info.definition,
        "unit": info.unit,
        "caveats": list(info.caveats),
        "depends_on": list(info.depends_on),
        "sources": list(info.sources),
        "origin": info.origin,
        "breakdowns": dict(info.breakdowns),
        # issue 21: what the figure is for and which decision or board it informs
        "aim": info.spec.get("aim"),
        "informs": info.spec.get("informs"),
    }


def protect_answer(
    answer: Answer,
    tier: Tier,
    *,
    policy: DisclosurePolicy | None = None,
    scope: SourceScope | None = None,
    spans: Sequence[SourceSpan] = (),
) -> dict[str, Any]:
    """Exactly what of ``answer`` may leave the store for ``tier``, JSON-ready, with the
    period it is for and the history of each source it draws on (``spans``).

    Raises :class:`~joinedup.insight.QuestionError` when the tier may not see it.
    """
    tier = Tier(tier)
    info = answer.question
    if scope is not None:  # issue 19: the question's purpose binds its sources
        scope = scope.for_purpose(question_purpose(info.spec.get("purpose"), info.unit, info.tiers))
    check_tier(info, tier, scope)
    policy = answer_policy(answer, policy or policy_for(tier))
    has_prev = info.previous_release_id is not None and answer.stored
    keyed = uses_cell_key(policy, answer.cells.values())  # issue 19: cell key perturbation
    if keyed:
        now = perturb_answer(answer, policy)
        before = perturb_answer(answer, policy, previous=True) if has_prev else {}
    else:
        now = protect_counts(answer, _get(answer, "units"), policy)
        before = (
            protect_counts(answer, _get(answer, "previous"), policy, small_change=False)
            if has_prev
            else {}
        )
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
        if answer.breakdown in SERIES:
            out["incomplete"] = incomplete_reason(answer, answer.breakdown, c, spans)
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
    period, history = period_facts(answer, spans)
    columns = _columns(answer)
    if keyed and period["note"] and period["dated"] and not period["stored"]:
        period["note"] = ON_REQUEST_NOTE
    if answer.breakdown in SERIES:
        columns.append({"key": "incomplete", "label": "Incomplete period"})
    return {
        "tier": tier.value,
        "release_id": answer.release_id,
        "previous_release_id": info.previous_release_id if has_prev else None,
        "period": period,
        "history": history,
        "question": question_facts(info),
        "breakdown": answer.breakdown or None,
        "by": [answer.breakdown] if answer.breakdown else [],
        "columns": columns,
        "rows": rows,
        "disclosure": disclosure_dict(policy, suppression_footnote(policy), keyed=keyed),
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
