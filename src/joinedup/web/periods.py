"""The period and crossed breakdowns a question page is asked for (issue 14): query
parameters ``?by=`` (twice to cross two), ``?period=default|all`` and ``?from=&to=``
(whole months), and the links and form state that carry them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import StringConstraints

__all__ = [
    "ByList",
    "DateQuery",
    "FromQuery",
    "NO_BREAKDOWN",
    "PeriodQuery",
    "by_query",
    "cross_choices",
    "period_asked",
    "period_choice",
    "when_query",
]

#: ``?by=`` value for the total only.
NO_BREAKDOWN = "none"

#: ``?by=`` given twice crosses two breakdowns (issue 14).
ByList = Annotated[
    list[Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]] | None,
    Query(description="A breakdown, 'none' for the total only; twice to cross two"),
]
DateQuery = Annotated[str | None, Query(alias="to", max_length=10, pattern=r"^[0-9-]*$")]
FromQuery = Annotated[str | None, Query(alias="from", max_length=10, pattern=r"^[0-9-]*$")]
PeriodQuery = Annotated[str | None, Query(max_length=16, pattern=r"^(default|all)?$")]


def by_query(chosen: str | None) -> str:
    return "&".join(f"by={b}" for b in (chosen or NO_BREAKDOWN).split(","))


def period_asked(start: str | None, end: str | None, period: str | None) -> dict[str, str | None]:
    """The period asked for, as ``current_question`` takes it: a standard period chosen
    on the form wins over dates left in its boxes."""
    if period:
        return {"start": None, "end": None, "period": period}
    return {"start": start or None, "end": end or None, "period": None}


def when_query(when: dict[str, str | None]) -> str:
    names = {"start": "from", "end": "to", "period": "period"}
    return "&".join(f"{names[k]}={v}" for k, v in when.items() if v)


def period_choice(shown: dict[str, Any], when: dict[str, str | None]) -> dict[str, Any]:
    """The period form's state: which choice is selected and the dates typed."""
    custom = bool(when.get("start") or when.get("end"))
    return {
        "selected": "custom" if custom else (when.get("period") or "default"),
        "from": when.get("start") or "",
        "to": when.get("end") or "",
        "label": shown.get("label"),
    }


def cross_choices(breakdowns: dict[str, str], crossed: list[str]) -> list[dict[str, Any]]:
    """The "and by" choices of the breakdown form: every breakdown, the second of a
    crossed answer selected."""
    second = crossed[1] if len(crossed) == 2 else None
    return [{"value": k, "label": v, "selected": k == second} for k, v in breakdowns.items()]
