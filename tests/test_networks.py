"""Association networks on the hand-made release: edges, communities, roles, bridges."""

from __future__ import annotations

from pathlib import Path

import duckdb

from joinedup.insight.networks import MIN_GROUP


def test_edges_and_groups(insight_release: Path) -> None:
    con = duckdb.connect(str(insight_release), read_only=True)
    edges = {
        (a, b): (w, e, p, g)
        for a, b, w, e, p, g in con.execute(
            "SELECT person_a, person_b, weight, shared_events, shared_places, shared_groups "
            "FROM network_edge"
        ).fetchall()
    }
    # C1, C2, POC1: one crime together, one recorded group, one takeaway
    assert edges[("C1", "C2")] == (2.5, 1, 1, 1)
    assert edges[("C1", "POC1")] == (2.5, 1, 1, 1)
    # C3 and POC2: one crime at a flat (residential, but not a home)
    assert edges[("C3", "POC2")] == (1.5, 1, 1, 0)
    assert len(edges) == 4
    groups = con.execute("SELECT * FROM network_group").fetchall()
    assert len(groups) == 1  # the pair C3-POC2 is below MIN_GROUP
    nid, members, children, pocs, n_edges, density, types, agencies, places, named = groups[0]
    assert (nid, members, children, pocs, n_edges, density) == ("N001", 3, 2, 1, 3, 1.0)
    assert (types, agencies, places, named) == ("CSE", "csc;police", 1, "Op Test")
    roles = dict(con.execute("SELECT person_id, role FROM network_member").fetchall())
    assert roles == {"C1": "child", "C2": "child", "POC1": "person_of_concern"}
    assert not any(r[0] for r in con.execute("SELECT bridging FROM network_member").fetchall())
    assert MIN_GROUP == 3
    con.close()
