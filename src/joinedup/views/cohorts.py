"""Cohorts of people for panels at the operational tier: person-level, pseudonymous.

A cohort is a set of pseudonymous person ids a panel works with:

- **question cohorts**: the people each person-based question counted (``question_unit``,
  the same ids as :func:`~joinedup.views.questions.current_units`), for questions
  the operational tier may see;
- **standing cohorts**: children with concerns recorded by three or more agencies,
  persons whose records are flagged for checking (``person_flag``), and children with a
  concern who turn 18 within six months of the reference date.

Everything here is for the operational tier only (a :class:`PersonLevelError` for any
other) and the caller must write every view of a cohort's members to the audit log.
Facts about members are non-identifying: age band, agencies, concern types and the
month of the latest record. No score of any kind. Sources whose sharing agreements do not
permit the operational tier are removed first (:func:`~joinedup.disclosure.scope_release`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure import (
    SourceScope,
    Tier,
    require_operational,
)
from joinedup.views.memo import per_release  # moved from disclosure/ (issue 19)
from joinedup.views.release import ReleaseLike, operational_release, partnership_config

__all__ = [
    "CONCERN_ROLES",
    "MULTI_AGENCY",
    "PERSON_UNITS",
    "STANDING_COHORTS",
    "TURNING_18_MONTHS",
    "cohort_members",
    "current_cohorts",
]

#: Question units that are people (the others count events, places or groups).
PERSON_UNITS = frozenset(
    {"children", "young people", "children and young people", "persons", "persons of concern"}
)
#: Roles of an adult's concern, as on the overview (kept for scripts that import it).
CONCERN_ROLES = ("victim", "subject")
#: Agencies that must have recorded a concern about a child for the multi-agency cohort.
MULTI_AGENCY = 3
#: Months ahead of the reference date for the turning-18 cohort.
TURNING_18_MONTHS = 6

#: A child's concern counts in any role but witness: a child recorded as a suspect or
#: offender is a child with a concern first (docs/questions.md).
_CHILD_CONCERN = "role <> 'witness'"


@dataclass(frozen=True)
class StandingCohort:
    id: str
    title: str
    description: str
    sql: str  # selects person_id; parameter $ref (the reference date)


STANDING_COHORTS: tuple[StandingCohort, ...] = (
    StandingCohort(
        "multi-agency-concern",
        f"Children with concerns recorded by {MULTI_AGENCY} or more agencies",
        f"Children (under 18 at the reference date) with exploitation concerns recorded by "
        f"at least {MULTI_AGENCY} different agencies, in any role but witness (a child "
        "recorded as a suspect is a child with a concern).",
        "SELECT pc.person_id FROM person_concern AS pc JOIN person AS p USING (person_id) "
        f"WHERE p.age < 18 AND pc.{_CHILD_CONCERN} GROUP BY pc.person_id "
        f"HAVING count(DISTINCT pc.agency) >= {MULTI_AGENCY}",
    ),
    StandingCohort(
        "flagged",
        "People whose records are flagged for checking",
        "People whose linked records look wrong together (for example two NHS numbers or "
        "several dates of birth): their records may belong to more than one person. Check "
        "before acting on what is joined up about them.",
        "SELECT DISTINCT f.person_id FROM person_flag AS f "
        "WHERE f.person_id IN (SELECT person_id FROM person)",
    ),
    StandingCohort(
        "turning-18",
        f"Children with a concern who turn 18 within {TURNING_18_MONTHS} months",
        f"Children with an exploitation concern (in any role but witness) whose 18th "
        f"birthday falls within {TURNING_18_MONTHS} months after the reference date (from "
        "the date of birth most often recorded for them): plan their move to adult services.",
        "WITH dobs AS (SELECT rp.person_id, i.dob, count(*) AS n FROM identity AS i "
        "  JOIN record_person AS rp USING (source, source_record_id) "
        "  WHERE i.dob IS NOT NULL GROUP BY 1, 2), "
        "best AS (SELECT person_id, dob, row_number() OVER "
        "  (PARTITION BY person_id ORDER BY n DESC, dob) AS k FROM dobs) "
        "SELECT b.person_id FROM best AS b JOIN person AS p USING (person_id) "
        "WHERE b.k = 1 AND p.age < 18 "
        "AND b.dob + INTERVAL 18 YEAR > $ref "
        f"AND b.dob + INTERVAL 18 YEAR <= $ref + INTERVAL {TURNING_18_MONTHS} MONTH "
        "AND b.person_id IN (SELECT person_id FROM person_concern "
        f"  WHERE {_CHILD_CONCERN})",
    ),
)


def _reference_date(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT value FROM release_info WHERE key = 'reference_date'").fetchone()
    return str(row[0]) if row and row[0] else None


def _ref_sql(ref: str | None) -> str:
    return "CAST($ref AS DATE)" if ref else "current_date"


def _standing_sql(cohort: StandingCohort, ref: str | None) -> str:
    return cohort.sql.replace("$ref", _ref_sql(ref))


def _params(sql: str, ref: str | None) -> dict[str, Any]:
    return {"ref": ref} if "$ref" in sql else {}


def _question_cohorts(con: duckdb.DuckDBPyConnection, scope: SourceScope) -> list[dict[str, Any]]:
    try:
        rows = con.execute(
            "SELECT q.question_id, q.question, q.definition, q.unit, q.tiers, q.sources, "
            "  (SELECT count(*) FROM question_unit AS u WHERE u.question_id = q.question_id) "
            "FROM question AS q ORDER BY q.question_id"
        ).fetchall()
    except duckdb.CatalogException:
        return []  # a release built before questions were answered
    out = []
    for qid, question, definition, unit, tiers, sources, size in rows:
        if unit not in PERSON_UNITS or "operational" not in str(tiers or "").split(";"):
            continue
        if set(str(sources or "").split(";")) & scope.excluded_ids:
            continue  # draws on a source the operational tier may not use
        out.append(
            {
                "id": str(qid),
                "kind": "question",
                "title": str(question),
                "description": str(definition),
                "unit": str(unit),
                "size": int(size),
            }
        )
    return out


def _standing(con: duckdb.DuckDBPyConnection, ref: str | None) -> list[dict[str, Any]]:
    out = []
    for cohort in STANDING_COHORTS:
        sql = _standing_sql(cohort, ref)
        try:
            row = con.execute(f"SELECT count(*) FROM ({sql})", _params(sql, ref)).fetchone()
        except duckdb.CatalogException:
            continue  # a table this cohort needs is not in an older release
        out.append(
            {
                "id": cohort.id,
                "kind": "standing",
                "title": cohort.title,
                "description": cohort.description,
                "unit": "persons",
                "size": int(row[0]) if row else 0,
            }
        )
    return out


@per_release
def current_cohorts(
    partnership_dir: Path,
    *,
    tier: Tier,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """The cohorts of the current release with their sizes: standing cohorts first, then
    one per person-based question. Operational tier only."""
    tier = require_operational(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    with operational_release(partnership_dir, config=config, open_release=open_release) as (
        handle,
        con,
        scope,
    ):
        ref = _reference_date(con)
        cohorts = _standing(con, ref) + _question_cohorts(con, scope)
    for c in cohorts:
        c["href"] = f"/cohorts/{c['id']}"
    return {
        "tier": tier.value,
        "release_id": handle.release_id,
        "reference_date": ref,
        "cohorts": cohorts,
        "scope": scope.as_dict(),
    }


def _agency_names(config: PartnershipConfig | None) -> dict[str, str]:
    return {a.id: a.name for a in config.agencies} if config is not None else {}


# One row per member: non-identifying facts from the permitted sources only.
_MEMBERS_SQL = """
WITH m AS (SELECT DISTINCT person_id FROM ({members}) AS x),
recs AS (
  SELECT rp.person_id, r.agency, r.record_date FROM record AS r
  JOIN record_person AS rp USING (source, source_record_id)
  WHERE rp.person_id IN (SELECT person_id FROM m)
),
ag AS (
  SELECT person_id, string_agg(DISTINCT agency, ';' ORDER BY agency) AS agencies,
         strftime(max(record_date), '%Y-%m') AS last_month
  FROM recs GROUP BY person_id
),
con AS (
  SELECT person_id, string_agg(DISTINCT report_group, ';' ORDER BY report_group) AS concerns
  FROM person_concern WHERE person_id IN (SELECT person_id FROM m) GROUP BY person_id
)
SELECT m.person_id, p.age_band, ag.agencies, con.concerns, ag.last_month
FROM m LEFT JOIN person AS p USING (person_id) LEFT JOIN ag USING (person_id)
LEFT JOIN con USING (person_id)
ORDER BY ag.last_month DESC NULLS LAST, m.person_id
"""


def _split(value: object) -> list[str]:
    return [x for x in str(value).split(";") if x] if value else []


@per_release
def cohort_members(
    partnership_dir: Path,
    cohort_id: str,
    *,
    tier: Tier,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any] | None:
    """One cohort's members (pseudonymous ids) with non-identifying facts, or None for an
    unknown cohort. Operational tier only; the caller must audit the view."""
    tier = require_operational(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    names = _agency_names(config)
    with operational_release(partnership_dir, config=config, open_release=open_release) as (
        handle,
        con,
        scope,
    ):
        ref = _reference_date(con)
        info = next((c for c in _standing(con, ref) if c["id"] == cohort_id), None)
        if info is not None:
            cohort = next(c for c in STANDING_COHORTS if c.id == cohort_id)
            members_sql = _standing_sql(cohort, ref)
            params = _params(members_sql, ref)
        else:
            info = next((c for c in _question_cohorts(con, scope) if c["id"] == cohort_id), None)
            if info is None:
                return None
            members_sql = "SELECT unit_id AS person_id FROM question_unit WHERE question_id = $q"
            params = {"q": cohort_id}
        sql = _MEMBERS_SQL.format(members=members_sql)
        rows = con.execute(sql, params).fetchall()
    members = []
    agencies: set[str] = set()
    for person_id, age_band, agency_ids, concerns, last_month in rows:
        ids = _split(agency_ids)
        agencies.update(ids)
        members.append(
            {
                "person_id": str(person_id),
                "age_band": age_band,
                "agencies": [names.get(a, a) for a in ids],
                "concerns": _split(concerns),
                "last_contact": last_month,
                "href": f"/people/{person_id}",
            }
        )
    return {
        "tier": tier.value,
        "release_id": handle.release_id,
        "reference_date": ref,
        "cohort": {**info, "size": len(members)},
        "agencies": sorted(agencies),
        "members": members,
        "scope": scope.as_dict(),
    }
