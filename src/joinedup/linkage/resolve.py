"""Persons from links: the nodes to cluster, earlier scores carried over, the clusters.

A full build makes every record a node of its own; an incremental one keeps each
previous person untouched by this build whole, as one node, and brings the previous
release's scores between unchanged records forward. Clusters join identifier links,
reviewers' matches and model links at or above the match threshold; a thin record (no
date of birth or no surname) cannot bridge two persons.

Works on the link stage's temporary tables (``_ju_lk_*``) on the build's connection.
"""

from __future__ import annotations

import math

import duckdb

from joinedup.config.model import LinkageConfig
from joinedup.linkage.clusters import connected_components
from joinedup.linkage.features import INPUT_TABLE

__all__ = ["carry_over", "cluster_records", "nodes_full", "nodes_incremental", "whole_persons"]


def nodes_full(con: duckdb.DuckDBPyConnection) -> None:
    """Every record is a node of its own: clustering starts from scratch."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_node AS SELECT unique_id, unique_id AS node, "
        f"true AS open FROM {INPUT_TABLE}"
    )


def nodes_incremental(con: duckdb.DuckDBPyConnection) -> int:
    """Previous persons untouched by this build stay whole: each is one node.

    ``_ju_lk_closed(person_id, node)`` lists them (:func:`whole_persons` reads it). A
    previous person is *reopened* (its records become nodes of their own again) when one
    of its records was removed or changed, or a review decision names one of its records.
    New and changed records are nodes of their own. Returns the number of open records.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_prevp AS SELECT o.unique_id, p.person_id "
        "FROM _ju_lk_old o JOIN _ju_lk_prev_rp p USING (source, source_record_id)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_dirty AS "
        "SELECT DISTINCT p.person_id FROM _ju_lk_prev_rp p ANTI JOIN _ju_lk_old o "
        "USING (source, source_record_id) "
        "UNION SELECT q.person_id FROM _ju_lk_prevp q WHERE q.unique_id IN "
        "(SELECT unique_id_l FROM _ju_lk_dec UNION ALL SELECT unique_id_r FROM _ju_lk_dec)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_closed AS SELECT person_id, "
        "min(unique_id) AS node FROM _ju_lk_prevp ANTI JOIN _ju_lk_dirty USING (person_id) "
        "GROUP BY 1"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_node AS "
        "WITH closed AS (SELECT q.unique_id, a.node FROM _ju_lk_prevp q "
        "JOIN _ju_lk_closed a USING (person_id)) "
        "SELECT unique_id, node, false AS open FROM closed "
        f"UNION ALL SELECT i.unique_id, i.unique_id, true FROM {INPUT_TABLE} i "
        "ANTI JOIN closed c USING (unique_id)"
    )
    for t in ("_ju_lk_prevp", "_ju_lk_dirty"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    row = con.execute("SELECT count(*) FROM _ju_lk_node WHERE open").fetchall()[0]
    return int(row[0])


def carry_over(con: duckdb.DuckDBPyConnection, *, kept: bool, stored: str | None = None) -> None:
    """Bring the previous release's scores between unchanged records into this build.

    When untouched persons are kept whole (``kept``), their own links (status ``linked``,
    neither record touched) are not needed to cluster: ``write_tables`` copies them straight
    into ``link_pair``. Every other score between unchanged records joins
    ``_ju_lk_scored``. ``stored`` is SQL for those scores by ``unique_id`` from the reuse
    store (``incremental.stored_scores_sql``); without it they are read from the previous
    release's ``link_pair`` by record key.
    """
    if kept:
        # records whose links are looked at again: open ones, and those gone or changed
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lk_touch AS "
            f"SELECT i.source, i.source_record_id FROM {INPUT_TABLE} i "
            "JOIN _ju_lk_node n USING (unique_id) WHERE n.open "
            "UNION SELECT p.source, p.source_record_id FROM _ju_lk_prev_rp p "
            "ANTI JOIN _ju_lk_old o USING (source, source_record_id)"
        )
    if stored is not None:
        # a kept person's own links stay out: both records in one closed node
        within = (
            " JOIN _ju_lk_node na ON na.unique_id = s.unique_id_l "
            "JOIN _ju_lk_node nb ON nb.unique_id = s.unique_id_r "
            "WHERE na.open OR nb.open OR na.node <> nb.node"
            if kept
            else ""
        )
        con.execute(
            "INSERT INTO _ju_lk_scored SELECT s.unique_id_l, s.unique_id_r, s.match_weight, "
            f"s.match_probability, s.match_key FROM ({stored}) s{within}"
        )
        return
    keep = (
        "AND (p.status <> 'linked' OR EXISTS (SELECT 1 FROM _ju_lk_touch t "
        "WHERE t.source = p.source_l AND t.source_record_id = p.source_record_id_l) "
        "OR EXISTS (SELECT 1 FROM _ju_lk_touch t WHERE t.source = p.source_r "
        "AND t.source_record_id = p.source_record_id_r))"
        if kept
        else ""
    )
    con.execute(
        "INSERT INTO _ju_lk_scored SELECT least(a.unique_id, b.unique_id), "
        "greatest(a.unique_id, b.unique_id), p.match_weight, p.match_probability, "
        "p.blocking_rule FROM (SELECT * FROM _ju_prev.link_pair p "
        f"WHERE p.match_weight IS NOT NULL {keep}) p "
        "JOIN _ju_lk_old a ON a.source = p.source_l "
        "AND a.source_record_id = p.source_record_id_l "
        "JOIN _ju_lk_old b ON b.source = p.source_r "
        "AND b.source_record_id = p.source_record_id_r"
    )


def _thin(alias: str) -> str:
    """A record too thin to join two persons together: no date of birth or no surname."""
    return f"{alias}.dob IS NULL OR {alias}.surname IS NULL"


def cluster_records(con: duckdb.DuckDBPyConnection, config: LinkageConfig) -> None:
    """Persons from the links, on the nodes of ``_ju_lk_node(unique_id, node, open)``.

    A full build makes every record a node; an incremental one keeps each untouched
    previous person as one node, so only links that touch an open record matter.
    """
    weight = math.log2(config.match_threshold / (1 - config.match_threshold))
    thin = config.thin_match_threshold or config.match_threshold
    thin_weight = math.log2(thin / (1 - thin))
    # accepted model links that touch an open record: at or above the threshold (a thin
    # record's own threshold for links of thin records) and not refused by a reviewer
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_edges AS "
        "SELECT s.unique_id_l, s.unique_id_r, s.match_weight FROM _ju_lk_scored s "
        "JOIN _ju_lk_node na ON na.unique_id = s.unique_id_l "
        "JOIN _ju_lk_node nb ON nb.unique_id = s.unique_id_r "
        f"WHERE s.match_weight >= {min(weight, thin_weight)!r} AND (na.open OR nb.open) "
        "AND NOT EXISTS (SELECT 1 FROM _ju_lk_dec d "
        "WHERE d.decision = 'non_match' AND d.unique_id_l = least(s.unique_id_l, s.unique_id_r) "
        "AND d.unique_id_r = greatest(s.unique_id_l, s.unique_id_r))"
    )
    # strong links: identifiers, reviewers' matches, and model links between records that
    # both have a date of birth and a surname; a thin record (without one of them, like
    # the voluntary sector's) joins only its best-matching person
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_strong AS "
        "WITH s AS (SELECT e.unique_id_l, e.unique_id_r FROM _ju_lk_exact e WHERE NOT EXISTS "
        "(SELECT 1 FROM _ju_lk_dec d WHERE d.decision = 'non_match' "
        "AND d.unique_id_l = least(e.unique_id_l, e.unique_id_r) "
        "AND d.unique_id_r = greatest(e.unique_id_l, e.unique_id_r)) "
        "UNION ALL SELECT unique_id_l, unique_id_r FROM _ju_lk_dec WHERE decision = 'match' "
        "UNION ALL SELECT e.unique_id_l, e.unique_id_r FROM _ju_lk_edges e "
        f"JOIN {INPUT_TABLE} a ON a.unique_id = e.unique_id_l "
        f"JOIN {INPUT_TABLE} b ON b.unique_id = e.unique_id_r "
        f"WHERE e.match_weight >= {weight!r} AND NOT ({_thin('a')}) AND NOT ({_thin('b')})) "
        "SELECT DISTINCT na.node AS unique_id_l, nb.node AS unique_id_r FROM s "
        "JOIN _ju_lk_node na ON na.unique_id = s.unique_id_l "
        "JOIN _ju_lk_node nb ON nb.unique_id = s.unique_id_r WHERE na.node <> nb.node"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_nodes AS SELECT DISTINCT node AS unique_id "
        "FROM _ju_lk_node"
    )
    connected_components(con, "_ju_lk_nodes", "_ju_lk_strong", "_ju_lk_core")
    # open thin records that no strong link holds
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_weak AS SELECT c.unique_id FROM _ju_lk_core c "
        f"JOIN {INPUT_TABLE} i USING (unique_id) JOIN _ju_lk_node n USING (unique_id) "
        "JOIN (SELECT label, count(*) AS n FROM _ju_lk_core GROUP BY label) s USING (label) "
        f"WHERE ({_thin('i')}) AND s.n = 1 AND n.open AND n.node = n.unique_id"
    )
    # each joins the person of its best-scoring link to a record that is not weak
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_attach AS "
        "WITH cand AS (SELECT unique_id_l AS weak, unique_id_r AS other, match_weight "
        f"FROM _ju_lk_edges WHERE match_weight >= {thin_weight!r} "
        "UNION ALL SELECT unique_id_r, unique_id_l, match_weight "
        f"FROM _ju_lk_edges WHERE match_weight >= {thin_weight!r}), "
        "ranked AS (SELECT cand.weak, c.label, row_number() OVER (PARTITION BY cand.weak "
        "ORDER BY cand.match_weight DESC, c.label) AS k FROM cand "
        "JOIN _ju_lk_weak w ON w.unique_id = cand.weak "
        "JOIN _ju_lk_node n ON n.unique_id = cand.other "
        "JOIN _ju_lk_core c ON c.unique_id = n.node "
        "WHERE cand.other NOT IN (SELECT unique_id FROM _ju_lk_weak)) "
        "SELECT weak, label FROM ranked WHERE k = 1"
    )
    # second pass on the small graph of core persons and weak records only
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_all AS SELECT weak AS unique_id_l, "
        "label AS unique_id_r FROM _ju_lk_attach "
        # weak records that matched only other weak records are joined among themselves
        "UNION ALL SELECT e.unique_id_l, e.unique_id_r FROM _ju_lk_edges e "
        "JOIN _ju_lk_weak a ON a.unique_id = e.unique_id_l "
        "JOIN _ju_lk_weak b ON b.unique_id = e.unique_id_r "
        f"WHERE e.match_weight >= {weight!r} "
        "AND e.unique_id_l NOT IN (SELECT weak FROM _ju_lk_attach) "
        "AND e.unique_id_r NOT IN (SELECT weak FROM _ju_lk_attach)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_nodes AS SELECT DISTINCT label AS unique_id "
        "FROM _ju_lk_core"
    )
    connected_components(con, "_ju_lk_nodes", "_ju_lk_all", "_ju_lk_top")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_cluster AS SELECT n.unique_id, t.label "
        "FROM _ju_lk_node n JOIN _ju_lk_core c ON c.unique_id = n.node "
        "JOIN _ju_lk_top t ON t.unique_id = c.label"
    )
    for t in ("_ju_lk_weak", "_ju_lk_attach", "_ju_lk_all", "_ju_lk_nodes", "_ju_lk_top"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def whole_persons(con: duckdb.DuckDBPyConnection) -> int:
    """``_ju_lk_whole(label, node, person_id)``: clusters that are one kept previous
    person and nothing else (no new, changed or reopened record joined them).

    Such a person is as the previous release had it: the same records, links and flags,
    and the same id (:func:`ids.assign_person_ids` and ``tables.write_tables`` copy
    them). Returns how many. Needs :func:`nodes_incremental` and :func:`cluster_records`.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_whole AS "
        "WITH per AS (SELECT c.label, min(n.node) AS node, max(n.node) AS last, "
        "bool_or(n.open) AS open FROM _ju_lk_cluster c JOIN _ju_lk_node n USING (unique_id) "
        "GROUP BY c.label) "
        "SELECT per.label, per.node, k.person_id FROM per "
        "JOIN _ju_lk_closed k USING (node) WHERE NOT per.open AND per.node = per.last"
    )
    return int(con.execute("SELECT count(*) FROM _ju_lk_whole").fetchall()[0][0])
