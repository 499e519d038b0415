"""Where children and young people say they feel unsafe (issue 20, item 2), as each tier
may see it: the places page's second layer, and a short section of the community
briefing.

Surveys and mapping exercises (``participation_count``: responses and those saying
unsafe, by survey, ward and date) are counted **by ward at every tier**: many are
reported by ward, and a ward is as fine as children's own maps can be shown without
pointing at a single place. Beside each ward is the number of children at places of
concern recorded there by the agencies, protected at the same tier as the places page's
community map protects it (``joinedup.views.places``), so that the page can show where
children feel unsafe but nothing is recorded.

Protection, as for any count (``joinedup.disclosure``): responses and those saying
unsafe in each ward are protected as one table with their authorities and the total
(each the sum of its parts), and each ward's responses as the sum of those saying unsafe
and the rest, so no small number (of those saying unsafe, or of the rest) can be worked
out. A survey whose sharing agreement does not list the tier contributes nothing there,
and the page says so. Periods are the places page's: the default period, all time, or
whole months (rounded as on-request counts are); in the default period a cell 1 to the
threshold fewer than over all time is hidden, so that two periods cannot be compared to
count a few responses. A row's date is the response's date or, for an aggregate table,
the end of its period.
"""

from __future__ import annotations

import datetime as dt
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
from joinedup.errors import ReleaseError
from joinedup.insight.answers import release_period
from joinedup.views.answers import ON_REQUEST_ROUNDING
from joinedup.views.memo import per_release
from joinedup.views.places import _areas, _choose
from joinedup.views.release import (
    ReleaseLike,
    open_release_connection,
    partnership_config,
    policy_dict,
)

__all__ = ["current_participation"]

_MEASURES = ("responses", "unsafe")
_UNKNOWN = "__unknown__"
_TOTAL = "__total__"


def _permitted(config: PartnershipConfig | None, tier: Tier) -> tuple[set[str], list[str]]:
    """(ids of surveys the tier may draw on, titles of those left out)."""
    if config is None:
        return set(), []
    tiers = {a.key: set(a.tiers) for a in config.sharing_agreements}
    ok, out = set(), []
    for p in config.participation:
        if tier.value in tiers.get(p.sharing_agreement, set()):
            ok.add(p.id)
        else:
            out.append(p.title)
    return ok, out


def _counts(
    con: duckdb.DuckDBPyConnection,
    ids: set[str],
    since: dt.date | None,
    until: dt.date | None,
) -> dict[str, tuple[int, int]]:
    """Ward (or __unknown__) -> (responses, unsafe) in the period."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = con.execute(
        "SELECT c.ward, sum(c.responses), sum(c.unsafe) FROM participation_count c "
        f"WHERE c.participation IN ({marks}) "
        "AND (CAST(? AS DATE) IS NULL OR c.on_date > CAST(? AS DATE)) "
        "AND (CAST(? AS DATE) IS NULL OR c.on_date <= CAST(? AS DATE)) "
        "GROUP BY ALL",
        [*sorted(ids), since, since, until, until],
    ).fetchall()
    out: dict[str, tuple[int, int]] = {}
    for ward, responses, unsafe in rows:
        key = _UNKNOWN if ward is None else str(ward)
        r0, u0 = out.get(key, (0, 0))
        out[key] = (r0 + int(responses or 0), u0 + int(unsafe or 0))
    return out


def _protect(
    values: dict[str, tuple[int, int]],
    wards: list[tuple[str, str, str | None]],
    policy: DisclosurePolicy,
    hide: set[tuple[str, str]],
) -> dict[tuple[str, str], Any]:
    """Each ward's responses and unsafe (and the rest), with authorities and the total."""
    known = {code for code, _, _ in wards}
    cells: dict[tuple[str, str], int] = {}
    relations: list[Relation[tuple[str, str]]] = []
    by_authority: dict[str, list[str]] = {}
    for code, _, parent in wards:
        r, u = values.get(code, (0, 0))
        cells[("responses", code)], cells[("unsafe", code)] = r, u
        cells[("rest", code)] = r - u
        by_authority.setdefault(parent or _UNKNOWN + "la", []).append(code)
    # responses placed outside the partnership's wards count as not placed
    stray = [k for k in values if k not in known]
    r = sum(values[k][0] for k in stray)
    u = sum(values[k][1] for k in stray)
    parts = [*known]
    if stray:
        cells[("responses", _UNKNOWN)], cells[("unsafe", _UNKNOWN)] = r, u
        cells[("rest", _UNKNOWN)] = r - u
        parts.append(_UNKNOWN)
    for m in (*_MEASURES, "rest"):
        tops = []
        for la, codes in by_authority.items():
            cells[(m, "la:" + la)] = sum(cells[(m, c)] for c in codes)
            relations.append(Relation((m, "la:" + la), tuple((m, c) for c in codes)))
            tops.append((m, "la:" + la))
        if stray:
            tops.append((m, _UNKNOWN))
        cells[(m, _TOTAL)] = sum(cells[(m, c)] for c in parts)
        relations.append(Relation((m, _TOTAL), tuple(tops)))
    for code in (*parts, *("la:" + la for la in by_authority), _TOTAL):
        relations.append(Relation(("responses", code), (("unsafe", code), ("rest", code))))
    return protect_cells(cells, relations, policy, hidden=hide)


@per_release
def current_participation(
    partnership_dir: Path,
    tier: Tier,
    *,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """Responses, and those saying they feel unsafe, by ward, with children at places of
    concern recorded in each ward, protected for ``tier``, for the period chosen as on the
    places page. ``available`` is False when the release holds no participation data
    (or none the tier may see)."""
    tier = Tier(tier)
    chosen = _choose(start, end, period)
    config = config if config is not None else partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    ids, left_out = _permitted(config, tier)
    handle, con = open_release_connection(partnership_dir, open_release)
    try:
        try:
            held = {
                str(r[0]): r[1:]
                for r in con.execute(
                    "SELECT participation, title, kind, agency, first_date, last_date "
                    "FROM participation_source ORDER BY participation"
                ).fetchall()
            }
        except duckdb.CatalogException:
            held = {}  # a release from before issue 20
        ids &= set(held)
        shown_period, key = release_period(con, chosen)
        if key is None:
            policy = replace(
                policy, rounding_base=max(policy.rounding_base or 1, ON_REQUEST_ROUNDING)
            )
        since = None if shown_period.start is None else shown_period.start - dt.timedelta(1)
        values = _counts(con, ids, since, shown_period.end)
        wards = [
            (str(c), str(n or c), None if p is None else str(p))
            for c, n, p in con.execute(
                "SELECT area_code, area_name, parent_code FROM area WHERE area_type = 'ward' "
                "ORDER BY area_name, area_code"
            ).fetchall()
        ]
        names = dict(con.execute("SELECT area_code, area_name FROM area").fetchall())
        hide: set[tuple[str, str]] = set()
        if key == "default":
            ever = _counts(con, ids, None, None)
            for code in [*(w for w, _, _ in wards), _UNKNOWN]:
                for i, m in enumerate(_MEASURES):
                    now = values.get(code, (0, 0))[i]
                    if policy.is_small(ever.get(code, (0, 0))[i] - now):
                        hide.add((m, code))
        cells = _protect(values, wards, policy, hide) if ids else {}
        recorded: dict[str, Any] = {}
        if ids:
            scope_release(con, source_scope(config, tier))
            areas = _areas(
                con,
                "ward",
                policy,
                since=since,
                reference=shown_period.end,
                place_type=None,
                small_change=key == "default",
            )
            recorded = {r["code"]: r["children"] for r in areas["rows"]}
    except duckdb.Error as exc:
        raise ReleaseError(
            f"Release {handle.release_id} cannot be read ({type(exc).__name__}): it may "
            "be from an older version of joinedup. Run `joinedup build DIR` to rebuild it."
        ) from exc
    finally:
        con.close()
    rows = [
        {
            "code": code,
            "name": name,
            "parent": None if parent is None else str(names.get(parent, parent)),
            "responses": cells[("responses", code)],
            "unsafe": cells[("unsafe", code)],
            "recorded_children": recorded.get(code),
        }
        for code, name, parent in wards
        if ids
    ]
    unknown = None
    if ("responses", _UNKNOWN) in cells:
        unknown = {
            "responses": cells[("responses", _UNKNOWN)],
            "unsafe": cells[("unsafe", _UNKNOWN)],
        }
    return {
        "tier": tier.value,
        "available": bool(ids),
        "level": "ward",
        "level_label": "Ward",
        "disclosure": policy_dict(policy),
        "period": {**shown_period.as_dict(), "stored": key is not None},
        "surveys": [
            {
                "id": pid,
                "title": str(held[pid][0]),
                "kind": str(held[pid][1]),
                "agency": str(held[pid][2]),
                "first_date": None if held[pid][3] is None else held[pid][3].isoformat(),
                "last_date": None if held[pid][4] is None else held[pid][4].isoformat(),
            }
            for pid in sorted(ids)
        ],
        "left_out": left_out,
        "rows": rows,
        "unknown": unknown,
        "total": {m: cells[(m, _TOTAL)] for m in _MEASURES} if ids else None,
    }
