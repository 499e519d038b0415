"""Agencies' data maturity self-assessments, kept with their history (issue 21; migration
0004).

An assessment is one agency's answers to one version of the questionnaire
(``joinedup.taxonomy.maturity``): a level from 1 to 5 on each of the six dimensions, with
optional evidence in the data lead's words, submitted by a user of that agency. Nothing is
overwritten: a new submission is a new assessment, so the board sees change over time.
No child is named here; the text fields are about an agency's data, and are capped.

    assessments = SelfAssessments(state.session)
    assessments.submit(agency="police", levels={...}, submitted_by="dl1", version="2026.1")
    assessments.latest("police")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.orm import Session

from joinedup.errors import JoinedupError
from joinedup.state.tables import UTCDateTime, metadata

__all__ = [
    "Assessment",
    "MaturityError",
    "SelfAssessments",
    "maturity_answer",
    "maturity_assessment",
]

#: How long evidence and notes may be (characters).
TEXT_LIMIT = 1000

maturity_assessment = Table(
    "maturity_assessment",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agency", String(64), nullable=False),
    Column("version", String(16), nullable=False),
    Column("submitted_by", String(128), nullable=False),
    Column("submitted_at", UTCDateTime(), nullable=False),
    Column("note", Text, nullable=True),
    Index("ix_maturity_assessment_agency", "agency", "submitted_at"),
)

maturity_answer = Table(
    "maturity_answer",
    metadata,
    Column(
        "assessment_id",
        Integer,
        ForeignKey("maturity_assessment.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("dimension", String(32), primary_key=True),
    Column("level", Integer, nullable=False),
    Column("evidence", Text, nullable=True),
)


class MaturityError(JoinedupError):
    """A self-assessment cannot be recorded as given; the message says how to fix it."""


@dataclass(frozen=True)
class Assessment:
    """One submitted self-assessment."""

    id: int
    agency: str
    version: str
    submitted_by: str
    submitted_at: dt.datetime
    levels: dict[str, int]
    evidence: dict[str, str]
    note: str | None


def _text(value: str | None, what: str) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > TEXT_LIMIT:
        raise MaturityError(f"The {what} is {len(text)} characters; keep it to {TEXT_LIMIT}.")
    return text or None


class SelfAssessments:
    """The self-assessments of a partnership's agencies."""

    def __init__(self, session: Callable[[], AbstractContextManager[Session]]) -> None:
        self._session = session

    def submit(
        self,
        *,
        agency: str,
        levels: Mapping[str, int],
        submitted_by: str,
        version: str,
        dimensions: tuple[str, ...],
        evidence: Mapping[str, str | None] | None = None,
        note: str | None = None,
        now: dt.datetime | None = None,
    ) -> Assessment:
        """Record one agency's answers: a level 1 to 5 for every one of ``dimensions``.
        Every problem is reported at once."""
        problems = []
        for d in dimensions:
            value = levels.get(d)
            if value is None:
                problems.append(f"{d.replace('_', ' ')}: choose a level")
            elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                problems.append(f"{d.replace('_', ' ')}: the level must be 1 to 5")
        extra = sorted(set(levels) - set(dimensions))
        if extra:
            problems.append("not dimensions of the questionnaire: " + ", ".join(extra))
        if problems:
            raise MaturityError("The self-assessment is not complete: " + "; ".join(problems) + ".")
        notes = {d: _text((evidence or {}).get(d), f"evidence for {d}") for d in dimensions}
        when = now or dt.datetime.now(dt.UTC)
        with self._session() as s:
            aid = s.execute(
                insert(maturity_assessment)
                .values(
                    agency=agency,
                    version=version,
                    submitted_by=submitted_by,
                    submitted_at=when,
                    note=_text(note, "note"),
                )
                .returning(maturity_assessment.c.id)
            ).scalar_one()
            s.execute(
                insert(maturity_answer),
                [
                    {
                        "assessment_id": aid,
                        "dimension": d,
                        "level": int(levels[d]),
                        "evidence": notes[d],
                    }
                    for d in dimensions
                ],
            )
        found = self.history(agency)
        return next(a for a in found if a.id == aid)

    def history(self, agency: str | None = None) -> list[Assessment]:
        """Every assessment (of one agency, or all), oldest first."""
        q = select(maturity_assessment).order_by(
            maturity_assessment.c.submitted_at, maturity_assessment.c.id
        )
        if agency is not None:
            q = q.where(maturity_assessment.c.agency == agency)
        with self._session() as s:
            heads = s.execute(q).mappings().all()
            ids = [h["id"] for h in heads]
            answers = (
                s.execute(select(maturity_answer).where(maturity_answer.c.assessment_id.in_(ids)))
                .mappings()
                .all()
                if ids
                else []
            )
        by: dict[int, list[Any]] = {}
        for a in answers:
            by.setdefault(int(str(a["assessment_id"])), []).append(a)
        out = []
        for h in heads:
            mine = by.get(int(h["id"]), [])
            out.append(
                Assessment(
                    id=int(h["id"]),
                    agency=str(h["agency"]),
                    version=str(h["version"]),
                    submitted_by=str(h["submitted_by"]),
                    submitted_at=h["submitted_at"],
                    levels={str(a["dimension"]): int(str(a["level"])) for a in mine},
                    evidence={
                        str(a["dimension"]): str(a["evidence"]) for a in mine if a["evidence"]
                    },
                    note=h["note"],
                )
            )
        return out

    def latest(self, agency: str) -> Assessment | None:
        """The agency's newest assessment, or None before its first."""
        found = self.history(agency)
        return found[-1] if found else None

    def latest_by_agency(self) -> dict[str, Assessment]:
        """Each agency's newest assessment."""
        return {a.agency: a for a in self.history()}
