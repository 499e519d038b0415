"""Places and hotspots on the hand-made release: distinct children, windows, labels."""

from __future__ import annotations

from pathlib import Path

import duckdb

from joinedup.insight import hotspots


def test_hotspots_rank_by_distinct_children(insight_release: Path) -> None:
    con = duckdb.connect(str(insight_release), read_only=True)
    top = hotspots(con, time_window="all")
    assert [(h.label, h.children, h.persons_of_concern, h.events) for h in top] == [
        ("Golden Grill", 2, 1, 2),  # C1, C2 (C2 twice: the crime and found there) and POC1
        ("Residential address in Small Two", 1, 1, 1),  # never the flat's name
    ]
    assert [h.place_rank for h in top] == [1, 2]
    assert top[1].residential and not top[0].residential
    assert [h.label for h in hotspots(con, time_window="12 months")] == [h.label for h in top]
    assert hotspots(con, time_window="3 months") == []  # nothing since the end of July
    assert [h.label for h in hotspots(con, place_types=["takeaway"])] == ["Golden Grill"]
    names = {r[0] for r in con.execute("SELECT label FROM place_hotspot").fetchall()}
    assert not any("Flat 3" in n for n in names)
    con.close()
