"""Places: where concerns about children concentrate, and where missing children are found.

A *place* is a distinct location: a name (normalised: case, spaces and punctuation do not
matter) with a full postcode, or a gazetteer entry from the partnership's reference files
(``geography.gazetteer``); ``joinedup.pipeline.places`` gives each one its id. Two places
are never merged because their labels read alike.

Two rankings, each for a period (:mod:`joinedup.insight.periods`: the partnership's default
period and all time are stored at build in ``place_hotspot``; any other period is counted
on request by the same SQL):

- ``concern`` (the *hotspots*): places ranked by the distinct children (aged under 18 on
  the event's date) involved in any role but witness (a child recorded as a suspect or
  offender included) in events there with an exploitation type recorded; a child seen
  ten times at a takeaway counts once there. Ties are broken by persons of concern
  (recorded as such, aged 18 or over or of unknown age), then by events. A missing
  episode counts here only when an exploitation type is recorded on it (a child found
  at the trap house on an episode flagged for county lines).
- ``found``: where missing children are found, ranked by the distinct children found at
  the place at the end of any missing episode. A station where runaways are picked up
  is not, by that alone, a place where exploitation was recorded, so it is a ranking of
  its own.

A row counts in a period when its event date (the episode's start for ``found``) is in
it; rows without a date count only in all time. A place ranks when at least one child
counts there.

A residential place without a postcode ("returned home") cannot be located and is left
out. Labels (:func:`place_labels_sql`) never name a residential address ("Residential
address in <small area>"), and never merge two places: places that would read alike are
told apart by postcode sector (named places; never the full postcode) and then by a
number. Every ranked place also has an ``area_label`` that never names it ("Takeaway in
<small area>"), for a tier at which too few children were counted there to name it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from joinedup.insight.periods import Period

__all__ = [
    "CHILD_ROWS",
    "CONCERN_PERSON_ROWS",
    "NAMED_MIN_CHILDREN",
    "RANKINGS",
    "RESIDENTIAL",
    "Hotspot",
    "hotspot_sql",
    "hotspots",
    "period_rows_sql",
    "place_labels_sql",
    "rank_places",
]

#: Place types that are someone's address: never named in a label.
RESIDENTIAL: tuple[str, ...] = ("home", "other_residential")

#: The two rankings of places: key -> what it answers.
RANKINGS: dict[str, str] = {
    "concern": "Where concerns about children concentrate",
    "found": "Where missing children are found",
}

#: A question's breakdown by place names a place only when more children than this were
#: counted there over all time (the community tier's default threshold); otherwise the
#: place is shown by its area label. Pages apply their tier's own rule (joinedup.views).
NAMED_MIN_CHILDREN = 10

_COLUMNS = (
    "time_window, ranking, place_rank, place_id, label, area_label, named, place_type, "
    "residential, small_area, ward, authority, children, persons_of_concern, events"
)


@dataclass(frozen=True)
class Hotspot:
    """One row of a ranking (raw counts: protect before showing)."""

    time_window: str
    ranking: str
    place_rank: int
    place_id: str
    label: str
    area_label: str
    named: bool
    place_type: str | None
    residential: bool
    small_area: str | None
    ward: str | None
    authority: str | None
    children: int
    persons_of_concern: int
    events: int


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_period(column: str, start: dt.date | None, end: dt.date | None) -> str:
    parts = []
    if start is not None:
        parts.append(f"{column} >= DATE {_lit(start.isoformat())}")
    if end is not None:
        parts.append(f"{column} <= DATE {_lit(end.isoformat())}")
    return " AND ".join(parts) or "true"


def _rows_sql(start: dt.date | None, end: dt.date | None) -> str:
    """Every child (and person of concern) row of both rankings in a period."""
    res = ", ".join(_lit(t) for t in RESIDENTIAL)
    return f"""SELECT r.* FROM (
  SELECT 'concern' AS ranking, place_id, person_id, event_id, event_date, role, age_at_event
  FROM person_concern WHERE place_id IS NOT NULL AND {_in_period("event_date", start, end)}
  UNION ALL
  SELECT 'found', e.place_id, m.person_id, m.event_id, e.event_date, 'subject', m.age_at_event
  FROM missing_episode m JOIN event e USING (event_id)
  WHERE e.place_id IS NOT NULL AND {_in_period("e.event_date", start, end)}
) r JOIN place pl ON pl.place_id = r.place_id
WHERE NOT (coalesce(pl.place_type IN ({res}), false) AND pl.postcode IS NULL)"""


def period_rows_sql(start: dt.date | None, end: dt.date | None) -> str:
    """The rows both rankings count in a period (ranking, place_id, person_id, event_id,
    event_date, role, age_at_event): for counts that need the units themselves, such as
    their cell keys under cell key perturbation (issue 19)."""
    return _rows_sql(start, end)


#: Who a ranking counts as a child, and as a person of concern, on the rows ``r``.
CHILD_ROWS = "r.age_at_event < 18 AND r.role <> 'witness'"
CONCERN_PERSON_ROWS = (
    "r.ranking = 'concern' AND r.role = 'person_of_concern' "
    "AND (r.age_at_event IS NULL OR r.age_at_event >= 18)"
)


def place_labels_sql() -> str:
    """Labels of every place that ranks in all time (rows: place_id, label, area_label,
    named, residential).

    ``label`` is the recorded name of a business or public place, else ``area_label``:
    "<Type> in <small area>" ("Residential address in <small area>" for a home). Named
    places whose labels read alike get their postcode sector, "Golden Grill (WX1 5)";
    labels still alike get a number, "Residential address in Ashdown 012A (2)", in place
    id order. Both labels are unique among the places labelled.
    """
    res = ", ".join(_lit(t) for t in RESIDENTIAL)
    pt = "replace(coalesce(pl.place_type, 'place'), '_', ' ')"
    area = "coalesce(sa.area_name, pl.small_area, pl.postcode_district, 'unknown area')"
    kids = "age_at_event < 18 AND role <> 'witness'"
    return f"""WITH ranked AS (
  SELECT DISTINCT place_id FROM ({_rows_sql(None, None)}) WHERE {kids}
),
base AS (
  SELECT pl.place_id, pl.postcode_sector,
    coalesce(pl.place_type IN ({res}), false) AS residential,
    nullif(trim(regexp_replace(coalesce(pl.name, ''), '\\s+', ' ', 'g')), '') AS name,
    CASE WHEN coalesce(pl.place_type IN ({res}), false) THEN 'Residential address'
      ELSE upper(substr({pt}, 1, 1)) || substr({pt}, 2) END || ' in ' || {area} AS area_base
  FROM place pl JOIN ranked USING (place_id)
  LEFT JOIN area sa ON sa.area_code = pl.small_area AND sa.area_type = 'small_area'
),
named AS (
  SELECT *, CASE WHEN NOT residential AND name IS NOT NULL THEN name ELSE area_base END
    AS first_label, NOT residential AND name IS NOT NULL AS is_named FROM base
),
sector AS (
  SELECT *, CASE WHEN is_named AND postcode_sector IS NOT NULL
      AND count(*) OVER (PARTITION BY lower(first_label)) > 1
    THEN first_label || ' (' || postcode_sector || ')' ELSE first_label END AS second_label
  FROM named
)
SELECT place_id,
  CASE WHEN count(*) OVER (PARTITION BY lower(second_label)) > 1 THEN second_label || ' ('
    || row_number() OVER (PARTITION BY lower(second_label) ORDER BY place_id) || ')'
    ELSE second_label END AS label,
  CASE WHEN count(*) OVER (PARTITION BY lower(area_base)) > 1 THEN area_base || ' ('
    || row_number() OVER (PARTITION BY lower(area_base) ORDER BY place_id) || ')'
    ELSE area_base END AS area_label,
  is_named AS named, residential
FROM sector"""


def hotspot_sql(key: str, start: dt.date | None = None, end: dt.date | None = None) -> str:
    """Both rankings for one period (``key``: all, default or custom; ``start``/``end``
    inclusive, None for open), in the columns of ``place_hotspot``."""
    kids = CHILD_ROWS
    poc = CONCERN_PERSON_ROWS
    return f"""WITH labels AS ({place_labels_sql()}),
counted AS (
  SELECT r.ranking, r.place_id,
    count(DISTINCT r.person_id) FILTER (WHERE {kids}) AS children,
    count(DISTINCT r.person_id) FILTER (WHERE {poc}) AS persons_of_concern,
    count(DISTINCT r.event_id) AS events,
    min(r.event_date) AS first_date, max(r.event_date) AS last_date
  FROM ({_rows_sql(start, end)}) r
  GROUP BY r.ranking, r.place_id
)
SELECT {_lit(key)}, c.ranking,
  CAST(row_number() OVER (PARTITION BY c.ranking
    ORDER BY c.children DESC, c.persons_of_concern DESC, c.events DESC, l.label) AS INTEGER),
  c.place_id, l.label, l.area_label, l.named, pl.place_type, l.residential,
  pl.small_area, pl.ward, pl.authority, c.children, c.persons_of_concern, c.events,
  c.first_date, c.last_date
FROM counted c
JOIN labels l USING (place_id)
JOIN place pl ON pl.place_id = c.place_id
WHERE c.children > 0"""


def _hotspot(r: Sequence[object]) -> Hotspot:
    return Hotspot(
        time_window=str(r[0]),
        ranking=str(r[1]),
        place_rank=int(str(r[2])),
        place_id=str(r[3]),
        label=str(r[4]),
        area_label=str(r[5]),
        named=bool(r[6]),
        place_type=None if r[7] is None else str(r[7]),
        residential=bool(r[8]),
        small_area=None if r[9] is None else str(r[9]),
        ward=None if r[10] is None else str(r[10]),
        authority=None if r[11] is None else str(r[11]),
        children=int(str(r[12])),
        persons_of_concern=int(str(r[13])),
        events=int(str(r[14])),
    )


def _check_ranking(ranking: str) -> None:
    if ranking not in RANKINGS:
        raise ValueError(f"There is no ranking '{ranking}'; choose one of: {', '.join(RANKINGS)}.")


def hotspots(
    con: duckdb.DuckDBPyConnection,
    *,
    time_window: str = "all",
    ranking: str = "concern",
    limit: int = 20,
    place_types: Sequence[str] | None = None,
) -> list[Hotspot]:
    """The top places of one stored ranking (``time_window``: all, or default for the
    partnership's default period) of a release's ``place_hotspot`` table (raw counts)."""
    _check_ranking(ranking)
    where = "time_window = ? AND ranking = ?"
    params: list[object] = [time_window, ranking]
    if place_types:
        where += " AND place_type IN (" + ", ".join("?" for _ in place_types) + ")"
        params += list(place_types)
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM place_hotspot WHERE {where} ORDER BY place_rank LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [_hotspot(r) for r in rows]


def rank_places(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    ranking: str = "concern",
    limit: int = 20,
    place_types: Sequence[str] | None = None,
) -> list[Hotspot]:
    """One ranking for any period, counted now from the release's tables (the same SQL
    the build stores ``place_hotspot`` with; raw counts)."""
    _check_ranking(ranking)
    where = "ranking = ?"
    params: list[object] = [ranking]
    if place_types:
        where += " AND place_type IN (" + ", ".join("?" for _ in place_types) + ")"
        params += list(place_types)
    sql = hotspot_sql(period.key, period.start, period.end)
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM ({sql}) h("
        "time_window, ranking, place_rank, place_id, label, area_label, named, place_type, "
        "residential, small_area, ward, authority, children, persons_of_concern, events, "
        f"first_date, last_date) WHERE {where} ORDER BY place_rank LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [_hotspot(r) for r in rows]
