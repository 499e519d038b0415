"""Clusters: records joined by accepted links, found as connected components in DuckDB.

Components are found by minimum-label propagation with pointer jumping, so the work stays
in the database however many records there are (the same method as ``exact``).
"""

from __future__ import annotations

import duckdb

__all__ = ["cluster_flags_sql", "connected_components"]

_MAX_ROUNDS = 200


def connected_components(con: duckdb.DuckDBPyConnection, nodes: str, edges: str, out: str) -> int:
    """Label every ``unique_id`` of ``nodes`` with the smallest id in its component.

    ``edges`` has columns ``unique_id_l, unique_id_r``. Writes ``out(unique_id, label)``
    as a temp table and returns the number of components.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_cc_e AS "
        f"SELECT unique_id_l AS a, unique_id_r AS b FROM {edges} "
        f"UNION SELECT unique_id_r, unique_id_l FROM {edges}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT unique_id, unique_id AS label FROM {nodes}"
    )
    for _ in range(_MAX_ROUNDS):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_cc_step AS "
            "SELECT l.unique_id, least(l.label, coalesce(min(n.label), l.label)) AS label "
            f"FROM {out} l LEFT JOIN _ju_cc_e e ON e.a = l.unique_id "
            f"LEFT JOIN {out} n ON n.unique_id = e.b GROUP BY l.unique_id, l.label"
        )
        # pointer jumping: take the label of the label
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_cc_step AS "
            "SELECT s.unique_id, least(s.label, coalesce(j.label, s.label)) AS label "
            "FROM _ju_cc_step s LEFT JOIN _ju_cc_step j ON j.unique_id = s.label"
        )
        changed = con.execute(
            f"SELECT count(*) FROM _ju_cc_step s JOIN {out} l USING (unique_id) "
            "WHERE s.label <> l.label"
        ).fetchall()[0]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * FROM _ju_cc_step")
        if changed[0] == 0:
            break
    con.execute("DROP TABLE IF EXISTS _ju_cc_e")
    con.execute("DROP TABLE IF EXISTS _ju_cc_step")
    row = con.execute(f"SELECT count(DISTINCT label) FROM {out}").fetchall()[0]
    return int(row[0])


def cluster_flags_sql(clusters: str, inp: str, *, max_records: int) -> str:
    """Clusters that look wrong: ``(label, flag, detail)`` rows.

    - ``several_dates_of_birth``: three or more dates of birth, or two more than a year apart;
    - ``too_large``: more records than ``linkage.flag_cluster_records``;
    - ``two_nhs_numbers``, ``two_upns``, ``two_pnc_ids``: two valid identifiers of a kind.
    """
    return f"""
    WITH c AS (
      SELECT c.label, count(*) AS n,
        count(DISTINCT i.dob) AS dobs, max(i.dob) - min(i.dob) AS dob_span,
        count(DISTINCT i.nhs_number) AS nhs, count(DISTINCT i.upn) AS upn,
        count(DISTINCT i.pnc_id) AS pnc
      FROM {clusters} c JOIN {inp} i USING (unique_id) GROUP BY c.label
    )
    SELECT label, 'several_dates_of_birth' AS flag,
           dobs || ' dates of birth, ' || dob_span || ' days apart' AS detail
      FROM c WHERE dobs >= 3 OR (dobs = 2 AND dob_span > 366)
    UNION ALL SELECT label, 'too_large', n || ' records' FROM c WHERE n > {int(max_records)}
    UNION ALL SELECT label, 'two_nhs_numbers', nhs || ' NHS numbers' FROM c WHERE nhs > 1
    UNION ALL SELECT label, 'two_upns', upn || ' UPNs' FROM c WHERE upn > 1
    UNION ALL SELECT label, 'two_pnc_ids', pnc || ' PNC ids' FROM c WHERE pnc > 1
    """
