"""The link stage's release tables: ``record_person``, ``link_pair``, ``person_flag`` and
``person_change``, written from the clusters and the person ids assigned to them.
"""

from __future__ import annotations

import math

import duckdb
import pyarrow as pa

from joinedup.config.model import LinkageConfig
from joinedup.linkage.clusters import cluster_flags_sql
from joinedup.linkage.exact import IDENTIFIER_RULES
from joinedup.linkage.features import INPUT_TABLE
from joinedup.linkage.ids import PersonChange

__all__ = ["insert_rows", "write_tables"]


def write_tables(
    con: duckdb.DuckDBPyConnection,
    config: LinkageConfig,
    changes: list[PersonChange],
    *,
    kept: bool = False,
    whole: str | None = None,
) -> int:
    """Write the release tables; return the number of persons.

    ``kept``: an incremental build kept untouched previous persons whole (their own links
    are copied from the previous release's ``link_pair``). ``whole`` names a table
    ``(label, node, person_id)`` of clusters that are exactly one such person
    (``resolve.whole_persons``): their ``record_person`` and ``person_flag`` rows are the
    previous release's, copied; everything else is written afresh.
    """
    rule_case = " ".join(
        f"WHEN list_contains(x.rules, '{name}') THEN '{name}'" for name, _ in IDENTIFIER_RULES
    )
    # a kept person's own links were copied, not scored again: their best probability is
    # the one the previous release recorded
    clusters = "_ju_lk_cluster"
    mine = ""  # the records written afresh: all, or those of clusters not copied whole
    if whole is not None:
        clusters = "_ju_lk_rest"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lk_rest AS SELECT * FROM _ju_lk_cluster "
            f"ANTI JOIN {whole} USING (label)"
        )
        mine = " WHERE u IN (SELECT unique_id FROM _ju_lk_rest)"
        con.execute(
            "INSERT INTO record_person SELECT p.source, p.source_record_id, p.person_id, "
            "p.match_probability, p.rule FROM _ju_prev.record_person p "
            f"SEMI JOIN {whole} USING (person_id)"
        )
        con.execute(
            "INSERT INTO person_flag SELECT f.person_id, f.flag, f.detail "
            f"FROM _ju_prev.person_flag f SEMI JOIN {whole} USING (person_id)"
        )
    kept_pr = (
        " UNION ALL SELECT n.unique_id, p.match_probability FROM _ju_lk_node n "
        f"SEMI JOIN {clusters} USING (unique_id) "
        f"JOIN {INPUT_TABLE} i USING (unique_id) JOIN _ju_prev.record_person p "
        "USING (source, source_record_id) WHERE NOT n.open AND p.rule = 'probabilistic'"
        if kept
        else ""
    )
    con.execute(
        "INSERT INTO record_person "
        "WITH x AS (SELECT u, list(DISTINCT rule) AS rules FROM ("
        "SELECT unique_id_l AS u, rule FROM _ju_lk_exact "
        f"UNION ALL SELECT unique_id_r, rule FROM _ju_lk_exact){mine} GROUP BY u), "
        "dec AS (SELECT u FROM (SELECT unique_id_l AS u FROM _ju_lk_dec WHERE decision = 'match' "
        "UNION ALL SELECT unique_id_r FROM _ju_lk_dec WHERE decision = 'match')), "
        "pr AS (SELECT u, max(p) AS p FROM (SELECT unnest([e.unique_id_l, e.unique_id_r]) AS u, "
        "e.match_probability AS p FROM _ju_lk_scored e "
        "JOIN _ju_lk_cluster a ON a.unique_id = e.unique_id_l "
        "JOIN _ju_lk_cluster b ON b.unique_id = e.unique_id_r WHERE a.label = b.label"
        f"{kept_pr}) GROUP BY u), "
        f"size AS (SELECT label, count(*) AS n FROM {clusters} GROUP BY label) "
        "SELECT i.source, i.source_record_id, p.person_id, "
        "CASE WHEN x.rules IS NOT NULL THEN 1.0 WHEN size.n = 1 THEN 1.0 "
        "ELSE coalesce(pr.p, 1.0) END, "
        # issue 13: else an identifier kind's name (identity_id), the first by name
        f"CASE {rule_case} WHEN x.rules IS NOT NULL THEN list_sort(x.rules)[1] "
        "WHEN i.unique_id IN (SELECT u FROM dec) THEN 'review_decision' "
        "WHEN size.n > 1 THEN 'probabilistic' ELSE 'singleton' END "
        f"FROM {INPUT_TABLE} i JOIN {clusters} c USING (unique_id) "
        "JOIN size USING (label) JOIN _ju_lk_pid p USING (label) "
        "LEFT JOIN x ON x.u = i.unique_id LEFT JOIN pr ON pr.u = i.unique_id"
    )
    # every scored pair at or above the review threshold, with what became of it
    weight = math.log2(config.match_threshold / (1 - config.match_threshold))
    con.execute(
        "INSERT INTO link_pair "
        "SELECT a.source, a.source_record_id, b.source, b.source_record_id, "
        "s.match_weight, s.match_probability, s.match_key, "
        "CASE WHEN ca.label = cb.label THEN 'linked' "
        f"WHEN d.decision IS NULL AND s.match_weight < {weight!r} THEN 'review' "
        "ELSE 'not_linked' END, d.decision "
        "FROM _ju_lk_scored s "
        f"JOIN {INPUT_TABLE} a ON a.unique_id = s.unique_id_l "
        f"JOIN {INPUT_TABLE} b ON b.unique_id = s.unique_id_r "
        "JOIN _ju_lk_cluster ca ON ca.unique_id = s.unique_id_l "
        "JOIN _ju_lk_cluster cb ON cb.unique_id = s.unique_id_r "
        "LEFT JOIN _ju_lk_dec d ON d.unique_id_l = least(s.unique_id_l, s.unique_id_r) "
        "AND d.unique_id_r = greatest(s.unique_id_l, s.unique_id_r)"
    )
    if kept:
        # the kept persons' own links, as the previous release had them
        con.execute(
            "INSERT INTO link_pair SELECT p.source_l, p.source_record_id_l, p.source_r, "
            "p.source_record_id_r, p.match_weight, p.match_probability, p.blocking_rule, "
            "'linked', NULL FROM _ju_prev.link_pair p WHERE p.status = 'linked' "
            "AND p.match_weight IS NOT NULL AND NOT EXISTS (SELECT 1 FROM _ju_lk_touch t "
            "WHERE t.source = p.source_l AND t.source_record_id = p.source_record_id_l) "
            "AND NOT EXISTS (SELECT 1 FROM _ju_lk_touch t WHERE t.source = p.source_r "
            "AND t.source_record_id = p.source_record_id_r)"
        )
    flags = cluster_flags_sql(clusters, INPUT_TABLE, max_records=config.flag_cluster_records)
    con.execute(
        f"INSERT INTO person_flag SELECT p.person_id, f.flag, f.detail FROM ({flags}) f "
        "JOIN _ju_lk_pid p USING (label)"
    )
    # a reviewer said two records are different people, yet other links join them
    con.execute(
        "INSERT INTO person_flag SELECT DISTINCT p.person_id, 'reviewed_non_match_joined', "
        "'a pair decided not a match is in this person through other links' "
        "FROM _ju_lk_dec d JOIN _ju_lk_cluster a ON a.unique_id = d.unique_id_l "
        "JOIN _ju_lk_cluster b ON b.unique_id = d.unique_id_r JOIN _ju_lk_pid p "
        "ON p.label = a.label WHERE d.decision = 'non_match' AND a.label = b.label"
    )
    insert_rows(
        con,
        "person_change",
        {
            "person_id": pa.array([c.person_id for c in changes], pa.string()),
            "change": pa.array([c.change for c in changes], pa.string()),
            "other_person_id": pa.array([c.other_person_id for c in changes], pa.string()),
            "records": pa.array([c.records for c in changes], pa.int64()),
        },
    )
    return int(con.execute("SELECT count(*) FROM _ju_lk_pid").fetchall()[0][0])


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, pa.Array]) -> None:
    con.register("_ju_lk_rows", pa.table(columns))
    con.execute(f"INSERT INTO {table} SELECT * FROM _ju_lk_rows")
    con.unregister("_ju_lk_rows")
