"""Clerical review decisions on record pairs: ``State.link_decisions``.

A pair of records is stored in one canonical order, so (a, b) and (b, a) are one pair.
Every decision is kept (who decided what, when and why); the latest on a pair wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from joinedup.state.tables import link_decision

__all__ = ["Decision", "LinkDecision", "LinkDecisions", "RecordKey"]

Decision = Literal["match", "non_match"]
RecordKey = tuple[str, str]  # (source, source_record_id)


@dataclass(frozen=True)
class LinkDecision:
    """The latest decision on one pair; ``left`` sorts before ``right``."""

    left: RecordKey
    right: RecordKey
    decision: Decision
    decided_by: str
    decided_at: dt.datetime
    reason: str | None = None


def canonical_pair(a: RecordKey, b: RecordKey) -> tuple[RecordKey, RecordKey]:
    return (a, b) if a <= b else (b, a)


def _key(value: object, name: str) -> RecordKey:
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or not all(isinstance(part, str) and part for part in value)
    ):
        raise ValueError(f"{name} must be a (source, source_record_id) pair of non-empty text")
    return (value[0], value[1])


class LinkDecisions:
    """Review decisions; reached as ``State.link_decisions``."""

    def __init__(
        self,
        session: Callable[[], AbstractContextManager[Session]],
        *,
        read: Callable[[], AbstractContextManager[Session]] | None = None,
    ) -> None:
        self._session = session
        self._read = read or session  # a session that only reads (State.read)

    def record(
        self,
        *,
        left: RecordKey,
        right: RecordKey,
        decision: Decision,
        decided_by: str,
        reason: str | None = None,
        decided_at: dt.datetime | None = None,
    ) -> None:
        """Keep a decision that two records are (``match``) or are not the same person."""
        a, b = canonical_pair(_key(left, "left"), _key(right, "right"))
        if a == b:
            raise ValueError("a record cannot be paired with itself")
        if decision not in get_args(Decision):
            raise ValueError("decision must be 'match' or 'non_match'")
        if not decided_by:
            raise ValueError("decided_by must name who decided")
        with self._session() as s:
            s.execute(
                insert(link_decision).values(
                    left_source=a[0],
                    left_record=a[1],
                    right_source=b[0],
                    right_record=b[1],
                    decision=decision,
                    decided_by=decided_by,
                    decided_at=decided_at or dt.datetime.now(dt.UTC),
                    reason=reason,
                )
            )

    def all(self) -> list[LinkDecision]:
        """The latest decision on every pair, sorted by pair."""
        t = link_decision
        latest = (
            select(func.max(t.c.id).label("id"))
            .group_by(t.c.left_source, t.c.left_record, t.c.right_source, t.c.right_record)
            .subquery()
        )
        query = (
            select(t)
            .join(latest, latest.c.id == t.c.id)
            .order_by(t.c.left_source, t.c.left_record, t.c.right_source, t.c.right_record)
        )
        return [self._row(r) for r in self._rows(query)]

    def history(self, left: RecordKey, right: RecordKey) -> list[LinkDecision]:
        """Every decision on one pair, oldest first."""
        a, b = canonical_pair(_key(left, "left"), _key(right, "right"))
        t = link_decision
        query = (
            select(t)
            .where(
                t.c.left_source == a[0],
                t.c.left_record == a[1],
                t.c.right_source == b[0],
                t.c.right_record == b[1],
            )
            .order_by(t.c.id)
        )
        return [self._row(r) for r in self._rows(query)]

    def _rows(self, query: object) -> list[object]:
        with self._read() as s:
            return list(s.execute(query).all())  # type: ignore[call-overload]

    @staticmethod
    def _row(r: object) -> LinkDecision:
        m = r._mapping  # type: ignore[attr-defined]
        return LinkDecision(
            left=(m["left_source"], m["left_record"]),
            right=(m["right_source"], m["right_record"]),
            decision=m["decision"],
            decided_by=m["decided_by"],
            decided_at=m["decided_at"],
            reason=m["reason"],
        )
