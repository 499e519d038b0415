"""Network groups as each tier may see them.

What leaves the store, by tier:

- strategic (and the group list at operational): one row a network group with its
  members by role (children, persons of concern, others) protected together as a
  two-way table with its margins; the density of connections (a share, not a count);
  the exploitation types and agencies recorded on members' concern events; the number
  of distinct places of those events (protected like a count of people: a group seen at
  one or two places would point to them) and the commonest types of those places, by
  name only; and whether a source recorded the group (a county line, an organised
  group), not its name.
- operational, for a user allowed person-level data (:func:`current_network` with
  ``person_level=True``): one group's members by pseudonymous person id with their
  role, connections, betweenness, whether they bridge to another group, agencies and
  exploitation types; the connections between members; the names of recorded groups;
  the place types with their counts of places. The caller must write each member shown
  to the audit log before showing them.
- community: nothing. Networks are about named individuals' associations; even counts
  of groups are not published to a community audience (the ``network_groups`` question
  is not available at that tier either).

The network tables are built over every source, so at a tier whose sharing agreements
leave a source out the groups are not shown at all (the page says why).

Issue 16: every group has a ``name`` in words, made from what its row already publishes
(its commonest exploitation types and types of place), so a reader can find and tell
groups apart; :func:`match_groups` searches them by that name or id, and
:func:`network_of_person` finds the group of a pseudonymous person id (operational tier
only: the caller audits it). With ``person_level`` a group's summary counts are the exact
counts of the members the same page lists in full (hiding them would hide nothing), and
each member has a short ``label`` (C1 for the best-connected child, P1 for a person of
concern, O1 for anyone else) for the picture.

With ``disclosure.method: cell_key`` (issue 19) each group's members by role, its
members, the totals by role and of all members, and each group's places are perturbed by
their own cell keys: the sum of the record keys of the people (or places) they count,
the same keys as the questions' (``network_members`` counts the same people), so no
secondary suppression is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from joinedup.config.model import PartnershipConfig
from joinedup.disclosure.policy import DisclosurePolicy, policy_for
from joinedup.disclosure.sharing import SourceScope, source_scope
from joinedup.disclosure.suppression import TwoWayTable, protect_cells, protect_two_way
from joinedup.disclosure.tiers import Tier
from joinedup.errors import JoinedupError, ReleaseError
from joinedup.views.cellkey import KEYED, PageKeys, page_disclosure, page_keys, perturb_cell
from joinedup.views.memo import per_release
from joinedup.views.release import (
    ReleaseLike,
    open_release_connection,
    partnership_config,
    policy_dict,
    release_facts,
)

__all__ = [
    "NETWORK_ROLES",
    "ROLE_LETTERS",
    "NetworkNotFound",
    "NetworkNotShown",
    "current_network",
    "current_networks",
    "group_name",
    "match_groups",
    "network_cell_keys",
    "network_of_person",
]

#: The letter of a member's short label, by role (C1, P1, O1).
ROLE_LETTERS: dict[str, str] = {"child": "C", "person_of_concern": "P", "other": "O"}

#: How many exploitation types and place types a group's name holds.
NAME_PARTS = 2

#: Member roles in the order shown: role -> words.
NETWORK_ROLES: dict[str, str] = {
    "child": "Children",
    "person_of_concern": "Persons of concern",
    "other": "Others",
}

#: How many place types are named for a group.
TOP_PLACE_TYPES = 3


class NetworkNotShown(JoinedupError):
    """The tier may not see network groups (or one group's members)."""


class NetworkNotFound(JoinedupError):
    """There is no network group of that id in the current release."""


def _type_words(place_type: str | None) -> str:
    text = (place_type or "unknown").replace("_", " ")
    return text[:1].upper() + text[1:]


def _split(value: Any) -> list[str]:
    return [v for v in str(value or "").split(";") if v]


def _words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def group_name(exploitation_types: list[str], place_types: list[str]) -> str:
    """A group in words from what its row publishes: "CSE and Online, at hotels and
    parks" (its first exploitation types and commonest types of place)."""
    kinds = [t for t in exploitation_types if t and t != "Type not stated"][:NAME_PARTS]
    places = [p.lower() for p in place_types if p and p.lower() != "unknown"][:NAME_PARTS]
    text = _words(kinds) or "No exploitation type recorded"
    if places:
        text += ", at " + _words(places)
    return text


def match_groups(groups: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """The groups whose id, name, exploitation types, types of place or (where the row
    holds them) recorded group names contain every word of ``query``, any case."""
    words = [w for w in query.lower().split() if w]
    if not words:
        return list(groups)
    out = []
    for g in groups:
        text = " ".join(
            [
                g["network_id"],
                g.get("name", ""),
                *g["exploitation_types"],
                *g["place_types"],
                *(g.get("recorded_groups") or []),
            ]
        ).lower()
        if all(w in text for w in words):
            out.append(g)
    return out


_open = open_release_connection


def _not_built(handle: ReleaseLike) -> ReleaseError:
    return ReleaseError(
        f"Release {handle.release_id} holds no network groups: it was built by an older "
        "joinedup. Run `joinedup build DIR` to rebuild it."
    )


_PLACE_TYPES_SQL = """SELECT nm.network_id, pl.place_type, count(DISTINCT pc.place_id) AS places
FROM network_member nm
JOIN person_concern pc ON pc.person_id = nm.person_id
JOIN place pl ON pl.place_id = pc.place_id
WHERE pc.place_id IS NOT NULL AND pc.role <> 'witness'
GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"""


def _read_groups(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT network_id, members, children, persons_of_concern, edges, density, "
        "exploitation_types, agencies, places, recorded_groups FROM network_group "
        "ORDER BY network_id"
    ).fetchall()
    types: dict[str, list[tuple[str, int]]] = {}
    for nid, place_type, n in con.execute(_PLACE_TYPES_SQL).fetchall():
        types.setdefault(str(nid), []).append((str(place_type or "unknown"), int(n)))
    return [
        {
            "network_id": str(r[0]),
            "members": int(r[1]),
            "children": int(r[2]),
            "persons_of_concern": int(r[3]),
            "edges": int(r[4]),
            "density": float(r[5] or 0.0),
            "exploitation_types": _split(r[6]),
            "agencies": _split(r[7]),
            "places": int(r[8] or 0),
            "recorded_groups": _split(r[9]),
            "place_types": types.get(str(r[0]), []),
        }
        for r in rows
    ]


def _protect_groups(
    groups: list[dict[str, Any]],
    policy: DisclosurePolicy,
    keyed: dict[tuple[str | None, str | None], int | None] | None = None,
) -> dict[str, Any]:
    ids = [g["network_id"] for g in groups]
    roles = list(NETWORK_ROLES)
    cells: dict[tuple[str, str], int] = {}
    for g in groups:
        other = g["members"] - g["children"] - g["persons_of_concern"]
        cells[(g["network_id"], "child")] = g["children"]
        cells[(g["network_id"], "person_of_concern")] = g["persons_of_concern"]
        cells[(g["network_id"], "other")] = max(other, 0)
    row_totals = {g["network_id"]: g["members"] for g in groups}
    if keyed is not None:  # cell key perturbation: each count by its own key (issue 19)
        table = _perturbed_table(cells, row_totals, roles, policy, keyed)
        places = {
            g["network_id"]: perturb_cell(
                g["places"], keyed.get((g["network_id"], "places")), policy
            )
            for g in groups
        }
    else:
        # Groups do not overlap and every member has exactly one role: the margins are
        # sums.
        table = protect_two_way(cells, policy, rows=ids, cols=roles, row_totals=row_totals)
        # Counts of places, each on its own (no total of places is published).
        places = protect_cells({g["network_id"]: g["places"] for g in groups}, [], policy)
    rows = []
    for g in groups:
        nid = g["network_id"]
        rows.append(
            {
                "network_id": nid,
                "members": table.row_totals[nid],
                "children": table.cells[(nid, "child")],
                "persons_of_concern": table.cells[(nid, "person_of_concern")],
                "others": table.cells[(nid, "other")],
                "density": round(g["density"], 2),
                "exploitation_types": g["exploitation_types"],
                "agencies": g["agencies"],
                "places": places[nid],
                "place_types": [_type_words(t) for t, _ in g["place_types"][:TOP_PLACE_TYPES]],
                "named_by_source": bool(g["recorded_groups"]),
                "name": group_name(
                    g["exploitation_types"],
                    [_type_words(t) for t, _ in g["place_types"][:TOP_PLACE_TYPES]],
                ),
            }
        )
    return {
        "groups": rows,
        "totals": {
            "members": table.total,
            "children": table.col_totals["child"],
            "persons_of_concern": table.col_totals["person_of_concern"],
            "others": table.col_totals["other"],
        },
    }


def _perturbed_table(
    cells: dict[tuple[str, str], int],
    row_totals: dict[str, int],
    roles: list[str],
    policy: DisclosurePolicy,
    keyed: dict[tuple[str | None, str | None], int | None],
) -> TwoWayTable[str, str]:
    col_totals: dict[str, int] = dict.fromkeys(roles, 0)
    for (_nid, role), n in cells.items():
        col_totals[role] += n
    return TwoWayTable(
        cells={k: perturb_cell(n, keyed.get(k), policy) for k, n in cells.items()},
        row_totals={
            nid: perturb_cell(n, keyed.get((nid, None)), policy) for nid, n in row_totals.items()
        },
        col_totals={
            r: perturb_cell(n, keyed.get((None, r)), policy) for r, n in col_totals.items()
        },
        total=perturb_cell(sum(row_totals.values()), keyed.get((None, None)), policy),
    )


#: Views of record keys (:meth:`PageKeys.units`) of people and of places.
PERSON_KEYS = "_ju_ck_person"
PLACE_KEYS = "_ju_ck_place"


def network_cell_keys(
    con: duckdb.DuckDBPyConnection, keys: PageKeys, groups: list[dict[str, Any]]
) -> dict[tuple[str | None, str | None], int | None]:
    """The cell key of every count of the groups' table (issue 19): (group, role),
    (group, None) its members, (None, role) and (None, None) the totals, and (group,
    "places"). A count of ``network_group`` that the members do not give again (a
    release whose tables disagree) gets no key, so it is shown as "c"."""
    keys.units(con, PERSON_KEYS, "SELECT person_id FROM network_member")
    keys.units(con, PLACE_KEYS, "SELECT place_id FROM place")
    out: dict[tuple[str | None, str | None], int | None] = {}
    counts: dict[tuple[str | None, str | None], int] = {}
    for all_groups, all_roles, nid, role, n, ckey in con.execute(
        f"""SELECT GROUPING(network_id), GROUPING(role), network_id, role,
  count(DISTINCT m.person_id), {KEYED}
FROM network_member m LEFT JOIN {PERSON_KEYS} ck ON ck.unit_id = m.person_id
GROUP BY GROUPING SETS ((network_id, role), (network_id), (role), ())"""
    ).fetchall():
        k = (None if all_groups else str(nid), None if all_roles else str(role))
        out[k], counts[k] = ckey, int(n)
    for nid, n, ckey in con.execute(
        f"""SELECT nm.network_id, count(DISTINCT pc.place_id), {KEYED}
FROM (SELECT DISTINCT network_id, person_id FROM network_member) nm
JOIN person_concern pc ON pc.person_id = nm.person_id
LEFT JOIN {PLACE_KEYS} ck ON ck.unit_id = pc.place_id
WHERE pc.place_id IS NOT NULL AND pc.role <> 'witness'
GROUP BY 1"""
    ).fetchall():
        out[(str(nid), "places")], counts[(str(nid), "places")] = ckey, int(n)
    expected: dict[tuple[str | None, str | None], int] = {}
    for g in groups:
        nid = g["network_id"]
        other = max(g["members"] - g["children"] - g["persons_of_concern"], 0)
        expected |= {
            (nid, "child"): g["children"],
            (nid, "person_of_concern"): g["persons_of_concern"],
            (nid, "other"): other,
            (nid, None): g["members"],
            (nid, "places"): g["places"],
        }
    for k, n in expected.items():
        if n and counts.get(k) != n:
            out[k] = None
    return out


def _refusal(tier: Tier, scope: SourceScope) -> str | None:
    if tier is Tier.COMMUNITY:
        return (
            "Network groups are not shown at the community tier: they describe who is "
            "connected to whom, which is not published to a community audience, even as "
            "counts. Ask your partnership's data lead for the strategic picture."
        )
    if scope.excluded:
        return (
            "Network groups are worked out from every source when the release is built. A "
            "sharing agreement leaves a source out at this tier, so the groups are not "
            "shown here."
        )
    return None


@per_release
def current_networks(
    partnership_dir: Path,
    tier: Tier,
    *,
    recorded_names: bool = False,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """Every network group of the current release, protected for ``tier`` (an empty
    list with ``note`` at a tier that may not see them). With ``recorded_names``
    (operational tier only, for a user allowed person-level data) each group also holds
    the names of the groups a source recorded among its members (``recorded_groups``)."""
    if recorded_names and Tier(tier) is not Tier.OPERATIONAL:
        raise NetworkNotShown(
            "The names of recorded groups are shown at the operational tier only, not "
            f"{Tier(tier).value}."
        )
    tier = Tier(tier)
    config = config if config is not None else partnership_config(partnership_dir)
    policy = policy_for(tier, config.disclosure if config is not None else None)
    scope = source_scope(config, tier)
    refusal = _refusal(tier, scope)
    handle, con = _open(partnership_dir, open_release)
    try:
        release = release_facts(con)
        groups = [] if refusal else _read_groups(con)
        keys = page_keys(partnership_dir, policy)
        keyed = None if keys is None or refusal else network_cell_keys(con, keys, groups)
    except duckdb.CatalogException as exc:
        raise _not_built(handle) from exc
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
        "available": refusal is None,
        "note": refusal,
        "groups": [],
        "totals": None,
        # Agencies in words, for the agency ids the groups and members hold.
        "agency_names": {a.id: a.name for a in config.agencies} if config is not None else {},
    }
    if policy.method == "cell_key":
        out["disclosure"] = page_disclosure(policy, keys)
    if refusal is None:
        out.update(_protect_groups(groups, policy, keyed))
        if recorded_names:
            names = {g["network_id"]: g["recorded_groups"] for g in groups}
            for row in out["groups"]:
                row["recorded_groups"] = names.get(row["network_id"], [])
    if scope.excluded:
        out["exclusions"] = scope.as_dict()
    return out


@per_release
def current_network(
    partnership_dir: Path,
    network_id: str,
    tier: Tier,
    *,
    person_level: bool = False,
    config: PartnershipConfig | None = None,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any]:
    """One network group: its protected summary (as in :func:`current_networks`), and
    with ``person_level`` (operational tier only) its members and connections.

    Raises :class:`NetworkNotShown` at a tier that may not see groups or for person-level
    data outside the operational tier, :class:`NetworkNotFound` for an unknown id.
    """
    tier = Tier(tier)
    if person_level and tier is not Tier.OPERATIONAL:
        raise NetworkNotShown(
            f"Members of network groups are shown at the operational tier only, not {tier.value}."
        )
    listing = current_networks(partnership_dir, tier, config=config, open_release=open_release)
    if not listing["available"]:
        raise NetworkNotShown(str(listing["note"]))
    summary = next((g for g in listing["groups"] if g["network_id"] == network_id), None)
    if summary is None:
        raise NetworkNotFound(
            "There is no network group with that id in the current release; group ids can "
            "change from one release to the next. Go back to the list of groups."
        )
    out: dict[str, Any] = {
        "tier": listing["tier"],
        "release": listing["release"],
        "disclosure": listing["disclosure"],
        "network_id": network_id,
        "summary": summary,
        "person_level": person_level,
        "members": None,
        "edges": None,
        "recorded_groups": None,
        "place_types": None,
        "agency_names": listing["agency_names"],
    }
    if "exclusions" in listing:
        out["exclusions"] = listing["exclusions"]
    if person_level:
        out.update(_person_level(partnership_dir, network_id, open_release))
        out["summary"] = _exact_summary(summary, out)
    return out


def _exact_summary(summary: dict[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    """The summary of a group whose members the page lists in full: its counts are the
    members' and places' own (protecting them would hide what the tables show)."""
    roles = [m["role"] for m in detail["members"]]
    return {
        **summary,
        "members": len(roles),
        "children": roles.count("child"),
        "persons_of_concern": roles.count("person_of_concern"),
        "others": len(roles) - roles.count("child") - roles.count("person_of_concern"),
        "places": sum(int(p["places"]) for p in detail["place_types"]),
        "exact": True,
    }


def _labels(members: list[dict[str, Any]]) -> dict[str, str]:
    """Person id -> short label: the role's letter and a number, best-connected first
    within the role (C1, C2, P1, O1)."""
    out: dict[str, str] = {}
    for role, letter in ROLE_LETTERS.items():
        mine = [m for m in members if (m["role"] if m["role"] in ROLE_LETTERS else "other") == role]
        mine.sort(key=lambda m: (-m["degree"], -m["betweenness"], m["person_id"]))
        for i, m in enumerate(mine, start=1):
            out[m["person_id"]] = f"{letter}{i}"
    return out


@per_release
def network_of_person(
    partnership_dir: Path,
    person_id: str,
    tier: Tier,
    *,
    open_release: Callable[[Path], ReleaseLike] | None = None,
) -> dict[str, Any] | None:
    """The network group a pseudonymous person id is a member of (``network_id``, the
    person's ``agencies`` for the audit log), or None when they are in none. Operational
    tier only (:class:`NetworkNotShown` otherwise): who is in which group is person-level
    data, and the caller writes the look-up to the audit log."""
    if Tier(tier) is not Tier.OPERATIONAL:
        raise NetworkNotShown(
            "Finding a person's network group is possible at the operational tier only, "
            "for panel members; every look-up is recorded."
        )
    handle, con = _open(partnership_dir, open_release)
    try:
        row = con.execute(
            "SELECT network_id, agencies FROM network_member WHERE person_id = ? LIMIT 1",
            [person_id],
        ).fetchone()
    except duckdb.CatalogException as exc:
        raise _not_built(handle) from exc
    finally:
        con.close()
    if row is None:
        return None
    return {"network_id": str(row[0]), "person_id": person_id, "agencies": _split(row[1])}


def _person_level(
    partnership_dir: Path, network_id: str, open_release: Callable[[Path], ReleaseLike] | None
) -> dict[str, Any]:
    handle, con = _open(partnership_dir, open_release)
    try:
        members = con.execute(
            "SELECT person_id, role, degree, betweenness, bridging, agencies, exploitation_types "
            "FROM network_member WHERE network_id = ? ORDER BY person_id",
            [network_id],
        ).fetchall()
        edges = con.execute(
            "SELECT person_a, person_b, weight, shared_events, shared_places, shared_groups "
            "FROM network_edge WHERE network_id = ? ORDER BY person_a, person_b",
            [network_id],
        ).fetchall()
        group = next(g for g in _read_groups(con) if g["network_id"] == network_id)
    except duckdb.CatalogException as exc:
        raise _not_built(handle) from exc
    finally:
        con.close()
    rows: list[dict[str, Any]] = [
        {
            "person_id": str(m[0]),
            "role": str(m[1]),
            "degree": int(m[2]),
            "betweenness": round(float(m[3] or 0.0), 3),
            "bridging": bool(m[4]),
            "agencies": _split(m[5]),
            "exploitation_types": _split(m[6]),
        }
        for m in members
    ]
    labels = _labels(rows)
    letters = list(ROLE_LETTERS.values())
    for r in rows:
        r["label"] = labels[r["person_id"]]
        # The order of the picture's labels: children, persons of concern, others.
        r["label_order"] = letters.index(r["label"][0]) * 100_000 + int(r["label"][1:])
    return {
        "members": rows,
        "edges": [
            {
                "person_a": str(e[0]),
                "person_b": str(e[1]),
                "label_a": labels.get(str(e[0]), str(e[0])),
                "label_b": labels.get(str(e[1]), str(e[1])),
                "weight": float(e[2]),
                "shared_events": int(e[3]),
                "shared_places": int(e[4]),
                "shared_groups": int(e[5]),
            }
            for e in edges
        ],
        "recorded_groups": group["recorded_groups"],
        "place_types": [
            {"place_type": _type_words(t), "places": n} for t, n in group["place_types"]
        ],
        "edges_total": group["edges"],
    }
