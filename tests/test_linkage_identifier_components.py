"""Pairs that trusted identifiers already join are not scored, and a record without a date
of birth that identifiers join to others never bridges to another person (issue 15)."""

from __future__ import annotations

import duckdb

from joinedup.config.model import LinkageConfig
from joinedup.linkage.features import INPUT_TABLE
from joinedup.linkage.resolve import cluster_records, nodes_full


def _clusters(edges: list[tuple[int, int, float]], exact: list[tuple[int, int]]) -> dict[int, int]:
    with duckdb.connect() as con:
        # 1 has no date of birth and shares an identifier with 2; 3 and 4 are another person
        con.execute(
            f"CREATE TEMP TABLE {INPUT_TABLE} AS SELECT * FROM (VALUES "
            "(1, NULL::DATE, 'HOLT'), (2, DATE '2010-01-02', 'HOLT'), "
            "(3, DATE '2011-05-06', 'HOLT'), (4, DATE '2011-05-06', 'HOLT')) "
            "t(unique_id, dob, surname)"
        )
        con.execute(
            "CREATE TEMP TABLE _ju_lk_scored (unique_id_l BIGINT, unique_id_r BIGINT, "
            "match_weight DOUBLE, match_probability DOUBLE, match_key VARCHAR)"
        )
        for left, right, w in edges:
            con.execute(
                "INSERT INTO _ju_lk_scored VALUES (?, ?, ?, 1 / (1 + pow(2, -?)), '0')",
                [left, right, w, w],
            )
        con.execute(
            "CREATE TEMP TABLE _ju_lk_exact (unique_id_l BIGINT, unique_id_r BIGINT, rule VARCHAR)"
        )
        for left, right in exact:
            con.execute("INSERT INTO _ju_lk_exact VALUES (?, ?, 'nhs_number')", [left, right])
        con.execute(
            "CREATE TEMP TABLE _ju_lk_dec (unique_id_l BIGINT, unique_id_r BIGINT, "
            "decision VARCHAR)"
        )
        nodes_full(con)
        cluster_records(con, LinkageConfig())
        return dict(con.execute("SELECT unique_id, label FROM _ju_lk_cluster").fetchall())


def test_a_record_identifiers_hold_does_not_bridge_to_another_person() -> None:
    # 1's best score is with 3 (its pair with 2, which an identifier joins, is not scored)
    got = _clusters([(1, 3, 9.0), (3, 4, 20.0)], exact=[(1, 2)])
    assert got[1] == got[2]
    assert got[3] == got[4]
    assert got[1] != got[3]


def test_a_record_without_identifiers_or_birth_date_joins_its_best_match() -> None:
    got = _clusters([(1, 3, 9.0), (1, 2, 6.0), (3, 4, 20.0)], exact=[])
    assert got[1] == got[3] == got[4]
    assert got[2] != got[1]


def test_no_scored_pair_lies_within_one_identifier_component(synth_built) -> None:
    """On the synthetic partnership's release: no pair in ``link_pair`` is two records that
    trusted identifiers join (the blocking rules leave them out)."""
    from joinedup.linkage.clusters import connected_components
    from joinedup.linkage.exact import exact_edges_sql
    from joinedup.linkage.features import prepare_input
    from joinedup.release import open_current

    with duckdb.connect(str(open_current(synth_built).db_path), read_only=True) as con:
        prepare_input(con)
        con.execute(f"CREATE TEMP TABLE _x AS {exact_edges_sql(INPUT_TABLE)}")
        connected_components(con, INPUT_TABLE, "_x", "_c")
        within, scored = con.execute(
            f"SELECT count(*) FILTER (WHERE ca.label = cb.label), count(*) FROM link_pair p "
            f"JOIN {INPUT_TABLE} a ON a.source = p.source_l "
            "AND a.source_record_id = p.source_record_id_l "
            f"JOIN {INPUT_TABLE} b ON b.source = p.source_r "
            "AND b.source_record_id = p.source_record_id_r "
            "JOIN _c ca ON ca.unique_id = a.unique_id JOIN _c cb ON cb.unique_id = b.unique_id "
            "WHERE p.match_weight IS NOT NULL AND p.blocking_rule <> 'encoded'"
        ).fetchall()[0]
    assert scored > 100
    assert within == 0
