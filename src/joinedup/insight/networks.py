"""Association networks: persons connected through shared concern events, places and
groups that a source recorded, split into communities.

The graph (networkx) has a node for every person involved, as anything but a witness, in
a concern event (``person_concern``) or listed as a member of a recorded group
(``group_member``). Two persons are connected when they

- were involved in the same concern event (weight 1 for each such event);
- share any other event on which one was recorded as a suspect, offender or person of
  concern and the other was a child then (``child_association``), whether or not the
  event carries an exploitation code: police often record the exploitation on only some
  of the occurrences a suspect and a child share (weight 1 for each such event);
- are members of the same recorded group, such as a county line or an organised group
  (weight 1 for each group);
- were involved in concern events at the same place that is not a home (weight 0.5 for
  each place). A place where more than ``MAX_PLACE_PERSONS`` persons were involved is a
  public hub (a station, a shopping centre), not evidence of association, and adds no
  connections (it is still in the hotspot ranking).

Communities are found with the Louvain method (fixed seed, so a release is reproducible)
and kept as network groups when they have at least ``MIN_GROUP`` members. A *bridging*
person is connected to members of another group. Roles: ``child`` (under 18 at the
reference date), ``person_of_concern`` (recorded as one, aged 18 or over then or of
unknown age) or ``other``.

No score is given to any person: degree and betweenness describe the recorded
connections, so that a panel can see who links groups, not how "risky" anyone is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
import networkx as nx

from joinedup.insight.rows import insert_rows

__all__ = [
    "MAX_PLACE_PERSONS",
    "MIN_GROUP",
    "Network",
    "build_networks",
    "edges_sql",
    "nodes_sql",
]

MAX_PLACE_PERSONS = 30
MIN_GROUP = 3
SEED = 20261031


@dataclass
class Network:
    """The association graph of a release and its groups (raw; operational tier)."""

    graph: Any  # networkx.Graph (networkx ships no type hints)
    groups: list[list[str]] = field(default_factory=list)  # member person ids, largest first
    group_of: dict[str, str] = field(default_factory=dict)  # person id -> network id


def nodes_sql() -> str:
    """Persons in the graph with their role, agencies and report groups."""
    return """WITH ev AS (
  SELECT person_id, agency, report_group, role, age_at_event FROM person_concern
  WHERE role <> 'witness'
),
gm AS (
  SELECT DISTINCT rp.person_id, gm.role FROM group_member gm
  JOIN record_person rp ON rp.source = gm.source AND rp.source_record_id = gm.source_record_id
),
who AS (SELECT person_id FROM ev UNION SELECT person_id FROM gm),
poc AS (
  SELECT person_id FROM ev WHERE role = 'person_of_concern'
    AND (age_at_event IS NULL OR age_at_event >= 18)
  UNION SELECT person_id FROM gm JOIN person p USING (person_id)
    WHERE gm.role = 'person_of_concern' AND (p.age IS NULL OR p.age >= 18)
)
SELECT who.person_id,
  CASE WHEN p.age < 18 THEN 'child' WHEN who.person_id IN (SELECT person_id FROM poc)
    THEN 'person_of_concern' ELSE 'other' END AS role,
  coalesce((SELECT string_agg(DISTINCT agency, ';' ORDER BY agency) FROM ev
    WHERE ev.person_id = who.person_id), '') AS agencies,
  coalesce((SELECT string_agg(DISTINCT report_group, ';' ORDER BY report_group) FROM ev
    WHERE ev.person_id = who.person_id), '') AS types
FROM who LEFT JOIN person p USING (person_id)
ORDER BY who.person_id"""


def edges_sql(max_place_persons: int = MAX_PLACE_PERSONS) -> str:
    """Weighted connections between pairs of persons (person_a < person_b)."""
    return f"""WITH ev AS (
  SELECT DISTINCT event_id, person_id FROM person_concern WHERE role <> 'witness'
),
pl AS (
  SELECT DISTINCT c.place_id, c.person_id FROM person_concern c
  JOIN place p ON p.place_id = c.place_id
  WHERE c.role <> 'witness' AND coalesce(p.place_type, '') NOT IN ('home', 'online', 'unknown')
),
pl_small AS (
  SELECT * FROM pl WHERE place_id IN (
    SELECT place_id FROM pl GROUP BY 1 HAVING count(*) <= {int(max_place_persons)})
),
gm AS (
  SELECT DISTINCT gm.group_id, rp.person_id FROM group_member gm
  JOIN record_person rp ON rp.source = gm.source AND rp.source_record_id = gm.source_record_id
),
who AS (SELECT person_id FROM ev UNION SELECT person_id FROM gm),
assoc AS (
  SELECT DISTINCT least(person_id, child_id) AS a, greatest(person_id, child_id) AS b, event_id
  FROM child_association
  WHERE NOT concern_event AND person_id IN (SELECT person_id FROM who)
    AND child_id IN (SELECT person_id FROM who)
),
pairs AS (
  SELECT a.person_id AS a, b.person_id AS b, 1 AS e, 0 AS p, 0 AS g
  FROM ev a JOIN ev b ON a.event_id = b.event_id AND a.person_id < b.person_id
  UNION ALL
  SELECT a, b, 1, 0, 0 FROM assoc
  UNION ALL
  SELECT a.person_id, b.person_id, 0, 1, 0
  FROM pl_small a JOIN pl_small b ON a.place_id = b.place_id AND a.person_id < b.person_id
  UNION ALL
  SELECT a.person_id, b.person_id, 0, 0, 1
  FROM gm a JOIN gm b ON a.group_id = b.group_id AND a.person_id < b.person_id
)
SELECT a, b, sum(e) + 0.5 * sum(p) + sum(g) AS weight, sum(e) AS shared_events,
  sum(p) AS shared_places, sum(g) AS shared_groups
FROM pairs GROUP BY a, b ORDER BY a, b"""


def build_networks(con: duckdb.DuckDBPyConnection) -> Network:
    """Build the graph and its communities, and fill the network_* release tables."""
    graph = nx.Graph()
    nodes = con.execute(nodes_sql()).fetchall()
    for pid, role, agencies, types in nodes:
        graph.add_node(str(pid), role=str(role), agencies=str(agencies), types=str(types))
    edges = con.execute(edges_sql()).fetchall()
    for a, b, weight, events, places, groups in edges:
        graph.add_edge(
            str(a), str(b), weight=float(weight), events=int(events), places=int(places),
            groups=int(groups),
        )  # fmt: skip
    connected = graph.subgraph([n for n in graph.nodes if graph.degree(n) > 0])
    communities = nx.community.louvain_communities(connected, weight="weight", seed=SEED)
    kept = [sorted(c) for c in communities if len(c) >= MIN_GROUP]
    kept.sort(key=lambda members: (-len(members), members[0]))
    net = Network(graph=graph, groups=kept)
    for i, members in enumerate(kept, start=1):
        for pid in members:
            net.group_of[pid] = f"N{i:03d}"
    _store(con, net)
    return net


def _store(con: duckdb.DuckDBPyConnection, net: Network) -> None:
    graph = net.graph
    recorded = _recorded_groups(con)
    place_count = _place_counts(con, net.group_of)
    group_rows = []
    member_rows = []
    for i, members in enumerate(net.groups, start=1):
        nid = f"N{i:03d}"
        sub = graph.subgraph(members)
        between = nx.betweenness_centrality(sub, normalized=True, weight=None)
        roles = [graph.nodes[m]["role"] for m in members]
        types = sorted({t for m in members for t in graph.nodes[m]["types"].split(";") if t})
        agencies = sorted({a for m in members for a in graph.nodes[m]["agencies"].split(";") if a})
        names = sorted({name for m in members for name in recorded.get(m, ())})
        n = len(members)
        group_rows.append(
            (
                nid,
                n,
                roles.count("child"),
                roles.count("person_of_concern"),
                sub.number_of_edges(),
                round(2 * sub.number_of_edges() / (n * (n - 1)), 4) if n > 1 else 0.0,
                ";".join(types),
                ";".join(agencies),
                place_count.get(nid, 0),
                ";".join(names),
            )
        )
        for m in members:
            bridging = any(net.group_of.get(nb, nid) != nid for nb in graph.neighbors(m))
            member_rows.append(
                (
                    nid,
                    m,
                    graph.nodes[m]["role"],
                    sub.degree(m),
                    round(float(between[m]), 4),
                    bridging,
                    graph.nodes[m]["agencies"],
                    graph.nodes[m]["types"],
                )
            )
    if group_rows:
        insert_rows(con, "network_group", group_rows)
    if member_rows:
        insert_rows(con, "network_member", member_rows)
    edge_rows = []
    for a, b, data in graph.edges(data=True):
        lo, hi = sorted((a, b))
        ga, gb = net.group_of.get(lo), net.group_of.get(hi)
        edge_rows.append(
            (
                lo,
                hi,
                data["weight"],
                data["events"],
                data["places"],
                data["groups"],
                ga if ga is not None and ga == gb else None,
            )
        )
    if edge_rows:
        insert_rows(con, "network_edge", edge_rows)


def _recorded_groups(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    rows = con.execute(
        "SELECT DISTINCT rp.person_id, coalesce(g.name, g.group_id) FROM group_member gm "
        "JOIN groups g USING (group_id) JOIN record_person rp "
        "ON rp.source = gm.source AND rp.source_record_id = gm.source_record_id"
    ).fetchall()
    for pid, name in rows:
        out[str(pid)].add(str(name))
    return out


def _place_counts(con: duckdb.DuckDBPyConnection, group_of: dict[str, str]) -> dict[str, int]:
    rows = con.execute(
        "SELECT DISTINCT person_id, place_id FROM person_concern "
        "WHERE place_id IS NOT NULL AND role <> 'witness'"
    ).fetchall()
    places: dict[str, set[str]] = defaultdict(set)
    for pid, place in rows:
        nid = group_of.get(str(pid))
        if nid is not None:
            places[nid].add(str(place))
    return {k: len(v) for k, v in places.items()}
