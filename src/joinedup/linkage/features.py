"""The linkage input: one row per record with the columns the comparisons read.

Built from the release's ``identity`` and ``record`` tables (already normalised and
validated by the source mappings) into the temporary table ``_ju_lk_input``. Derived
columns are computed here, once, so the model's SQL stays engine-neutral: date of birth
parts and day number, postcode sector, nickname groups and double metaphone codes, name
parts and a surname's family part (title names such as SINGH or BEGUM set aside), the
identifiers of declared kinds keyed by their scope (``identity_id``; the first one's
halves too, one of which a mistyped character leaves whole), and the words and
house number of a free-text address (``identity_address``, less the postcode found in it).
"""

from __future__ import annotations

import duckdb

from joinedup.linkage.names import name_features

__all__ = [
    "COMPONENTS_TABLE",
    "COMPONENT_SQL",
    "CROWDED_BLOCK",
    "EXACT_TABLE",
    "FINGERPRINT_COLUMNS",
    "INPUT_COLUMNS",
    "INPUT_TABLE",
    "OPEN_VIEW",
    "PROBABILISTIC_TABLE",
    "crowded_input",
    "drop_open_input",
    "fingerprint_sql",
    "identifier_components",
    "prepare_input",
    "probabilistic_input",
]

INPUT_TABLE = "_ju_lk_input"
PROBABILISTIC_TABLE = "_ju_lk_prob"
# A record whose forename and date of birth (or surname and date of birth) it shares with
# more than this many records is a placeholder or a test record, not a person: comparing
# them all would take pairs by the square. Such records link on identifiers only.
CROWDED_BLOCK = 500

INPUT_COLUMNS = (
    "unique_id",
    "source",
    "source_record_id",
    "agency",
    "forename",
    "surname",
    "forename_groups",
    "forename_canonical",
    "forename_dm1",
    "forename_dm2",
    "forename_parts",
    "surname_parts",
    "surname_core",
    "surname_title",
    "surname_dm1",
    "surname_dm2",
    "dob",
    "dob_str",
    "dob_year",
    "dob_month",
    "dob_day",
    "dob_days",
    "sex",
    "postcode",
    "postcode_sector",
    "postcode_district",
    "nhs_number",
    "upn",
    "pnc_id",
    "local_key",
    "id_keys",
    "id_kinds",
    "id_key",
    "id_head",
    "id_tail",
    "name_key",
    "name_nodob",
    "address_tokens",
    "house_number",
    "street_key",
    "street_name",
    "address_compact",
    "fingerprint",
)


#: The fields of ``identity`` a record's linkage input is made from.
FINGERPRINT_COLUMNS = (
    "forename",
    "surname",
    "preferred_name",
    "dob",
    "sex",
    "postcode",
    "postcode_district",
    "nhs_number",
    "upn",
    "pnc_id",
    "local_id",
)


def fingerprint_sql(alias: str) -> str:
    """A hash of a record's identifying fields in ``identity``: changed when any changes."""
    parts = ", ".join(f"coalesce({alias}.{c}::VARCHAR, '')" for c in FINGERPRINT_COLUMNS)
    return f"md5(concat_ws('|', {parts}))"


def _address_sql(present: bool) -> str:
    """One address per record (``identity_address``): its words less the postcode."""
    if not present:
        return (
            "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS source_record_id, "
            "NULL::VARCHAR[] AS address_tokens, NULL::VARCHAR AS house_number, "
            "NULL::VARCHAR AS street_key, NULL::VARCHAR AS street_name, "
            "NULL::VARCHAR AS address_compact WHERE false"
        )
    less = "trim(replace(a.address, coalesce(a.postcode, chr(31)), ''))"
    words = f"string_split({less}, ' ')"
    return (
        "SELECT source, source_record_id, CASE WHEN len(t) > 0 THEN t END AS address_tokens, "
        "nullif(regexp_extract(addr, '(^| )([0-9]+[A-Z]?)( |$)', 2), '') AS house_number, "
        # the house number with the word after it (``12 ELM``): one street's household
        "nullif(regexp_replace(regexp_extract(addr, '(^| )([0-9]+[A-Z]? +[A-Z]{2,})', 2), "
        "' +', ' ', 'g'), '') AS street_key, "
        # the word after the house number alone (``ELM``): one street, a house number
        # mistyped or another house on it
        "nullif(regexp_extract(addr, '(^| )[0-9]+[A-Z]? +([A-Z]{2,})', 2), '') AS street_name, "
        # letters and digits only (``2MCKINLEYCIRCUIT...``): one address whatever its
        # spacing and punctuation (``MCKINLEY CIRCUIT``, ``MCKINLEYCIRCUIT``)
        "nullif(regexp_replace(upper(less), '[^A-Z0-9]', '', 'g'), '') AS address_compact "
        # a record with several addresses (repeated rows): the first in order, the same
        # one in every build
        f"FROM (SELECT a.source, a.source_record_id, min(a.address) AS addr, "
        f"arg_min({less}, (a.address, a.postcode)) AS less, "
        f"list_distinct(list_filter(arg_min({words}, (a.address, a.postcode)), "
        "lambda w: length(w) >= 2 "
        "OR regexp_matches(w, '^[0-9]+$'))) AS t "
        "FROM identity_address a WHERE a.address IS NOT NULL GROUP BY ALL)"
    )


def _ids_sql(present: bool) -> str:
    """Identifiers of declared kinds (``identity_id``) per record, keyed by their scope:
    a ``shared`` kind compares across agencies, an ``agency`` kind within one only."""
    if not present:
        return (
            "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS source_record_id, "
            "NULL::VARCHAR[] AS id_keys, NULL::VARCHAR[] AS id_kinds WHERE false"
        )
    kind = "x.kind || CASE WHEN x.scope = 'shared' THEN '' ELSE '@' || r.agency END"
    return (
        f"SELECT x.source, x.source_record_id, "
        f"list_sort(list(DISTINCT {kind} || ':' || x.value)) AS id_keys, "
        f"list(DISTINCT {kind}) AS id_kinds FROM identity_id x "
        "JOIN record r USING (source, source_record_id) WHERE x.value IS NOT NULL GROUP BY ALL"
    )


def _half_sql(side: str) -> str:
    """The first identifier's kind and the first (``left``) or last (``right``) half of
    its value: one mistyped character leaves one half whole."""
    kind = "split_part(d.id_keys[1], ':', 1)"
    value = f"substr(d.id_keys[1], length({kind}) + 2)"
    return f"{kind} || ':' || {side}({value}, length({value}) // 2)"


def _input_sql(*, addresses: bool = True, ids: bool = True) -> str:
    return f"""
    CREATE OR REPLACE TEMP TABLE {INPUT_TABLE} AS
    SELECT
      row_number() OVER (ORDER BY i.source, i.source_record_id) AS unique_id,
      i.source, i.source_record_id, r.agency,
      fn.norm AS forename,
      sn.norm AS surname,
      CASE WHEN fn.groups IS NULL AND pn.groups IS NULL THEN NULL
           ELSE list_distinct(list_concat(coalesce(fn.groups, []), coalesce(pn.groups, [])))
      END AS forename_groups,
      fn.canonical AS forename_canonical,
      fn.dm1 AS forename_dm1, fn.dm2 AS forename_dm2,
      fn.parts AS forename_parts,
      sn.parts AS surname_parts,
      sn.core AS surname_core,
      coalesce(sn.title, false) AS surname_title,
      sn.dm1 AS surname_dm1, sn.dm2 AS surname_dm2,
      i.dob,
      strftime(i.dob, '%Y-%m-%d') AS dob_str,
      year(i.dob)::INTEGER AS dob_year,
      month(i.dob)::INTEGER AS dob_month,
      day(i.dob)::INTEGER AS dob_day,
      (i.dob - DATE '1970-01-01')::INTEGER AS dob_days,
      CASE WHEN i.sex IN ('F', 'M') THEN i.sex END AS sex,
      i.postcode,
      CASE WHEN i.postcode IS NOT NULL AND length(i.postcode) > 2
           THEN substr(i.postcode, 1, length(i.postcode) - 2) END AS postcode_sector,
      coalesce(i.postcode_district, split_part(i.postcode, ' ', 1)) AS postcode_district,
      i.nhs_number, i.upn, i.pnc_id,
      CASE WHEN i.local_id IS NOT NULL THEN r.agency || ':' || i.local_id END AS local_key,
      d.id_keys, d.id_kinds, d.id_keys[1] AS id_key,
      {_half_sql("left")} AS id_head,
      {_half_sql("right")} AS id_tail,
      fn.norm || ' ' || sn.norm AS name_key,
      CASE WHEN i.dob IS NULL AND coalesce(i.postcode_district, i.postcode) IS NULL
           THEN fn.norm || ' ' || sn.norm END AS name_nodob,
      ad.address_tokens, ad.house_number, ad.street_key, ad.street_name, ad.address_compact,
      {fingerprint_sql("i")} AS fingerprint
    FROM identity i
    JOIN record r USING (source, source_record_id)
    LEFT JOIN _ju_lk_names fn ON fn.name = i.forename
    LEFT JOIN _ju_lk_names sn ON sn.name = i.surname
    LEFT JOIN _ju_lk_names pn ON pn.name = i.preferred_name
    LEFT JOIN ({_ids_sql(ids)}) d ON d.source = i.source
      AND d.source_record_id = i.source_record_id
    LEFT JOIN ({_address_sql(addresses)}) ad ON ad.source = i.source
      AND ad.source_record_id = i.source_record_id
    """


def prepare_input(
    con: duckdb.DuckDBPyConnection, *, only: str | None = None, out: str = INPUT_TABLE
) -> int:
    """Create ``out`` (``_ju_lk_input``) from ``identity`` and ``record``; return its row
    count. ``only`` is a table of ``(source, source_record_id)``: those records alone."""
    ident = (
        "identity"
        if only is None
        else f"(SELECT * FROM identity SEMI JOIN {only} USING (source, source_record_id))"
    )
    names = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT n FROM (SELECT forename AS n FROM {ident} UNION ALL "
            f"SELECT surname FROM {ident} UNION ALL SELECT preferred_name FROM {ident}) "
            "WHERE n IS NOT NULL"
        ).fetchall()
    ]
    con.register("_ju_lk_names_arrow", name_features(names))
    con.execute("CREATE OR REPLACE TEMP TABLE _ju_lk_names AS SELECT * FROM _ju_lk_names_arrow")
    con.unregister("_ju_lk_names_arrow")
    have = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "AND database_name = current_database() "
            "AND table_name IN ('identity_address', 'identity_id')"
        ).fetchall()
    }
    sql = _input_sql(addresses="identity_address" in have, ids="identity_id" in have)
    if only is not None:
        sql = sql.replace(f"TEMP TABLE {INPUT_TABLE} AS", f"TEMP TABLE {out} AS").replace(
            "FROM identity i", f"FROM {ident} i"
        )
    con.execute(sql)
    con.execute("DROP TABLE _ju_lk_names")
    row = con.execute(f"SELECT count(*) FROM {out}").fetchall()[0]
    return int(row[0])


#: The input less crowded records (a view): what the model scores and counts terms over.
OPEN_VIEW = "_ju_lk_open"
_CROWDED = "_ju_lk_crowded"


def crowded_input(con: duckdb.DuckDBPyConnection) -> int:
    """Find the crowded records (``_ju_lk_crowded``) and make ``_ju_lk_open``, the input
    less them (a view, nothing copied); return how many were left out.

    The crowded keys are few (a forename or a surname with a date of birth on more than
    ``CROWDED_BLOCK`` records): grouping finds them, then their records (a NULL name or
    date is a key value like any other here).
    """
    keys = " UNION ALL ".join(
        f"SELECT i.unique_id FROM {INPUT_TABLE} i JOIN (SELECT {col}, dob_str FROM "
        f"{INPUT_TABLE} GROUP BY ALL HAVING count(*) > {CROWDED_BLOCK}) k "
        f"ON k.{col} IS NOT DISTINCT FROM i.{col} AND k.dob_str IS NOT DISTINCT FROM i.dob_str"
        for col in ("forename", "surname")
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_CROWDED} AS SELECT DISTINCT unique_id FROM ({keys})"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {OPEN_VIEW} AS SELECT i.* FROM {INPUT_TABLE} i "
        f"ANTI JOIN {_CROWDED} USING (unique_id)"
    )
    return int(con.execute(f"SELECT count(*) FROM {_CROWDED}").fetchall()[0][0])


def probabilistic_input(
    con: duckdb.DuckDBPyConnection,
    *,
    out: str = PROBABILISTIC_TABLE,
    only: str = "",
    where: str = "",
) -> None:
    """``out`` (``_ju_lk_prob``): the records of the input that no crowded key holds
    (:func:`crowded_input` first), with each one's identifier component
    (:func:`identifier_components` first).

    ``only`` is joins (``SEMI JOIN t USING (unique_id)``, ``ANTI JOIN ...``) that narrow
    the records further, and ``where`` a condition on them: an incremental build copies
    only the new records and the unchanged ones a blocking rule pairs with them."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out} AS "
        f"SELECT o.*, {COMPONENT_SQL} AS id_component FROM {INPUT_TABLE} o {only} "
        f"ANTI JOIN {_CROWDED} USING (unique_id) LEFT JOIN {_COMPONENTS} c USING (unique_id)"
        f"{' WHERE ' + where if where else ''}"
    )


def drop_open_input(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what :func:`crowded_input` and :func:`identifier_components` made."""
    con.execute(f"DROP VIEW IF EXISTS {OPEN_VIEW}")
    for t in (_CROWDED, _COMPONENTS):
        con.execute(f"DROP TABLE IF EXISTS {t}")


#: The build's links on trusted identifiers (``linkage.exact.exact_edges_sql``).
EXACT_TABLE = "_ju_lk_exact"
#: ``(unique_id, label)`` of the records identifier links touch (:func:`identifier_components`).
COMPONENTS_TABLE = "_ju_lk_idc"
_COMPONENTS = COMPONENTS_TABLE
#: A record's identifier component, on ``_ju_lk_idc c`` left-joined to a record ``o``.
COMPONENT_SQL = "coalesce(c.label, o.unique_id)"


def identifier_components(con: duckdb.DuckDBPyConnection) -> None:
    """``_ju_lk_idc(unique_id, label)``: for each record an identifier link touches, the
    smallest ``unique_id`` of the records trusted identifiers join it to. A record no
    identifier links is a component of its own (:data:`COMPONENT_SQL`), and not listed.

    Two records of one component are one person whatever the model says, so the blocking
    rules leave such pairs out (``settings.SAME_PERSON_BY_IDENTIFIER``): at 20,000 people
    they are four in ten of the pairs a full build would score.
    """
    from joinedup.linkage.clusters import connected_components

    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [EXACT_TABLE]
    ).fetchall()[0][0]
    edges = (
        EXACT_TABLE
        if exists
        else "(SELECT NULL::BIGINT AS unique_id_l, NULL::BIGINT AS unique_id_r WHERE false)"
    )
    connected_components(con, None, edges, _COMPONENTS)
