"""The planted scenarios of the synthetic partnership are found (issue 5, "Done when"):
every county line and CSE network is one network group, its places rank among the top
hotspots, and the pack's figures agree with the truth within the linkage error."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from joinedup.release import open_current

SCENARIO_TYPES = ("county_lines", "cse_network")


@pytest.fixture(scope="module")
def con(synth_insight: Path):
    c = duckdb.connect(str(open_current(synth_insight).db_path), read_only=True)
    truth = synth_insight / "truth"
    for name in ("record_person", "scenario_members", "scenario_places"):
        c.execute(
            f"CREATE TEMP TABLE t_{name} AS SELECT * FROM read_csv(?, all_varchar = true)",
            [str(truth / f"{name}.csv")],
        )
    c.execute(
        "CREATE TEMP TABLE t_map AS SELECT DISTINCT t.person_id AS true_id, r.person_id "
        "FROM t_record_person t JOIN record_person r USING (source, source_record_id)"
    )
    yield c
    c.close()


def scenarios(con) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT DISTINCT scenario_id, scenario_type FROM t_scenario_members "
        "WHERE scenario_type IN ('county_lines', 'cse_network') ORDER BY 1"
    ).fetchall()


def test_the_fixture_plants_county_lines_and_cse_networks(synth_insight: Path) -> None:
    with open(synth_insight / "truth" / "scenario_members.csv", encoding="utf-8") as fh:
        kinds = Counter(r["scenario_type"] for r in csv.DictReader(fh))
    assert kinds["county_lines"] > 0 and kinds["cse_network"] > 0


def test_each_network_scenario_is_one_network_group(con) -> None:
    modal_groups = []
    for sid, _ in scenarios(con):
        groups: dict[str, set[str | None]] = {}
        for true_id, nid in con.execute(
            "SELECT m.person_id, nm.network_id FROM t_scenario_members m "
            "JOIN t_map ON t_map.true_id = m.person_id "
            "LEFT JOIN network_member nm ON nm.person_id = t_map.person_id "
            "WHERE m.scenario_id = ?",
            [sid],
        ).fetchall():
            groups.setdefault(true_id, set()).add(nid)
        counts = Counter(n for found in groups.values() for n in found if n)
        assert counts, f"{sid}: no member is in any network group"
        modal, _ = counts.most_common(1)[0]
        in_modal = sum(1 for found in groups.values() if modal in found)
        assert in_modal >= 0.75 * len(groups), f"{sid}: {in_modal} of {len(groups)} in {modal}"
        modal_groups.append(modal)
    assert len(set(modal_groups)) == len(modal_groups), "two scenarios merged into one group"


def test_scenario_places_rank_among_the_top_hotspots(con) -> None:
    for sid, _ in scenarios(con):
        ranks = con.execute(
            'SELECT h.place_rank FROM t_scenario_places t JOIN place p ON p.name = t."place name" '
            "AND p.postcode = t.postcode JOIN place_hotspot h ON h.place_id = p.place_id "
            "AND h.time_window = 'all' WHERE t.scenario_id = ?",
            [sid],
        ).fetchall()
        assert ranks, f"{sid}: its places are not in the hotspot table"
        assert min(r[0] for r in ranks) <= 10, f"{sid}: best rank {min(ranks)}"


def test_pack_figures_match_the_truth_within_the_linkage_error(con) -> None:
    # every planted child victim still under 18 is counted among children with a concern
    victims = con.execute(
        "SELECT DISTINCT m.person_id FROM t_scenario_members m "
        "JOIN t_map ON t_map.true_id = m.person_id "
        "JOIN person p ON p.person_id = t_map.person_id WHERE m.role = 'victim' "
        "AND m.scenario_type IN ('county_lines', 'cse_network', 'online') AND p.age < 18"
    ).fetchall()
    counted = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT t_map.true_id FROM question_unit u JOIN t_map "
            "ON t_map.person_id = u.unit_id WHERE u.question_id = 'children_with_concern'"
        ).fetchall()
    }
    assert victims and all(v[0] in counted for v in victims)
    # the count is of release persons: at least the true children behind them, and no more
    # than the linkage splits them (release persons per true person among those counted)
    units = con.execute(
        "SELECT units FROM question WHERE question_id = 'children_with_concern'"
    ).fetchone()[0]
    split = con.execute(
        "SELECT count(DISTINCT person_id) * 1.0 / count(DISTINCT true_id) FROM t_map"
    ).fetchone()[0]
    assert len(counted) <= units <= len(counted) * split * 1.25
    # every planted adult person of concern is among the persons of concern
    pocs = con.execute(
        "SELECT DISTINCT m.person_id FROM t_scenario_members m "
        "JOIN t_map ON t_map.true_id = m.person_id "
        "JOIN person p ON p.person_id = t_map.person_id JOIN person_concern c "
        "ON c.person_id = p.person_id AND c.role = 'person_of_concern' "
        "WHERE m.role = 'person_of_concern' AND p.age >= 25"
    ).fetchall()
    poc_units = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT t_map.true_id FROM question_unit u JOIN t_map "
            "ON t_map.person_id = u.unit_id WHERE u.question_id = 'persons_of_concern'"
        ).fetchall()
    }
    assert pocs and all(p[0] in poc_units for p in pocs)
