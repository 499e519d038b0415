"""The overview of a release: what went in, who is in it, and the headline counts.

Every figure here is raw: a count straight from the release, before disclosure control.
Nothing in this module may be shown to anyone as it is; ``joinedup.disclosure`` turns an
:class:`Overview` into what a tier may see.

The headline counts are of DISTINCT PERSONS, never of events. A person "has an
exploitation concern" when one of their records (``record_person``) is involved in an
event (``event_person``, any role) that has at least one exploitation type recorded
(``event_exploitation``). A person with concerns of two report groups is counted once in
each group and once in the total; a person is counted in exactly one local authority,
their home authority (``person.home_authority``), or under "Not known" when it is blank.

The ``*_sql`` functions build SQL and never run it; :func:`overview_figures` runs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from joinedup.insight.derived import age_sql, dob_sql, event_types_sql
from joinedup.insight.groups import REPORT_GROUPS, report_groups_for

__all__ = [
    "NOT_KNOWN",
    "Authority",
    "ConcernTable",
    "Overview",
    "ReleaseFacts",
    "SourceSummary",
    "authorities_sql",
    "children_first_located_sql",
    "concerns_sql",
    "exploitation_codes_sql",
    "overview_figures",
    "person_counts_sql",
    "release_info_sql",
    "sources_sql",
]

#: Label of the column for persons with no (or an unrecognised blank) home authority.
NOT_KNOWN = "Not known"


@dataclass(frozen=True)
class ReleaseFacts:
    release_id: str
    built_at: str
    partnership: str
    reference_date: str


@dataclass(frozen=True)
class SourceSummary:
    """One extract: counts of ROWS in the file, not of people."""

    source: str
    agency: str
    dataset: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    extracted_at: str | None


@dataclass(frozen=True)
class Authority:
    """A column of the headline table; ``code`` is None for "Not known"."""

    code: str | None
    name: str


@dataclass(frozen=True)
class ConcernTable:
    """Distinct persons with an exploitation concern, by report group and home authority.

    ``by_group`` sums ``cells`` across authorities (a person has one home authority);
    ``by_authority`` and ``total`` are counted directly and are NOT sums across groups,
    since a person may have concerns of several groups.
    """

    groups: tuple[str, ...]
    authorities: tuple[Authority, ...]
    cells: Mapping[tuple[str, str | None], int]
    by_group: Mapping[str, int]
    by_authority: Mapping[str | None, int]
    total: int


@dataclass(frozen=True)
class Overview:
    release: ReleaseFacts
    sources: tuple[SourceSummary, ...]
    persons: int
    children: int  # age under 18 at the reference date
    young_adults: int  # age 18 to 24 at the reference date
    concerns: ConcernTable = field(repr=False)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def release_info_sql() -> str:
    return "SELECT key, value FROM release_info"


def sources_sql() -> str:
    return (
        "SELECT source, agency, dataset, rows_read, rows_loaded, rows_quarantined,\n"
        "  CAST(extracted_at AS VARCHAR) AS extracted_at\n"
        "FROM source\n"
        "ORDER BY agency, source"
    )


def person_counts_sql() -> str:
    return (
        "SELECT count(*) AS persons,\n"
        "  count(*) FILTER (WHERE age < 18) AS children,\n"
        "  count(*) FILTER (WHERE age BETWEEN 18 AND 24) AS young_adults\n"
        "FROM person"
    )


def authorities_sql() -> str:
    return (
        "SELECT area_code, area_name FROM area\n"
        "WHERE area_type = 'authority'\n"
        "ORDER BY area_name, area_code"
    )


def exploitation_codes_sql() -> str:
    return (
        "SELECT DISTINCT exploitation_type FROM event_exploitation\n"
        "WHERE exploitation_type IS NOT NULL\n"
        "ORDER BY exploitation_type"
    )


def concerns_sql(groups: Mapping[str, str], *, roles: Sequence[str] | None = None) -> str:
    """Distinct persons with a concern by report group x home authority, with margins.

    ``groups`` maps each exploitation type code to its report group; codes missing from
    it count under "Other". ``roles`` limits the roles in ``event_person`` that count
    (default: every role). Rows: ``(all_groups, all_authorities, report_group,
    authority, persons)`` where the two flags are 1 on margin rows (grouping sets).
    """
    if groups:
        values = ", ".join(f"({_literal(c)}, {_literal(g)})" for c, g in sorted(groups.items()))
        mapping = f"SELECT * FROM (VALUES {values}) AS v(exploitation_type, report_group)"
    else:
        mapping = "SELECT NULL::VARCHAR AS exploitation_type, NULL::VARCHAR AS report_group LIMIT 0"
    role_filter = ""
    if roles is not None:
        role_filter = "\n  WHERE ep.role IN (" + ", ".join(_literal(r) for r in roles) + ")"
    return f"""WITH report_group AS ({mapping}),
concern AS (
  SELECT DISTINCT rp.person_id, COALESCE(g.report_group, 'Other') AS report_group
  FROM event_exploitation AS ee
  JOIN event_person AS ep ON ep.event_id = ee.event_id
  JOIN record_person AS rp
    ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
  LEFT JOIN report_group AS g ON g.exploitation_type = ee.exploitation_type{role_filter}
),
located AS (
  SELECT c.person_id, c.report_group, NULLIF(trim(p.home_authority), '') AS authority
  FROM concern AS c
  LEFT JOIN person AS p ON p.person_id = c.person_id
)
SELECT GROUPING(report_group) AS all_groups, GROUPING(authority) AS all_authorities,
  report_group, authority, count(DISTINCT person_id) AS persons
FROM located
GROUP BY GROUPING SETS ((report_group, authority), (report_group), (authority), ())"""


def children_first_concerns_sql(
    groups: Mapping[str, str], *, start: dt.date | None = None, end: dt.date | None = None
) -> str:
    """:func:`concerns_sql`'s rows, counting people the way the questions do.

    A person counts when recorded as the victim or subject of a concern event at any
    age, or in any role but witness while under 18 on the event date (from their most
    often recorded date of birth): a child recorded as a suspect or offender is a child
    with a concern (docs/questions.md). A "Type not stated" code counts only on an event
    that states no type. Read from the recorded tables, so that it sees only the sources
    a tier may see. ``start``/``end`` (either open) keep events dated in that window.
    """
    return f"""WITH located AS (
{children_first_located_sql(groups, start=start, end=end)}
)
SELECT GROUPING(report_group) AS all_groups, GROUPING(authority) AS all_authorities,
  report_group, authority, count(DISTINCT person_id) AS persons
FROM located
GROUP BY GROUPING SETS ((report_group, authority), (report_group), (authority), ())"""


def children_first_located_sql(
    groups: Mapping[str, str], *, start: dt.date | None = None, end: dt.date | None = None
) -> str:
    """The rows :func:`children_first_concerns_sql` counts: (person_id, report_group,
    authority), distinct (for counts that need the people themselves, such as their cell
    keys under cell key perturbation, issue 19)."""
    types = event_types_sql(groups)
    window = "".join(
        f" AND e.event_date {op} DATE '{day.isoformat()}'"
        for op, day in ((">=", start), ("<=", end))
        if day is not None
    )
    age = age_sql("d.dob", "e.event_date")
    return f"""  SELECT DISTINCT rp.person_id, t.report_group,
    NULLIF(trim(p.home_authority), '') AS authority
  FROM ({types}) AS t
  JOIN event AS e ON e.event_id = t.event_id
  JOIN event_person AS ep ON ep.event_id = t.event_id
  JOIN record_person AS rp
    ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
  LEFT JOIN ({dob_sql()}) AS d ON d.person_id = rp.person_id
  LEFT JOIN person AS p ON p.person_id = rp.person_id
  WHERE t.counted AND (ep.role IN ('victim', 'subject')
    OR (ep.role <> 'witness' AND {age} < 18)){window}"""


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    """The one place in this module that runs SQL."""
    return [tuple(row) for row in con.execute(sql).fetchall()]


def _concern_table(
    con: duckdb.DuckDBPyConnection,
    *,
    roles: Sequence[str] | None,
    children_first: bool = False,
    window: tuple[dt.date | None, dt.date | None] = (None, None),
) -> ConcernTable:
    codes = [str(row[0]) for row in _fetch(con, exploitation_codes_sql())]
    if children_first:
        start, end = window
        sql = children_first_concerns_sql(report_groups_for(codes), start=start, end=end)
        rows = _fetch(con, sql)
    else:
        rows = _fetch(con, concerns_sql(report_groups_for(codes), roles=roles))
    names = {str(code): str(name) for code, name in _fetch(con, authorities_sql())}

    cells: dict[tuple[str, str | None], int] = {}
    by_group = dict.fromkeys(REPORT_GROUPS, 0)
    by_authority: dict[str | None, int] = dict.fromkeys(names, 0)
    total = 0
    for all_groups, all_authorities, group, authority, persons in rows:
        n = int(persons)
        if all_groups and all_authorities:
            total = n
        elif all_authorities:
            by_group[str(group)] = n
        elif all_groups:
            by_authority[authority] = n
        else:
            cells[(str(group), authority)] = n

    # Columns: every authority in the partnership's geography, then any home authority
    # not in it (labelled by its code), then "Not known" when anyone has no authority.
    extra = sorted(a for a in by_authority if a is not None and a not in names)
    authorities = [Authority(code, names[code]) for code in names]
    authorities += [Authority(code, code) for code in extra]
    # issue 13: with no geography no one can be placed: no column of silent zeros, and
    # "Not known" says why (the geography stage records it in release_info)
    unplaced = dict(_fetch(con, release_info_sql())).get("geography_unplaced")
    if unplaced:
        authorities = [a for a in authorities if by_authority.get(a.code)]
    if by_authority.get(None):
        label = f"{NOT_KNOWN} — {unplaced}" if unplaced else NOT_KNOWN
        authorities.append(Authority(None, label))
    groups = tuple(REPORT_GROUPS) + tuple(sorted(g for g in by_group if g not in REPORT_GROUPS))
    for g in groups:
        for a in authorities:
            cells.setdefault((g, a.code), 0)
    return ConcernTable(
        groups=groups,
        authorities=tuple(authorities),
        cells=cells,
        by_group=by_group,
        by_authority={a.code: by_authority.get(a.code, 0) for a in authorities},
        total=total,
    )


def overview_figures(
    con: duckdb.DuckDBPyConnection,
    *,
    roles: Sequence[str] | None = None,
    children_first: bool = False,
    window: tuple[dt.date | None, dt.date | None] = (None, None),
) -> Overview:
    """Raw overview figures of the release open on ``con`` (not disclosure-controlled).

    With ``children_first`` the concern table counts as :func:`children_first_concerns_sql`
    does (``roles`` is then ignored), in ``window`` (first and last day, either open:
    all time); otherwise people in ``roles`` (default: every role), over all time.
    """
    info = {str(k): "" if v is None else str(v) for k, v in _fetch(con, release_info_sql())}
    sources = tuple(
        SourceSummary(
            source=str(r[0]),
            agency=str(r[1]),
            dataset="" if r[2] is None else str(r[2]),
            rows_read=int(r[3] or 0),
            rows_loaded=int(r[4] or 0),
            rows_quarantined=int(r[5] or 0),
            extracted_at=None if r[6] is None else str(r[6]),
        )
        for r in _fetch(con, sources_sql())
    )
    persons, children, young_adults = _fetch(con, person_counts_sql())[0]
    return Overview(
        release=ReleaseFacts(
            release_id=info.get("release_id", ""),
            built_at=info.get("built_at", ""),
            partnership=info.get("partnership", ""),
            reference_date=info.get("reference_date", ""),
        ),
        sources=sources,
        persons=int(persons),
        children=int(children),
        young_adults=int(young_adults),
        concerns=_concern_table(con, roles=roles, children_first=children_first, window=window),
    )
