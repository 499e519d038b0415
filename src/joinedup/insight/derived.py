"""Person-level tables that the questions are written over: concerns, agencies, missing
episodes with their return home interviews, and journeys across agencies.

Each ``*_sql`` function builds SQL and never runs it; :func:`derive_person_tables` runs
them inside a build, on the release connection, before the questions are answered.

Definitions (docs/insight.md says them in plain words):

- A *concern event* is an event with at least one exploitation type recorded
  (``event_exploitation`` with a non-blank code). ``person_concern`` has one row per
  person x concern event x type, whatever the person's role.
- An event's types come from every indicator its source recorded. A code whose report
  group is "Type not stated" (the record says only "exploitation concern: yes") counts
  only where the event states no type: an event flagged "yes" and "county lines" is a
  county-lines event, not also one of unknown type.
- ``concern_evidence`` is the trail behind every count: one row per person (in any role
  but witness) x concern event x local code, with the source, the field and column it was
  read from, the code as recorded, the taxonomy type, the date and whether it counted.
- A person's age at an event comes from their most often recorded date of birth. A
  *child with a concern* is under 18 on the date of a concern event in any role but
  witness, whatever the role (victim, subject, suspect or offender, associate): a child
  recorded as a suspect is a child first (docs/questions.md).
- ``child_association`` records what a suspect and a child share: one row per person
  recorded as a suspect, offender or person of concern on an event x each other person
  under 18 on that day on the same event (any role but witness), whether or not the event
  carries an exploitation code.
- A return home interview (RHI) is matched to the person's missing episode with the
  latest return (the day they were found; for an episode with no recorded return, the
  day they went missing) on or before the day it was offered; each episode keeps its
  earliest RHI. Matching on the return, not the start, keeps an interview with the
  episode it follows when the child goes missing again before it is offered (the truth
  harness, docs/synthetic-data.md, measured the difference).
- ``person_home`` says where each person lives, for every figure by home authority: the
  partnership authority of their most recent home postcode (``person.home_authority``);
  "Lives outside the partnership" when that postcode is placed in an authority that is
  not one of the partnership's, or when only its district is known and no postcode of
  the partnership's geography is in that district; not known otherwise (no postcode).
- A journey step is a run of consecutive contacts by one kind of service (A&E, police,
  children's social care, ...), in date order.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from joinedup.insight.groups import NOT_STATED, OTHER
from joinedup.insight.person_index import fill_person_index

__all__ = [
    "EXPLOITATION_FIELD",
    "LIVES_OUTSIDE",
    "STEP_LABELS",
    "child_association_sql",
    "concern_evidence_sql",
    "derive_person_tables",
    "dob_sql",
    "event_types_sql",
    "journey_step_sql",
    "missing_episode_sql",
    "person_agency_sql",
    "person_concern_sql",
    "person_home_sql",
]

#: How each kind of agency is named in a journey.
STEP_LABELS: dict[str, str] = {
    "police": "Police",
    "childrens_social_care": "Children's social care",
    "adult_social_care": "Adult social care",
    "health": "Health",
    "education": "Education",
    "youth_justice": "Youth justice",
    "voluntary": "Voluntary sector",
    "other": "Other agency",
}

DOB_TABLE = "_ju_ins_dob"
AGENCY_TABLE = "_ju_ins_agency"

#: The canonical field exploitation types are read from (``event.exploitation`` in a
#: source's mapping, or ``event.indicators.fields[i]`` where a source has several);
#: ``field_quality`` names the extract's column(s) behind each.
EXPLOITATION_FIELD = "event.exploitation"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _values(rows: Mapping[str, str], names: tuple[str, str]) -> str:
    if not rows:
        return f"SELECT NULL::VARCHAR AS {names[0]}, NULL::VARCHAR AS {names[1]} LIMIT 0"
    body = ", ".join(f"({_lit(k)}, {_lit(v)})" for k, v in sorted(rows.items()))
    return f"SELECT * FROM (VALUES {body}) AS v({names[0]}, {names[1]})"


def age_sql(dob: str, on: str) -> str:
    """Whole years from ``dob`` to ``on`` (both SQL date expressions)."""
    return (
        f"(year({on}) - year({dob}) - CASE WHEN strftime({on}, '%m%d') < strftime({dob}, '%m%d') "
        "THEN 1 ELSE 0 END)"
    )


def dob_sql() -> str:
    """Each person's most often recorded date of birth (kept in a temporary table)."""
    return (
        "SELECT rp.person_id, mode(i.dob ORDER BY i.dob) AS dob FROM record_person rp "
        "JOIN identity i USING (source, source_record_id) WHERE i.dob IS NOT NULL GROUP BY 1"
    )


def event_types_sql(report_groups: Mapping[str, str]) -> str:
    """Each event's recorded codes with their type, report group and whether they count.

    One row per event x type x local code. ``counted`` is false only for a "Type not
    stated" code on an event that also states a type.
    """
    groups = _values(report_groups, ("exploitation_type", "report_group"))
    return f"""SELECT event_id, exploitation_type, local_code, report_group,
  report_group <> {_lit(NOT_STATED)} OR NOT bool_or(report_group <> {_lit(NOT_STATED)})
    OVER (PARTITION BY event_id) AS counted
FROM (
  SELECT DISTINCT x.event_id, trim(x.exploitation_type) AS exploitation_type, x.local_code,
    coalesce(g.report_group, {_lit(OTHER)}) AS report_group
  FROM event_exploitation x
  LEFT JOIN ({groups}) g ON g.exploitation_type = trim(x.exploitation_type)
  WHERE nullif(trim(x.exploitation_type), '') IS NOT NULL
)"""


def person_concern_sql(report_groups: Mapping[str, str]) -> str:
    age = age_sql("d.dob", "e.event_date")
    types = event_types_sql(report_groups)
    return f"""SELECT DISTINCT rp.person_id, e.event_id, e.source, e.agency,
  coalesce(a.agency_type, 'other') AS agency_type, e.event_type, e.event_date, ep.role,
  x.exploitation_type, x.report_group, {age} AS age_at_event, e.place_id
FROM ({types}) x
JOIN event e USING (event_id)
JOIN event_person ep USING (event_id)
JOIN record_person rp ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
LEFT JOIN {DOB_TABLE} d ON d.person_id = rp.person_id
LEFT JOIN {AGENCY_TABLE} a ON a.agency = e.agency
WHERE x.counted"""


def concern_evidence_sql(report_groups: Mapping[str, str]) -> str:
    """The evidence behind every person's concern: which source, field, code and date.

    One row per person (in any role but witness) x concern event x local code, the codes
    set aside included (``counted`` false), so a data lead can see why a child is counted
    under a type and fix a crosswalk.
    """
    age = age_sql("d.dob", "e.event_date")
    types = event_types_sql(report_groups)
    return f"""SELECT DISTINCT rp.person_id, e.event_id, e.event_date, {age} AS age_at_event,
  ep.role, e.source, e.agency, e.event_type, coalesce(fq.field, {_lit(EXPLOITATION_FIELD)}),
  fq.column_name, x.local_code, x.exploitation_type, x.report_group, x.counted
FROM ({types}) x
JOIN event e USING (event_id)
JOIN event_person ep USING (event_id)
JOIN record_person rp ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
LEFT JOIN {DOB_TABLE} d ON d.person_id = rp.person_id
LEFT JOIN (
  SELECT source, string_agg(DISTINCT field, '; ' ORDER BY field) AS field,
    string_agg(DISTINCT column_name, '; ' ORDER BY column_name) AS column_name
  FROM field_quality WHERE field = {_lit(EXPLOITATION_FIELD)} OR field LIKE 'event.indicators.%'
  GROUP BY source
) fq ON fq.source = e.source
WHERE ep.role IS DISTINCT FROM 'witness'"""


def child_association_sql() -> str:
    """Suspects (persons of concern) and the children on the same events, any event.

    Runs after ``person_concern``, which says whether the event carries a concern.
    """
    age = age_sql("d.dob", "e.event_date")
    return f"""WITH involved AS (
  SELECT DISTINCT rp.person_id, e.event_id, e.event_date, e.source, ep.role, {age} AS age
  FROM event e
  JOIN event_person ep USING (event_id)
  JOIN record_person rp ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
  LEFT JOIN {DOB_TABLE} d ON d.person_id = rp.person_id
  WHERE ep.role IS DISTINCT FROM 'witness' AND e.event_id IN (
    SELECT event_id FROM event_person WHERE role = 'person_of_concern')
)
SELECT DISTINCT s.person_id, c.person_id AS child_id, s.event_id, s.event_date, s.source,
  c.role AS child_role, c.age AS child_age_at_event,
  s.event_id IN (SELECT event_id FROM person_concern) AS concern_event
FROM involved s
JOIN involved c ON c.event_id = s.event_id AND c.person_id <> s.person_id
WHERE s.role = 'person_of_concern' AND c.age < 18"""


#: How figures by home authority name a home outside the partnership's authorities.
LIVES_OUTSIDE = "Lives outside the partnership"


def person_home_sql(authorities: Mapping[str, str] | None = None) -> str:
    """Where each person lives: ``authorities`` maps the partnership's authority codes to
    their names (partnership.yaml); None takes every authority in ``area``."""
    own = (
        _values(authorities, ("code", "name"))
        if authorities is not None
        else "SELECT area_code AS code, area_name AS name FROM area WHERE area_type = 'authority'"
    )
    return f"""WITH own AS ({own}),
districts AS (
  SELECT DISTINCT split_part(postcode, ' ', 1) AS district FROM postcode_lookup
)
SELECT p.person_id, p.home_authority,
  CASE WHEN o.code IS NOT NULL THEN coalesce(o.name, o.code)
    WHEN outside THEN {_lit(LIVES_OUTSIDE)} END,
  CASE WHEN o.code IS NOT NULL THEN true WHEN outside THEN false END
FROM (
  SELECT *, (nullif(trim(home_authority), '') IS NOT NULL
      AND home_authority NOT IN (SELECT code FROM own))
    OR (nullif(trim(home_authority), '') IS NULL AND home_postcode_district IS NOT NULL
      AND home_postcode_district NOT IN (SELECT district FROM districts)) AS outside
  FROM person
) p
LEFT JOIN own o ON o.code = p.home_authority"""


def person_agency_sql() -> str:
    return f"""SELECT rp.person_id, r.agency, coalesce(a.agency_type, 'other') AS agency_type,
  min(r.record_date) AS first_date, max(r.record_date) AS last_date, count(*) AS records,
  {age_sql("any_value(d.dob)", "min(r.record_date)")} AS age_at_first,
  min(c.first_concern) AS first_concern_date
FROM record_person rp
JOIN record r USING (source, source_record_id)
LEFT JOIN {AGENCY_TABLE} a ON a.agency = r.agency
LEFT JOIN {DOB_TABLE} d ON d.person_id = rp.person_id
LEFT JOIN (
  SELECT person_id, agency, min(event_date) AS first_concern FROM person_concern
  WHERE role <> 'witness' GROUP BY 1, 2
) c ON c.person_id = rp.person_id AND c.agency = r.agency
GROUP BY rp.person_id, r.agency, a.agency_type"""


def missing_episode_sql() -> str:
    age = age_sql("d.dob", "m.start_date")
    return f"""WITH involved AS (
  SELECT DISTINCT rp.person_id, e.event_id, e.event_type, e.event_date, e.end_date, e.outcome
  FROM event e
  JOIN event_person ep USING (event_id)
  JOIN record_person rp ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
  WHERE e.event_type IN ('missing_episode', 'return_home_interview')
    AND e.event_date IS NOT NULL AND ep.role <> 'witness'
),
m AS (
  SELECT person_id, event_id, event_date AS start_date, end_date,
    coalesce(end_date, event_date) AS returned,
    row_number() OVER (PARTITION BY person_id ORDER BY event_date, event_id) AS episode_number
  FROM involved WHERE event_type = 'missing_episode'
),
r AS (SELECT * FROM involved WHERE event_type = 'return_home_interview'),
matched AS (
  SELECT m.event_id AS episode_id, r.event_id AS rhi_event_id, r.event_date AS offered,
    r.end_date AS completed, r.outcome
  FROM r ASOF JOIN m ON r.person_id = m.person_id AND r.event_date >= m.returned
),
first_rhi AS (
  SELECT episode_id, arg_min(rhi_event_id, (offered, rhi_event_id)) AS rhi_event_id,
    min(offered) AS offered, arg_min(completed, (offered, rhi_event_id)) AS completed,
    arg_min(outcome, (offered, rhi_event_id)) AS outcome
  FROM matched GROUP BY 1
)
SELECT m.event_id, m.person_id, {age} AS age_at_event, m.start_date, m.end_date,
  CAST(m.episode_number AS INTEGER), f.rhi_event_id, f.offered, f.completed, f.outcome,
  CASE WHEN m.end_date IS NULL THEN NULL WHEN f.offered IS NULL THEN false
    ELSE f.offered <= m.end_date + 3 END,
  CASE WHEN m.end_date IS NULL THEN NULL WHEN f.completed IS NULL THEN false
    ELSE f.completed <= m.end_date + 3 END
FROM m
LEFT JOIN first_rhi f ON f.episode_id = m.event_id
LEFT JOIN {DOB_TABLE} d ON d.person_id = m.person_id"""


def journey_step_sql() -> str:
    """Journeys of every person with a concern event (as anything but a witness)."""
    labels = _values(STEP_LABELS, ("agency_type", "label"))
    return f"""WITH who AS (
  SELECT DISTINCT person_id FROM person_concern WHERE role <> 'witness'
),
ev AS (
  SELECT DISTINCT rp.person_id, e.event_id, e.event_date, e.agency, e.event_type,
    CASE WHEN e.event_type = 'ae_attendance' THEN 'A&E'
      ELSE coalesce(l.label, 'Other agency') END AS label,
    e.event_id IN (SELECT event_id FROM person_concern) AS concern
  FROM event e
  JOIN event_person ep USING (event_id)
  JOIN record_person rp ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
  JOIN who ON who.person_id = rp.person_id
  LEFT JOIN {AGENCY_TABLE} a ON a.agency = e.agency
  LEFT JOIN ({labels}) l ON l.agency_type = a.agency_type
  WHERE e.event_date IS NOT NULL AND ep.role <> 'witness'
),
ordered AS (
  SELECT *, lag(label) OVER (PARTITION BY person_id ORDER BY event_date, event_id) AS prev
  FROM ev
),
runs AS (
  SELECT *, sum(CASE WHEN prev IS DISTINCT FROM label THEN 1 ELSE 0 END) OVER (
    PARTITION BY person_id ORDER BY event_date, event_id ROWS UNBOUNDED PRECEDING) AS step
  FROM ordered
),
steps AS (
  SELECT person_id, CAST(step AS INTEGER) AS step,
    arg_min(agency, (event_date, event_id)) AS agency, any_value(label) AS label,
    arg_min(event_type, (event_date, event_id)) AS event_type, min(event_date) AS step_date,
    bool_or(concern) AS concern
  FROM runs GROUP BY person_id, step
)
SELECT person_id, step, agency, label, event_type, step_date,
  CAST(step_date - lag(step_date) OVER (PARTITION BY person_id ORDER BY step) AS INTEGER),
  concern
FROM steps"""


def derive_person_tables(
    con: duckdb.DuckDBPyConnection,
    *,
    agency_types: Mapping[str, str],
    report_groups: Mapping[str, str],
    authorities: Mapping[str, str] | None = None,
) -> None:
    """Fill person_concern, concern_evidence, child_association, person_agency,
    person_home, missing_episode, journey_step, person_record and person_event
    (``authorities``: the partnership's, code -> name; None: every authority in ``area``).

    Leaves the temporary tables of dates of birth and agency types in place for the
    later insight steps (they are dropped when the build's connection closes).
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {DOB_TABLE} AS {dob_sql()}")
    agencies = _values(agency_types, ("agency", "agency_type"))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {AGENCY_TABLE} AS {agencies}")
    con.execute(f"INSERT INTO person_concern {person_concern_sql(report_groups)}")
    con.execute(f"INSERT INTO concern_evidence {concern_evidence_sql(report_groups)}")
    con.execute(f"INSERT INTO child_association {child_association_sql()}")
    con.execute(f"INSERT INTO person_agency {person_agency_sql()}")
    con.execute(f"INSERT INTO person_home {person_home_sql(authorities)}")
    con.execute(f"INSERT INTO missing_episode {missing_episode_sql()}")
    con.execute(f"INSERT INTO journey_step {journey_step_sql()}")
    fill_person_index(con)  # issue 16: person_record and person_event, in person order
