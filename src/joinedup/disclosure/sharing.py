"""Sharing agreements at each tier: a source whose agreement does not list a tier
contributes nothing there, and every output says so.

:func:`source_scope` decides which sources a tier may draw on (from partnership.yaml's
agreements); :func:`scope_release` narrows a release connection to them with temporary
views of the same names, so the figures computed on it never count excluded data.
Tables with a ``source`` column keep only permitted sources' rows; events, exploitation
types and persons keep only those that a permitted record reaches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.config.purposes import DEFAULT_TIER_PURPOSE, purpose_label
from joinedup.disclosure.tiers import Tier

__all__ = ["ExcludedSource", "SourceScope", "scope_release", "scope_views_sql", "source_scope"]

_AGENCY_WORDS = {
    "police": "police",
    "childrens_social_care": "children's social care",
    "adult_social_care": "adult social care",
    "health": "health",
    "education": "education",
    "youth_justice": "youth justice",
    "voluntary": "voluntary sector",
    "other": "other agencies'",
}


@dataclass(frozen=True)
class ExcludedSource:
    source: str
    agency: str
    agency_type: str
    dataset: str
    agreement: str
    reason: str = "tier"  # issue 19: or "purpose" (the agreement does not permit it)


@dataclass(frozen=True)
class SourceScope:
    """The sources a tier may draw on; ``excluded`` are left out by their agreements."""

    tier: Tier
    excluded: tuple[ExcludedSource, ...] = field(default_factory=tuple)
    # issue 19, purposes that bind: the output's purpose, and each source the tier permits
    # whose agreement lists permitted purposes, with them (for :meth:`for_purpose`)
    purpose: str | None = None
    limits: tuple[tuple[ExcludedSource, frozenset[str]], ...] = field(default_factory=tuple)

    @property
    def excluded_ids(self) -> frozenset[str]:
        return frozenset(e.source for e in self.excluded)

    def for_purpose(self, purpose: str | None) -> SourceScope:
        """The scope of the same tier for an output serving ``purpose``."""
        if purpose is None or purpose == self.purpose:
            return self
        kept = tuple(e for e in self.excluded if e.reason != "purpose")
        out = tuple(replace(e, reason="purpose") for e, ok in self.limits if purpose not in ok)
        return replace(self, excluded=kept + out, purpose=purpose)

    @property
    def note(self) -> str | None:
        """Plain words for the page: "Figures at this tier exclude health data ..."
        (and, for sources left out by purpose, "Figures for disruption exclude ...")."""
        notes = []
        for reason in ("tier", "purpose"):
            if found := [e for e in self.excluded if e.reason == reason]:
                kinds = sorted({_AGENCY_WORDS.get(e.agency_type, e.agency_type) for e in found})
                words = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
                sets = "; ".join(f"{e.dataset} ({e.source})" for e in found)
                what = purpose_label(self.purpose or "").lower()
                at, use = (f"at the {self.tier.value} tier", "at this tier")
                at, use = (at, use) if reason == "tier" else (f"for {what}", f"for {what}")
                notes.append(
                    f"Figures {at} exclude {words} data: the sharing "
                    f"agreements for {sets} do not permit its use {use}."
                )
        return " ".join(notes) or None

    def as_dict(self) -> dict[str, Any]:
        return {
            "note": self.note,
            "purpose": self.purpose,
            "sources": [
                {"source": e.source, "agency": e.agency, "dataset": e.dataset}
                for e in self.excluded
            ],
            "by_purpose": [e.source for e in self.excluded if e.reason == "purpose"],
        }


def source_scope(
    config: PartnershipConfig | None, tier: Tier, purpose: str | None = None
) -> SourceScope:
    """The scope of ``tier`` under the partnership's agreements (none excluded without a
    configuration), for an output serving ``purpose`` (default: the tier's, e.g.
    strategic needs assessment at the strategic tier; issue 19)."""
    tier = Tier(tier)
    if config is None:
        return SourceScope(tier)
    permitted = set(config.sources_for_tier(tier.value))
    types = {a.id: a.type for a in config.agencies}
    agreements = {a.key: a for a in config.sharing_agreements}
    excluded, limits = [], []
    for s in config.sources:
        e = ExcludedSource(
            s.id, s.agency, types.get(s.agency, "other"), s.dataset, s.sharing_agreement
        )
        if s.id not in permitted:
            excluded.append(e)
        elif (
            ok := getattr(agreements.get(s.sharing_agreement), "permitted_purposes", None)
        ) is not None:
            limits.append((e, frozenset(ok)))
    base = SourceScope(tier, tuple(excluded), limits=tuple(limits))
    return base.for_purpose(purpose or DEFAULT_TIER_PURPOSE[tier.value])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Person-level tables without a source column, and the column naming the person.
_PERSON_TABLES = {"person": "person_id", "person_agency": "person_id", "journey_step": "person_id"}


def scope_views_sql(
    database: str, columns: Mapping[str, Sequence[str]], excluded: Iterable[str]
) -> list[str]:
    """Temporary views that hide excluded sources' rows from ``database``'s tables.

    ``columns`` maps each table in the release to its column names.
    """
    out = sorted(set(excluded))
    if not out:
        return []
    banned = "(" + ", ".join(_lit(s) for s in out) + ")"
    db = _q(database)
    sql: list[str] = []

    def view(table: str, where: str) -> None:
        sql.append(
            f"CREATE OR REPLACE TEMP VIEW {_q(table)} AS "
            f"SELECT * FROM {db}.main.{_q(table)} WHERE {where}"
        )

    for table, cols in columns.items():
        if "source" in cols:
            view(table, f"source IS NULL OR source NOT IN {banned}")
    if "event_exploitation" in columns and "event_person" in columns:
        view(
            "event_exploitation",
            "event_id IN (SELECT event_id FROM event_person WHERE source NOT IN " + banned + ")",
        )
    if "record_person" in columns:
        for table, col in _PERSON_TABLES.items():
            if table in columns and col in columns[table]:
                view(
                    table,
                    f"{_q(col)} IN (SELECT person_id FROM record_person "
                    f"WHERE source NOT IN {banned})",
                )
    return sql


def scope_release(con: duckdb.DuckDBPyConnection, scope: SourceScope) -> None:
    """Narrow an open release connection to the sources ``scope`` permits."""
    if not scope.excluded:
        return
    database = con.execute("SELECT current_database()").fetchone()
    assert database is not None
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    for statement in scope_views_sql(str(database[0]), columns, scope.excluded_ids):
        con.execute(statement)
