"""Places and hotspots on the hand-made release: distinct children, periods, labels."""

from __future__ import annotations

from pathlib import Path

import duckdb

from joinedup.insight import hotspots


def test_hotspots_rank_by_distinct_children(insight_release: Path) -> None:
    con = duckdb.connect(str(insight_release), read_only=True)
    top = hotspots(con, time_window="all")
    assert [(h.label, h.children, h.persons_of_concern, h.events) for h in top] == [
        ("Golden Grill", 2, 1, 1),  # C1, C2 on the crime and POC1; C2 found there is apart
        ("Residential address in Small Two", 1, 1, 1),  # never the flat's name
    ]
    assert [h.place_rank for h in top] == [1, 2]
    assert top[1].residential and not top[0].residential
    # this release's default period is all time: only "all" is stored
    assert hotspots(con, time_window="default") == []
    found = hotspots(con, time_window="all", ranking="found")
    assert [(h.label, h.children, h.events) for h in found] == [("Golden Grill", 1, 1)]  # C2
    assert [h.label for h in hotspots(con, place_types=["takeaway"])] == ["Golden Grill"]
    names = {r[0] for r in con.execute("SELECT label FROM place_hotspot").fetchall()}
    assert not any("Flat 3" in n for n in names)
    con.close()
