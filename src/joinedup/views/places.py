"""Places as each tier may see them: children by area (for the map) and the two rankings
of places, for a period (issue 14).

A place is a distinct location (``joinedup.insight.places``); the rankings are the
*hotspots* (distinct children on events with an exploitation type there) and, apart,
*where missing children are found*. Periods are those of the questions: the
partnership's default period and all time are read from the release's ``place_hotspot``;
any other period (whole months) is counted on request by the same SQL and its counts are
rounded to at least :data:`~joinedup.views.answers.ON_REQUEST_ROUNDING`, as a question's
are. A default-period count that is 1 to the threshold fewer than the place's all-time
count is hidden, so that the two stored periods cannot be compared to count a few
children.

What leaves the store, by tier:

- operational and strategic: distinct children involved in concern events at places in
  each **small area** (the map), protected together with their total; and the top
  :data:`HOTSPOT_LIMIT` places of each ranking, each place's children, persons of concern
  and events protected on their own. Residential places are never named ("Residential
  address in <small area>"). At the strategic tier a business or public place is named
  only beside a count of children that is shown (more than the threshold); otherwise it
  is "<Type> in <small area>", numbered where two read alike. The operational tier sees
  the names. No place id, postcode or date is published; two places are never shown
  under one label.
- community: the same map by **ward** at the community threshold, and no ranking:
  naming single places (businesses, parks) to a community audience is left to the
  partnership's own judgement in its reports.

The area figures are computed on the release narrowed to the sources the tier's sharing
agreements permit. The rankings are computed over every source, so they are not shown at
a tier whose agreements leave a source out (the page says why).

Counts of events are not counts of people, but a count of one or two events at a
residential address in a small area says as much as a count of children, so they are
protected in the same way.

The areas are protected as one hierarchy: each area's children are a part of its parent
area's (small area -> ward -> local authority), and the authorities' of the total. The
parents are not listed on the page, but other outputs publish figures by ward and by
authority, so a reader may know them: hidden areas under one parent are therefore at
least two, and add up to more than the threshold (secondary suppression), and no hidden
area can be worked out from its parent's figure.

With ``disclosure.method: cell_key`` (issue 19) every number on the page (each area's
children, the unknown area, the total, and each ranked place's children, persons of
concern and events) is perturbed by its own cell key, the sum of the record keys of the
people (or events) it counts, as the questions' figures are (:mod:`joinedup.views.cellkey`):
no hierarchy or period needs protecting, and a period on request is not rounded further.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure.policy import DisclosurePolicy, policy_for
from joinedup.disclosure.sharing import scope_release, source_scope
from joinedup.disclosure.suppression import Relation, protect_cells
from joinedup.disclosure.tiers import Tier
from joinedup.errors import JoinedupError, ReleaseError
from joinedup.insight.answers import release_period
from joinedup.insight.periods import Period
from joinedup.insight.places import RANKINGS, RESIDENTIAL
from joinedup.insight.questions import QuestionError
from joinedup.views.answers import ON_REQUEST_ROUNDING
from joinedup.views.cellkey import (
    KEYED,
    PageKeys,
    page_disclosure,
    page_keys,
    perturb_cell,
)
from joinedup.views.memo import per_release
from joinedup.views.place_rankings import (
    HOTSPOT_LIMIT,
    hotspots_note,
    on_request_note,
    place_type_label,
    ranking_rows,
)
from joinedup.views.questions import period_choice
from joinedup.views.release import (
    ReleaseLike,
    open_release_connection,
    partnership_config,
    policy_dict,
    release_facts,
)

__all__ = [
    "HOTSPOT_LIMIT",
    "RANKING_LABELS",
    "PlacesError",
    "area_level",
    "current_area_outlines",
    "current_area_shapes",
    "current_places",
    "place_type_label",
]

#: The rankings of places in words (the JSON twin's keys: hotspots, found).
RANKING_LABELS: dict[str, str] = dict(RANKINGS)

_LEVEL_LABELS = {"small_area": "Small area", "ward": "Ward"}
_PARENT_LEVEL: dict[str, str] = {"small_area": "ward", "ward": "authority"}


class PlacesError(JoinedupError):
    """A choice on the places page is not one the release offers."""


def area_level(tier: Tier) -> str:
    """The area a tier sees children by: small areas, or wards at the community tier."""
    return "ward" if Tier(tier) is Tier.COMMUNITY else "small_area"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _area_children_sql(level: str, *, with_type: bool, keyed: bool = False) -> str:
    """Distinct children (under 18 on the day) in concern events at places, by area.

    The same events and persons as the hotspots (``place_hotspot``, ranking ``concern``):
    events with an exploitation type recorded, any role but witness. Parameters: since (or
    NULL: rows after it), the last day (or NULL), and the place type if asked. With
    ``keyed`` each row also has its cell key (from the view :data:`PERSON_KEYS`), and
    areas that are not of ``level`` in ``area`` (missing or outside the geography) count
    together as ``__unknown__``.
    """
    res = ", ".join(_lit(t) for t in RESIDENTIAL)
    type_filter = "AND pl.place_type = ?" if with_type else ""
    sql = f"""WITH kids AS (
  SELECT person_id, place_id, event_date FROM person_concern
  WHERE place_id IS NOT NULL AND role <> 'witness' AND age_at_event < 18
),
counted AS (
  SELECT k.person_id, pl.{level} AS area FROM kids k JOIN place pl USING (place_id)
  WHERE (CAST(? AS DATE) IS NULL OR k.event_date > CAST(? AS DATE))
    AND (CAST(? AS DATE) IS NULL OR k.event_date <= CAST(? AS DATE))
    AND NOT (coalesce(pl.place_type IN ({res}), false) AND pl.postcode IS NULL)
    {type_filter}
)
"""
    if keyed:
        return (
            sql + "SELECT CASE WHEN c.area IN (SELECT area_code FROM area WHERE area_type = "
            f"{_lit(level)}) THEN c.area ELSE '__unknown__' END AS place_area, "
            f"count(DISTINCT c.person_id), grouping(place_area), {KEYED} FROM counted c "
            f"LEFT JOIN {PERSON_KEYS} ck ON ck.unit_id = c.person_id GROUP BY ROLLUP (place_area)"
        )
    return (
        sql + "SELECT area, count(DISTINCT person_id), grouping(area) FROM counted "
        "GROUP BY ROLLUP (area)"
    )


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
    small_change: bool = False,
    keys: PageKeys | None = None,
) -> dict[str, Any]:
    """Children by area of ``level`` with rows after ``since`` up to ``reference`` (None:
    open), protected as one hierarchy. With ``small_change`` (the default period), an
    area or total that is 1 to the threshold fewer than over all time is hidden too.
    With ``keys`` (cell key perturbation) each is perturbed by its own cell key."""
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
    if keys is not None:
        cells, published_total = _perturbed_areas(
            con, level, policy, keys, codes, params=params, with_type=bool(place_type)
        )
        unknown_keys = unknown_keys or (["__unknown__"] if "__unknown__" in cells else [])
        return _areas_dict(level, listed, names, cells, published_total, bool(unknown_keys))
    hide: set[tuple[str, str]] = set()
    if small_change:
        every = [None, None, None, None] + ([place_type] if place_type else [])
        ever: dict[str | None, int] = {}
        for area, n, grouping in con.execute(
            _area_children_sql(level, with_type=bool(place_type)), every
        ).fetchall():
            ever["\x00total" if grouping else area] = int(n)
        for code in codes:
            if policy.is_small(ever.get(code, 0) - values[code]):
                hide.add(("area", code))
        if policy.is_small(ever.get("\x00total", 0) - total):
            hide.add(("total", ""))
    cells, published_total = _protect_hierarchy(
        con,
        values,
        total,
        parent_of,
        policy,
        level=level,
        params=params,
        with_type=bool(place_type),
        hide=hide,
    )
    return _areas_dict(level, listed, names, cells, published_total, bool(unknown_keys))


def _areas_dict(
    level: str,
    listed: list[tuple[Any, ...]],
    names: dict[Any, Any],
    cells: dict[str, Any],
    published_total: Any,
    unknown: bool,
) -> dict[str, Any]:
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
        "unknown": cells.get("__unknown__") if unknown else None,
        "total": published_total,
    }


#: The view of every person's record key (:meth:`PageKeys.units`).
PERSON_KEYS = "_ju_ck_person"


def _perturbed_areas(
    con: duckdb.DuckDBPyConnection,
    level: str,
    policy: DisclosurePolicy,
    keys: PageKeys,
    codes: list[str],
    *,
    params: list[object],
    with_type: bool,
) -> tuple[dict[str, Any], Any]:
    """Children by area (and in areas outside the geography, together), and the total,
    each perturbed by its own cell key: no relation between them needs protecting."""
    keys.units(con, PERSON_KEYS, "SELECT person_id FROM person")
    counted: dict[str, tuple[int, int | None]] = {}
    total: Any = 0
    for area, n, grouping, ckey in con.execute(
        _area_children_sql(level, with_type=with_type, keyed=True), params
    ).fetchall():
        if grouping:
            total = perturb_cell(int(n), ckey, policy)
        else:
            counted[str(area)] = (int(n), ckey)
    cells = {c: perturb_cell(*counted.get(c, (0, None)), policy) for c in codes}
    if "__unknown__" in counted:
        cells["__unknown__"] = perturb_cell(*counted["__unknown__"], policy)
    return cells, total


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
    hide: set[tuple[str, str]] | None = None,
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
    out = protect_cells(cells, relations, policy, hidden=hide or ())
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


_open = open_release_connection


def _place_types(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT place_type FROM place_hotspot WHERE place_type IS NOT NULL "
        "AND ranking IS NOT NULL ORDER BY place_type"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _choose(start: str | None, end: str | None, period: str | None) -> Period | None:
    try:
        return period_choice(start=start, end=end, period=period, names=("from", "to"))
    except QuestionError as exc:
        raise PlacesError(str(exc)) from None


@per_release
def current_places(
    partnership_dir: Path,
    tier: Tier,
    *,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    place_type: str | None = None,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """Children at places of concern by area, and the two rankings of places (hotspots,
    and where missing children are found), protected for ``tier``, for a period: the
    default period, ``period`` "default" or "all", or ``start``/``end`` (ISO dates, whole
    months) as a question takes it. ``place_type`` narrows all three to one type of place.

    Raises :class:`PlacesError` for a period or place type the release cannot answer, and
    :class:`~joinedup.errors.ReleaseError` when there is no release or it has no places.
    """
    tier = Tier(tier)
    chosen = _choose(start, end, period)
    config = config if config is not None else partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    handle, con = _open(partnership_dir, open_release)
    try:
        try:
            types = _place_types(con)
        except duckdb.Error as exc:
            raise ReleaseError(
                f"Release {handle.release_id} holds no rankings of places: it was built by an "
                "older joinedup. Run `joinedup build DIR` to rebuild it."
            ) from exc
        if place_type and place_type not in types:
            raise PlacesError(
                "There is no place type of that name in this release; choose one from the list."
            )
        shown_period, key = release_period(con, chosen)
        keys = page_keys(partnership_dir, policy)
        if key is None and keys is None:
            policy = replace(
                policy, rounding_base=max(policy.rounding_base or 1, ON_REQUEST_ROUNDING)
            )
        release = release_facts(con)
        rankings: dict[str, list[dict[str, Any]] | None] = dict.fromkeys(RANKINGS)
        if tier is not Tier.COMMUNITY and not scope.excluded:
            for ranking in RANKINGS:
                rankings[ranking] = ranking_rows(
                    con,
                    policy,
                    tier,
                    period=shown_period,
                    key=key,
                    ranking=ranking,
                    place_type=place_type,
                    keys=keys,
                )
        scope_release(con, scope)
        since = None if shown_period.start is None else shown_period.start - dt.timedelta(1)
        areas = _areas(
            con,
            area_level(tier),
            policy,
            since=since,
            reference=shown_period.end,
            place_type=place_type,
            small_change=key == "default",
            keys=keys,
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
        "disclosure": policy_dict(policy) if policy.method != "cell_key" else None,
        "period": {
            **shown_period.as_dict(),
            "stored": key is not None,
            "note": None if key is not None else on_request_note(keys),
        },
        "choices": {
            "period": key or "custom",
            "from": start or "",
            "to": end or "",
            "place_type": place_type,
            "place_types": [{"value": t, "label": place_type_label(t)} for t in types],
        },
        "rankings": dict(RANKING_LABELS),
        "areas": areas,
        "hotspots": rankings["concern"],
        "found": rankings["found"],
        "hotspots_note": hotspots_note(tier, scope),
    }
    if policy.method == "cell_key":
        out["disclosure"] = page_disclosure(policy, keys)
    if scope.excluded:
        out["exclusions"] = scope.as_dict()
    return out


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


#: The levels above each level, drawn as outlines over a map of it.
_ABOVE: dict[str, tuple[str, ...]] = {
    "small_area": ("ward", "authority"),
    "ward": ("authority",),
    "authority": (),
}


@per_release
def current_area_outlines(
    partnership_dir: Path,
    level: str,
    *,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> list[dict[str, Any]]:
    """The areas above ``level`` (wards and authorities over small areas; authorities
    over wards) with their names, levels and boundaries (GeoJSON), for the map's outlines
    and labels. Public geography, not figures; areas without a boundary are left out."""
    if level not in _ABOVE:
        raise PlacesError(f"There is no area level '{level}'.")
    above = _ABOVE[level]
    if not above:
        return []
    handle, con = _open(partnership_dir, open_release)
    try:
        rows = con.execute(
            "SELECT area_code, area_name, area_type, geometry FROM area "
            f"WHERE area_type IN ({', '.join('?' for _ in above)}) AND geometry IS NOT NULL "
            "ORDER BY area_type, area_name, area_code",
            list(above),
        ).fetchall()
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}). "
            "Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    out = []
    for code, name, kind, geometry in rows:
        try:
            shape = json.loads(geometry)
        except ValueError:
            continue  # a boundary that is not GeoJSON is left off the map
        if isinstance(shape, dict) and shape.get("type") in {
            "Polygon",
            "MultiPolygon",
            "GeometryCollection",
        }:
            out.append(
                {
                    "code": str(code),
                    "name": str(name or code),
                    "level": str(kind),
                    "geometry": shape,
                }
            )
    return out
