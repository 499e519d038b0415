"""Places: where concerns concentrate, ranked by distinct children rather than events.

A *concern event at a place* is an event with a place that either has an exploitation type
recorded or is a missing episode (the place is where the child was found). A place's
count of children is the number of distinct persons aged under 18 on the event's date who
were involved in such events there (any role except witness); a child seen ten times at a
takeaway counts once. Places are ranked in three windows ending on the reference date:
all time, the last 12 months and the last 3 months.

A residential place without a postcode ("returned home", recorded by many children) cannot
be located and is left out. Residential places (homes and other residential addresses)
are never named in a label:
they are shown as "Residential address in <small area>", so the hotspot table can be read
at strategic tier. Business and public places keep the name the source recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

__all__ = ["RESIDENTIAL", "WINDOWS", "Hotspot", "hotspot_sql", "hotspots", "place_label_sql"]

#: Place types that are someone's address: never named in a label.
RESIDENTIAL: tuple[str, ...] = ("home", "other_residential")

#: The time windows of the hotspot ranking: (name, months before the reference date).
WINDOWS: tuple[tuple[str, int | None], ...] = (("all", None), ("12 months", 12), ("3 months", 3))


@dataclass(frozen=True)
class Hotspot:
    """One row of the ranking (raw counts: protect before showing)."""

    time_window: str
    place_rank: int
    place_id: str
    label: str
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


def place_label_sql(alias: str = "pl") -> str:
    """A label for a place that never names a residential address."""
    res = ", ".join(_lit(t) for t in RESIDENTIAL)
    pt = f"replace(coalesce({alias}.place_type, 'place'), '_', ' ')"
    return (
        f"CASE WHEN {alias}.place_type IN ({res}) THEN 'Residential address in ' || "
        f"coalesce(sa.area_name, {alias}.small_area, {alias}.postcode_district, 'unknown area') "
        f"ELSE coalesce(nullif(trim({alias}.name), ''), "
        f"upper(substr({pt}, 1, 1)) || substr({pt}, 2) || ' in ' || "
        f"coalesce(sa.area_name, {alias}.small_area, {alias}.postcode_district, 'unknown area')) "
        "END"
    )


def hotspot_sql(reference: dt.date) -> str:
    """Every place with a concern event, per window, ranked (rows for place_hotspot)."""
    ref = f"DATE {_lit(reference.isoformat())}"
    windows = " UNION ALL ".join(
        f"SELECT {_lit(name)} AS time_window, "
        + ("NULL::DATE" if months is None else f"CAST({ref} - INTERVAL {months} MONTH AS DATE)")
        + " AS since"
        for name, months in WINDOWS
    )
    res = ", ".join(_lit(t) for t in RESIDENTIAL)
    return f"""WITH ev AS (
  SELECT e.event_id, e.event_date, e.place_id FROM event e
  WHERE e.place_id IS NOT NULL AND (e.event_type = 'missing_episode'
    OR e.event_id IN (SELECT event_id FROM person_concern))
),
involved AS (
  SELECT DISTINCT ev.event_id, ev.event_date, ev.place_id, rp.person_id, ep.role,
    d.dob, CASE WHEN d.dob IS NULL THEN NULL ELSE
      (year(ev.event_date) - year(d.dob) - CASE WHEN strftime(ev.event_date, '%m%d')
        < strftime(d.dob, '%m%d') THEN 1 ELSE 0 END) END AS age
  FROM ev
  JOIN event_person ep ON ep.event_id = ev.event_id
  JOIN record_person rp ON rp.source = ep.source AND rp.source_record_id = ep.source_record_id
  LEFT JOIN _ju_ins_dob d ON d.person_id = rp.person_id
  WHERE ep.role <> 'witness'
),
w AS ({windows}),
counted AS (
  SELECT w.time_window, i.place_id,
    count(DISTINCT i.person_id) FILTER (WHERE i.age < 18) AS children,
    count(DISTINCT i.person_id) FILTER (
      WHERE i.role = 'person_of_concern' AND (i.age IS NULL OR i.age >= 18)
    ) AS persons_of_concern,
    count(DISTINCT i.event_id) AS events,
    min(i.event_date) AS first_date, max(i.event_date) AS last_date
  FROM involved i JOIN w ON w.since IS NULL OR i.event_date > w.since
  WHERE i.event_date IS NULL OR i.event_date <= {ref}
  GROUP BY w.time_window, i.place_id
)
SELECT c.time_window,
  CAST(row_number() OVER (PARTITION BY c.time_window
    ORDER BY c.children DESC, c.persons_of_concern DESC, c.events DESC, c.place_id) AS INTEGER),
  c.place_id, {place_label_sql("pl")}, pl.place_type, coalesce(pl.place_type IN ({res}), false),
  pl.small_area, pl.ward, pl.authority, c.children, c.persons_of_concern, c.events,
  c.first_date, c.last_date
FROM counted c
JOIN place pl ON pl.place_id = c.place_id
LEFT JOIN area sa ON sa.area_code = pl.small_area AND sa.area_type = 'small_area'
WHERE NOT (coalesce(pl.place_type IN ({res}), false) AND pl.postcode IS NULL)"""


def hotspots(
    con: duckdb.DuckDBPyConnection,
    *,
    time_window: str = "all",
    limit: int = 20,
    place_types: Sequence[str] | None = None,
) -> list[Hotspot]:
    """The top places of a release's ``place_hotspot`` table (raw counts)."""
    where = "time_window = ?"
    params: list[object] = [time_window]
    if place_types:
        where += " AND place_type IN (" + ", ".join("?" for _ in place_types) + ")"
        params += list(place_types)
    rows = con.execute(
        "SELECT time_window, place_rank, place_id, label, place_type, residential, small_area, "
        f"ward, authority, children, persons_of_concern, events FROM place_hotspot WHERE {where} "
        "ORDER BY place_rank LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [
        Hotspot(
            time_window=str(r[0]),
            place_rank=int(r[1]),
            place_id=str(r[2]),
            label=str(r[3]),
            place_type=r[4],
            residential=bool(r[5]),
            small_area=r[6],
            ward=r[7],
            authority=r[8],
            children=int(r[9]),
            persons_of_concern=int(r[10]),
            events=int(r[11]),
        )
        for r in rows
    ]
