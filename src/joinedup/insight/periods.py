"""Periods: every answer is for a period of whole calendar months, or all time.

- The partnership's **default period** (``insight.default_period`` in partnership.yaml,
  e.g. ``12 months``) is the N whole months ending with the month of the release's
  reference date. It and **all time** are the *standard periods*, answered at build.
- Any other period (``--from``/``--to``, ``?from=&to=``) is counted on request from the
  question's stored unit rows, through the same disclosure control.
- A period is whole months so that two periods a day apart can never be compared to
  count what happened on that day. Two periods can still be compared: the views hide a
  default-period count that differs from the all-time one by a small number, and round
  every count of a period counted on request (``joinedup.views.answers``).
- A unit row counts in a bounded period when its event date is in it; rows without a date
  count only in all time. A question whose rows carry no date at all is answered for all
  time whatever the period asked (the answer says so).

Monthly and quarterly series mark their incomplete periods (:func:`incomplete`): those
that extend past the reference date, that the chosen period cuts, or that a source the
question draws on does not cover (its first or last event falls inside them).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from joinedup.insight.questions import QuestionError

__all__ = [
    "ALL_TIME",
    "MONTH",
    "QUARTER",
    "SERIES",
    "Period",
    "PeriodError",
    "SourceSpan",
    "custom_period",
    "default_period",
    "history_text",
    "incomplete",
    "month_add",
    "period_label",
    "series_bounds",
]

ALL_TIME = "all time"
#: The series breakdowns every dated question gets (unless it defines its own).
MONTH, QUARTER = "month", "quarter"
SERIES: dict[str, str] = {MONTH: "Month", QUARTER: "Quarter"}

_SPEC = re.compile(r"^([1-9][0-9]{0,2}) (month|months|year|years)$")


class PeriodError(QuestionError):
    """A period that cannot be answered: a bad date, or a start after the end."""


@dataclass(frozen=True)
class Period:
    """A period of whole months (``start`` the first day of a month, ``end`` the last of
    one); ``None`` on either side is open (from the first record, to the last).

    ``key`` is ``all`` or ``default`` for the standard periods, ``custom`` otherwise.
    """

    key: str
    start: dt.date | None
    end: dt.date | None
    label: str

    @property
    def all_time(self) -> bool:
        return self.start is None and self.end is None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "key": self.key,
            "from": None if self.start is None else self.start.isoformat(),
            "to": None if self.end is None else self.end.isoformat(),
            "label": self.label,
        }


@dataclass(frozen=True)
class SourceSpan:
    """The history one extract covers: its first and last event dates."""

    source: str
    agency: str
    dataset: str
    first: dt.date | None
    last: dt.date | None
    events: int


def month_add(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_end(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def _month_name(day: dt.date) -> str:
    return f"{calendar.month_name[day.month]} {day.year}"


def period_label(start: dt.date | None, end: dt.date | None) -> str:
    """How a period reads: "November 2025 to October 2026", "all time", ..."""
    if start is None and end is None:
        return ALL_TIME
    if start is None:
        assert end is not None
        return f"up to {_month_name(end)}"
    if end is None:
        return f"from {_month_name(start)}"
    if (start.year, start.month) == (end.year, end.month):
        return _month_name(start)
    return f"{_month_name(start)} to {_month_name(end)}"


def default_period(spec: str, reference: dt.date) -> Period:
    """The partnership's default period: ``spec`` months (or years) ending with the
    reference date's month, or all time."""
    spec = spec.strip().lower()
    if spec == ALL_TIME:
        return Period("all", None, None, ALL_TIME)
    found = _SPEC.match(spec)
    if found is None:
        raise PeriodError(
            f"insight.default_period '{spec}' is not a period; write 'N months', "
            "'N years' or 'all time' (docs/configuration.md)."
        )
    n = int(found.group(1)) * (12 if found.group(2).startswith("year") else 1)
    end = _month_end(reference)
    start = month_add(reference, 1 - n)
    return Period("default", start, end, f"{spec} to {reference.strftime('%-d %B %Y')}")


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(
            f"{option} '{text[:20]}' is not a date; write it as YYYY-MM-DD (e.g. 2025-01-01)."
        ) from None


def custom_period(
    start: str | dt.date | None,
    end: str | dt.date | None,
    *,
    names: tuple[str, str] = ("--from", "--to"),
) -> Period:
    """A period chosen by a reader. Both ends are whole months: ``start`` the first day
    of a month, ``end`` the last; ``names`` are what the caller calls the two bounds,
    used in error messages."""
    a = _date(start, names[0]) if isinstance(start, str) else start
    b = _date(end, names[1]) if isinstance(end, str) else end
    if a is not None and a.day != 1:
        raise PeriodError(
            f"{names[0]} {a.isoformat()} is not the first day of a month: periods are whole "
            "months, so that figures cannot be worked out for a few days by comparing two "
            f"periods. Use {names[0]} {a.replace(day=1).isoformat()}."
        )
    if b is not None and b != _month_end(b):
        raise PeriodError(
            f"{names[1]} {b.isoformat()} is not the last day of a month: periods are whole "
            "months, so that figures cannot be worked out for a few days by comparing two "
            f"periods. Use {names[1]} {_month_end(b).isoformat()}."
        )
    if a is not None and b is not None and a > b:
        raise PeriodError(
            f"{names[0]} {a.isoformat()} is later than {names[1]} {b.isoformat()}; give a "
            f"{names[0]} on or before {names[1]}."
        )
    return Period("custom", a, b, period_label(a, b))


def series_bounds(kind: str, label: str) -> tuple[dt.date, dt.date] | None:
    """First and last day of a month ("2026-01") or quarter ("2026 Q1") label."""
    try:
        if kind == MONTH:
            start = dt.date(int(label[:4]), int(label[5:7]), 1)
        elif kind == QUARTER:
            q = int(label.split("Q")[1])
            start = dt.date(int(label[:4]), 3 * q - 2, 1)
        else:
            return None
    except (ValueError, IndexError):
        return None
    end = _month_end(month_add(start, 2 if kind == QUARTER else 0))
    return start, end


def incomplete(
    kind: str,
    label: str,
    *,
    reference: dt.date,
    period: Period,
    spans: list[SourceSpan],
) -> str | None:
    """Why a month or quarter of a series is incomplete, or None when it is complete."""
    bounds = series_bounds(kind, label)
    if bounds is None:
        return None
    start, end = bounds
    if end > reference:
        return f"it runs past the reference date ({reference.strftime('%-d %B %Y')})"
    if (period.start and start < period.start) or (period.end and end > period.end):
        return "the period chosen covers only part of it"
    short = sorted(
        s.dataset or s.source
        for s in spans
        if s.first is not None and s.last is not None and (s.first > start or s.last < end)
    )
    if short:
        return "not every extract covers all of it: " + ", ".join(short)
    return None


def history_text(span: SourceSpan) -> str:
    """What history an extract holds: "police crimes data from October 2023 to October
    2026"."""
    name = span.dataset or span.source
    if span.first is None or span.last is None:
        return f"{name}: no dated events"
    return f"{name} data from {_month_name(span.first)} to {_month_name(span.last)}"
