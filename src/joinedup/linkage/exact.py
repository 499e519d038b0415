"""Exact linkage on trusted identifiers.

Records are joined into one person when they share a valid NHS number, a valid UPN, a
PNC id, or the same local id within one agency; links chain (A shares an NHS number with
B, B a UPN with C: all three are one person). Identifiers reach this stage only after
their check digits were validated by the source mapping, so a mistyped NHS number links
nothing. Records with no shared identifier are persons of their own ("singleton").

Components are found in DuckDB by minimum-label propagation with pointer jumping, so the
work stays in the database however many records there are.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pyarrow as pa

__all__ = ["IDENTIFIER_RULES", "exact_edges_sql", "exact_record_person", "person_id_for"]

# Order matters: a record's rule is the first identifier it shares with another record.
IDENTIFIER_RULES: tuple[tuple[str, str], ...] = (
    ("nhs_number", "nhs_number"),
    ("upn", "upn"),
    ("pnc_id", "pnc_id"),
    ("local_id", "agency || ':' || local_id"),
)

_MAX_ROUNDS = 200


def person_id_for(secret: bytes, anchor: str) -> str:
    """The pseudonymous id for a person anchored on one record key: a keyed hash."""
    digest = hmac.new(secret, anchor.encode("utf-8"), hashlib.sha256).hexdigest()
    return "P" + digest[:16]


def _keys_sql() -> str:
    parts = [
        f"SELECT rid, '{name}' AS kind, '{name}:' || ({expr}) AS key FROM _ju_lk_rec "
        f"WHERE {name} IS NOT NULL"
        for name, expr in IDENTIFIER_RULES
    ]
    return " UNION ALL ".join(parts)


def exact_edges_sql(inp: str, ids: str | None = "identity_id") -> str:
    """Links on trusted identifiers between records of ``inp`` (the linkage input).

    Each identifier value held by several records links every one of them to the first
    (a star, so the edges grow with the records, not their square). Columns:
    ``unique_id_l, unique_id_r, rule`` with rule the identifier's name. ``ids`` is the
    table of identifiers of declared kinds (issue 13): a ``shared`` kind links records of
    any agency, an ``agency`` kind only records of one agency; the rule is the kind's name.
    """
    keys = " UNION ALL ".join(
        f"SELECT unique_id, '{name}' AS rule, ({expr}) AS key FROM {inp} WHERE ({expr}) IS NOT NULL"
        for name, expr in _INPUT_RULES
    )
    if ids is not None:
        keys += (
            " UNION ALL SELECT i.unique_id, x.kind AS rule, CASE WHEN x.scope = 'shared' "
            "THEN x.value ELSE i.agency || ':' || x.value END AS key "
            f"FROM {inp} i JOIN {ids} x USING (source, source_record_id)"
        )
    return (
        f"WITH k AS ({keys}), f AS (SELECT rule, key, min(unique_id) AS first FROM k "
        "GROUP BY rule, key HAVING count(*) > 1) "
        "SELECT f.first AS unique_id_l, k.unique_id AS unique_id_r, k.rule "
        "FROM k JOIN f USING (rule, key) WHERE k.unique_id <> f.first"
    )


# The same rules on the linkage input's columns (local ids carry their agency already).
_INPUT_RULES: tuple[tuple[str, str], ...] = (
    ("nhs_number", "nhs_number"),
    ("upn", "upn"),
    ("pnc_id", "pnc_id"),
    ("local_id", "local_key"),
)


def exact_record_person(con: duckdb.DuckDBPyConnection, secret: bytes) -> int:
    """Fill ``record_person`` from ``identity`` and ``record``; return the number of persons."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_rec AS "
        "SELECT row_number() OVER (ORDER BY i.source, i.source_record_id) AS rid, "
        "i.source, i.source_record_id, r.agency, i.nhs_number, i.upn, i.pnc_id, i.local_id "
        "FROM identity i JOIN record r USING (source, source_record_id)"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ju_lk_keys AS {_keys_sql()}")
    # keys held by one record only link nothing
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_keys AS SELECT * FROM _ju_lk_keys "
        "WHERE key IN (SELECT key FROM _ju_lk_keys GROUP BY key HAVING count(*) > 1)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_lk_label AS SELECT rid, rid AS label FROM _ju_lk_rec"
    )
    for _ in range(_MAX_ROUNDS):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lk_keymin AS "
            "SELECT k.key, min(l.label) AS m FROM _ju_lk_keys k JOIN _ju_lk_label l USING (rid) "
            "GROUP BY k.key"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lk_step AS "
            "SELECT l.rid, least(l.label, min(km.m)) AS label FROM _ju_lk_label l "
            "LEFT JOIN _ju_lk_keys k USING (rid) LEFT JOIN _ju_lk_keymin km USING (key) "
            "GROUP BY l.rid, l.label"
        )
        # pointer jumping: take the label of the label
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ju_lk_step AS "
            "SELECT s.rid, least(s.label, coalesce(j.label, s.label)) AS label "
            "FROM _ju_lk_step s LEFT JOIN _ju_lk_step j ON j.rid = s.label"
        )
        changed = con.execute(
            "SELECT count(*) FROM _ju_lk_step s JOIN _ju_lk_label l USING (rid) "
            "WHERE s.label <> l.label"
        ).fetchone()
        con.execute("CREATE OR REPLACE TEMP TABLE _ju_lk_label AS SELECT * FROM _ju_lk_step")
        if not changed or changed[0] == 0:
            break
    # anchor each component on its smallest record key; the id is a keyed hash of it
    anchors = con.sql(
        "SELECT l.label, min(r.source || chr(31) || r.source_record_id) AS anchor "
        "FROM _ju_lk_label l JOIN _ju_lk_rec r USING (rid) GROUP BY l.label"
    ).to_arrow_table()
    labels = anchors.column("label").to_pylist()
    ids = [person_id_for(secret, a) for a in anchors.column("anchor").to_pylist()]
    con.register("_ju_lk_ids", pa.table({"label": labels, "person_id": ids}))
    rule = " ".join(
        f"WHEN list_contains(kinds, '{name}') THEN '{name}'" for name, _ in IDENTIFIER_RULES
    )
    con.execute(
        "INSERT INTO record_person "
        "SELECT r.source, r.source_record_id, p.person_id, 1.0, "
        f"CASE {rule} ELSE 'singleton' END "
        "FROM _ju_lk_rec r JOIN _ju_lk_label l USING (rid) JOIN _ju_lk_ids p USING (label) "
        "LEFT JOIN (SELECT rid, list(kind) AS kinds FROM _ju_lk_keys GROUP BY rid) k USING (rid)"
    )
    con.unregister("_ju_lk_ids")
    for t in ("_ju_lk_rec", "_ju_lk_keys", "_ju_lk_label", "_ju_lk_keymin", "_ju_lk_step"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return len(ids)
