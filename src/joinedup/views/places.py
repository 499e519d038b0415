"""Places of concern as each tier may see them: children by area (for the map) and the
hotspot ranking.

What leaves the store, by tier:

- operational and strategic: distinct children involved in concern events at places in
  each **small area** (the map), protected together with their total; and the ranked
  hotspots of the release's ``place_hotspot`` table (top :data:`HOTSPOT_LIMIT`), each
  place's children, persons of concern and events protected on their own. Residential
  places are never named: their label is "Residential address in <small area>"
  (``joinedup.insight.places``), and no place id or date is published.
- community: the same map by **ward** at the community threshold, and no hotspot list:
  naming single places (businesses, parks) to a community audience is left to the
  partnership's own judgement in its reports.

The area figures are computed on the release narrowed to the sources the tier's sharing
agreements permit. The hotspot ranking is computed at build time over every source, so
it is not shown at a tier whose agreements leave a source out (the page says why).

Counts of events are not counts of people, but a count of one or two events at a
residential address in a small area says as much as a count of children, so they are
protected in the same way.

The areas are protected as one hierarchy: each area's children are a part of its parent
area's (small area -> ward -> local authority), and the authorities' of the total. The
parents are not listed on the page, but other outputs publish figures by ward and by
authority, so a reader may know them: hidden areas under one parent are therefore at
least two, and add up to more than the threshold (secondary suppression), and no hidden
area can be worked out from its parent's figure.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure.memo import per_release
from joinedup.disclosure.policy import DisclosurePolicy, policy_for
from joinedup.disclosure.sharing import SourceScope, scope_release, source_scope
from joinedup.disclosure.suppression import Relation, protect_cells
from joinedup.disclosure.tiers import Tier
from joinedup.errors import JoinedupError, ReleaseError
from joinedup.insight.places import RESIDENTIAL, WINDOWS
from joinedup.views.release import (
    ReleaseLike,
    open_release_connection,
    partnership_config,
    policy_dict,
    release_facts,
)

__all__ = [
    "HOTSPOT_LIMIT",
    "WINDOW_LABELS",
    "PlacesError",
    "area_level",
    "current_area_shapes",
    "current_places",
    "place_type_label",
]

#: How many places of the ranking are shown.
HOTSPOT_LIMIT = 25

#: The time windows of ``place_hotspot`` in words.
WINDOW_LABELS: dict[str, str] = {
    "all": "All time",
    "12 months": "Last 12 months",
    "3 months": "Last 3 months",
}

_LEVEL_LABELS = {"small_area": "Small area", "ward": "Ward"}
_PARENT_LEVEL: dict[str, str] = {"small_area": "ward", "ward": "authority"}


class PlacesError(JoinedupError):
    """A choice on the places page is not one the release offers."""


def area_level(tier: Tier) -> str:
    """The area a tier sees children by: small areas, or wards at the community tier."""
    return "ward" if Tier(tier) is Tier.COMMUNITY else "small_area"


def place_type_label(place_type: str | None) -> str:
    """A place type in words: ``licensed_premises`` -> "Licensed premises"."""
    if not place_type:
        return "Unknown type"
    text = place_type.replace("_", " ")
    return text[:1].upper() + text[1:]


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _since(reference: dt.date | None, window: str) -> dt.date | None:
    months = dict(WINDOWS)[window]
    if months is None or reference is None:
        return None
    year, month = divmod(reference.month - 1 - months, 12)
    first = dt.date(reference.year + year, month + 1, 1)
    # The same day of the month, or the last day of a shorter month (as DuckDB does).
    day = reference.day
    while True:
        try:
            return first.replace(day=day)
        except ValueError:
            day -= 1


def _area_children_sql(level: str, *, with_type: bool) -> str:
    """Distinct children (under 18 on the day) in concern events at places, by area.

    The same events and persons as ``place_hotspot``: concern events (an exploitation type
    recorded, any role but witness) and missing episodes (where the child was found).
    Parameters: since (or NULL), reference date (or NULL), and the place type if asked.
    """
    res = ", ".join(_lit(t) for t in RESIDENTIAL)
    type_filter = "AND pl.place_type = ?" if with_type else ""
    return f"""WITH kids AS (
  SELECT person_id, place_id, event_date FROM person_concern
  WHERE place_id IS NOT NULL AND role <> 'witness' AND age_at_event < 18
  UNION
  SELECT m.person_id, e.place_id, e.event_date FROM missing_episode m
  JOIN event e USING (event_id)
  WHERE e.place_id IS NOT NULL AND m.age_at_event < 18
),
counted AS (
  SELECT k.person_id, pl.{level} AS area FROM kids k JOIN place pl USING (place_id)
  WHERE (CAST(? AS DATE) IS NULL OR k.event_date > CAST(? AS DATE))
    AND (CAST(? AS DATE) IS NULL OR k.event_date <= CAST(? AS DATE))
    AND NOT (coalesce(pl.place_type IN ({res}), false) AND pl.postcode IS NULL)
    {type_filter}
)
SELECT area, count(DISTINCT person_id), grouping(area) FROM counted GROUP BY ROLLUP (area)"""


def _reference(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    row = con.execute("SELECT value FROM release_info WHERE key = 'reference_date'").fetchone()
    if row is None or not row[0]:
        return None
    try:
        return dt.date.fromisoformat(str(row[0]))
    except ValueError:
        return None


def _areas(
    con: duckdb.DuckDBPyConnection,
    level: str,
    policy: DisclosurePolicy,
    *,
    since: dt.date | None,
    reference: dt.date | None,
    place_type: str | None,
) -> dict[str, Any]:
    names = dict(con.execute("SELECT area_code, area_name FROM area").fetchall())
    parent_of = {
        str(c): (None if p is None else str(p))
        for c, p in con.execute("SELECT area_code, parent_code FROM area").fetchall()
    }
    listed = con.execute(
        "SELECT area_code, area_name, parent_code FROM area WHERE area_type = ? "
        "ORDER BY area_name, area_code",
        [level],
    ).fetchall()
    params: list[object] = [since, since, reference, reference]
    if place_type:
        params.append(place_type)
    counts: dict[str | None, int] = {}
    total = 0
    for area, n, grouping in con.execute(
        _area_children_sql(level, with_type=bool(place_type)), params
    ).fetchall():
        if grouping:
            total = int(n)
        else:
            counts[area] = int(n)
    codes = [str(c) for c, _, _ in listed]
    known = set(codes)
    # Children at places whose area is missing or outside the partnership's geography.
    unknown_keys = [k for k in counts if k is None or k not in known]
    values: dict[str, int] = {c: counts.get(c, 0) for c in codes}
    if unknown_keys:
        values["__unknown__"] = _distinct_unknown(counts, unknown_keys)
    cells, published_total = _protect_hierarchy(
        con,
        values,
        total,
        parent_of,
        policy,
        level=level,
        params=params,
        with_type=bool(place_type),
    )
    rows = [
        {
            "code": code,
            "name": str(name or code),
            "parent": None if parent is None else str(names.get(parent, parent)),
            "children": cells[str(code)],
        }
        for code, name, parent in listed
    ]
    return {
        "level": level,
        "level_label": _LEVEL_LABELS[level],
        "parent_label": "Local authority" if _PARENT_LEVEL[level] == "authority" else "Ward",
        "rows": rows,
        "unknown": cells.get("__unknown__") if unknown_keys else None,
        "total": published_total,
    }


def _protect_hierarchy(
    con: duckdb.DuckDBPyConnection,
    values: dict[str, int],
    total: int,
    parent_of: dict[str, str | None],
    policy: DisclosurePolicy,
    *,
    level: str,
    params: list[object],
    with_type: bool,
) -> tuple[dict[str, Any], Any]:
    """The areas' counts protected with their parents' (ward, authority) and the total, as
    one table: each parent is the sum of its areas, the total the sum of the top areas."""
    cells: dict[tuple[str, str], int] = {("area", c): v for c, v in values.items()}
    relations: list[Relation[tuple[str, str]]] = []
    current = {c: parent_of.get(c) for c in values if c != "__unknown__"}
    parent_level = _PARENT_LEVEL.get(level)
    while parent_level is not None and any(current.values()):
        children: dict[str, list[tuple[str, str]]] = {}
        for code, parent in current.items():
            if parent is not None:
                children.setdefault(parent, []).append(("area", code))
        counted = _counts_at(con, parent_level, params, with_type)
        for parent, parts in children.items():
            cells[("area", parent)] = counted.get(parent, 0)
            relations.append(Relation(("area", parent), tuple(parts)))
        current = {p: parent_of.get(p) for p in children}
        parent_level = _PARENT_LEVEL.get(parent_level)
    cells[("total", "")] = total
    top = [("area", c) for c in current] + (
        [("area", "__unknown__")] if "__unknown__" in values else []
    )
    relations.append(Relation(("total", ""), tuple(top)))
    relations.append(Relation(("total", ""), tuple(("area", c) for c in values)))
    out = protect_cells(cells, relations, policy)
    return {c: out[("area", c)] for c in values}, out[("total", "")]


def _counts_at(
    con: duckdb.DuckDBPyConnection, level: str, params: list[object], with_type: bool
) -> dict[str, int]:
    """Distinct children per area of ``level``, counted as the listed areas are."""
    return {
        str(area): int(n)
        for area, n, grouping in con.execute(
            _area_children_sql(level, with_type=with_type), params
        ).fetchall()
        if not grouping and area is not None
    }


def _distinct_unknown(counts: dict[str | None, int], keys: list[str | None]) -> int:
    # Distinct children across several unknown areas cannot be summed exactly; their sum is
    # an upper bound, which is what the table may assume (protected as if exact).
    return sum(counts[k] for k in keys)


def _hotspots(
    con: duckdb.DuckDBPyConnection,
    policy: DisclosurePolicy,
    *,
    window: str,
    place_type: str | None,
) -> list[dict[str, Any]]:
    names = dict(con.execute("SELECT area_code, area_name FROM area").fetchall())
    where = "time_window = ?"
    params: list[object] = [window]
    if place_type:
        where += " AND place_type = ?"
        params.append(place_type)
    rows = con.execute(
        "SELECT place_rank, label, place_type, residential, small_area, ward, authority, "
        f"children, persons_of_concern, events FROM place_hotspot WHERE {where} "
        "ORDER BY place_rank LIMIT ?",
        [*params, HOTSPOT_LIMIT],
    ).fetchall()
    values: dict[tuple[int, str], int] = {}
    for i, r in enumerate(rows):
        values[(i, "children")] = int(r[7])
        values[(i, "persons_of_concern")] = int(r[8])
        values[(i, "events")] = int(r[9])
    # No published relation ties the cells of the ranking together (no totals are shown,
    # and persons appear at several places), so each is protected on its own.
    cells = protect_cells(values, [], policy)
    out = []
    for i, r in enumerate(rows):
        out.append(
            {
                # Ranks are positions, not counts: published as text.
                "rank": str(r[0]),
                "label": str(r[1]),
                "place_type": r[2],
                "place_type_label": place_type_label(r[2]),
                "residential": bool(r[3]),
                "small_area": None if r[4] is None else str(names.get(r[4], r[4])),
                "ward": None if r[5] is None else str(names.get(r[5], r[5])),
                "authority": None if r[6] is None else str(names.get(r[6], r[6])),
                "children": cells[(i, "children")],
                "persons_of_concern": cells[(i, "persons_of_concern")],
                "events": cells[(i, "events")],
            }
        )
    return out


_open = open_release_connection


def _place_types(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT place_type FROM place_hotspot WHERE place_type IS NOT NULL "
        "ORDER BY place_type"
    ).fetchall()
    return [str(r[0]) for r in rows]


@per_release
def current_places(
    partnership_dir: Path,
    tier: Tier,
    *,
    window: str = "all",
    place_type: str | None = None,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """Children at places of concern by area, and the hotspots, protected for ``tier``.

    ``window`` is one of ``place_hotspot``'s time windows (all, 12 months, 3 months);
    ``place_type`` narrows both to one type of place. Raises :class:`PlacesError` for a
    window or place type the release does not have, and
    :class:`~joinedup.errors.ReleaseError` when there is no release or it has no places.
    """
    tier = Tier(tier)
    if window not in WINDOW_LABELS:
        raise PlacesError(
            f"There is no time window '{window}'; choose one of: {', '.join(WINDOW_LABELS)}."
        )
    config = config if config is not None else partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    handle, con = _open(partnership_dir, open_release)
    try:
        try:
            types = _place_types(con)
        except duckdb.CatalogException as exc:
            raise ReleaseError(
                f"Release {handle.release_id} holds no places of concern: it was built by an "
                "older joinedup. Run `joinedup build DIR` to rebuild it."
            ) from exc
        if place_type and place_type not in types:
            raise PlacesError(
                "There is no place type of that name in this release; choose one from the list."
            )
        release = release_facts(con)
        hotspots = None
        if tier is not Tier.COMMUNITY and not scope.excluded:
            hotspots = _hotspots(con, policy, window=window, place_type=place_type)
        reference = _reference(con)
        scope_release(con, scope)
        level = area_level(tier)
        areas = _areas(
            con,
            level,
            policy,
            since=_since(reference, window),
            reference=reference,
            place_type=place_type,
        )
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    out: dict[str, Any] = {
        "tier": tier.value,
        "release": release,
        "disclosure": policy_dict(policy),
        "choices": {
            "window": window,
            "place_type": place_type,
            "windows": [{"value": k, "label": v} for k, v in WINDOW_LABELS.items()],
            "place_types": [{"value": t, "label": place_type_label(t)} for t in types],
        },
        "areas": areas,
        "hotspots": hotspots,
        "hotspots_note": _hotspots_note(tier, scope),
    }
    if scope.excluded:
        out["exclusions"] = scope.as_dict()
    return out


def _hotspots_note(tier: Tier, scope: SourceScope) -> str | None:
    if tier is Tier.COMMUNITY:
        return (
            "Single places are not listed at the community tier: the figures are shown by "
            "ward only."
        )
    if scope.excluded:
        return (
            "The ranking of places is worked out from every source when the release is "
            "built. A sharing agreement leaves a source out at this tier, so the ranking "
            "is not shown; the map and its table leave that source out."
        )
    return None


_SHAPES: dict[tuple[str, str], dict[str, Any]] = {}


@per_release
def current_area_shapes(
    partnership_dir: Path,
    level: str,
    *,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """Boundaries of the release's areas of one level (small_area, ward or authority):
    code -> GeoJSON geometry. Public geography, not figures; kept per release."""
    if level not in ("small_area", "ward", "authority"):
        raise PlacesError(f"There is no area level '{level}'.")
    handle, con = _open(partnership_dir, open_release)
    try:
        key = (str(handle.release_id), level)
        if key in _SHAPES:
            return _SHAPES[key]
        rows = con.execute(
            "SELECT area_code, geometry FROM area WHERE area_type = ? AND geometry IS NOT NULL",
            [level],
        ).fetchall()
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}). "
            "Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    shapes: dict[str, Any] = {}
    for code, geometry in rows:
        try:
            shapes[str(code)] = json.loads(geometry)
        except ValueError:
            continue  # a boundary that is not GeoJSON is left off the map (the table has it)
    if len(_SHAPES) > 16:
        _SHAPES.clear()
    _SHAPES[key] = shapes
    return shapes
