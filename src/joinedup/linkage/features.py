"""The linkage input: one row per record with the columns the comparisons read.

Built from the release's ``identity`` and ``record`` tables (already normalised and
validated by the source mappings) into the temporary table ``_ju_lk_input``. Derived
columns are computed here, once, so the model's SQL stays engine-neutral: date of birth
parts and day number, postcode sector, nickname groups and double metaphone codes.
"""

from __future__ import annotations

import duckdb

from joinedup.linkage.names import name_features

__all__ = [
    "CROWDED_BLOCK",
    "INPUT_COLUMNS",
    "INPUT_TABLE",
    "PROBABILISTIC_TABLE",
    "fingerprint_sql",
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
    "surname_parts",
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
    "fingerprint",
)


def fingerprint_sql(alias: str) -> str:
    """A hash of a record's identifying fields in ``identity``: changed when any changes."""
    cols = (
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
    parts = ", ".join(f"coalesce({alias}.{c}::VARCHAR, '')" for c in cols)
    return f"md5(concat_ws('|', {parts}))"


def _input_sql() -> str:
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
      sn.parts AS surname_parts,
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
      {fingerprint_sql("i")} AS fingerprint
    FROM identity i
    JOIN record r USING (source, source_record_id)
    LEFT JOIN _ju_lk_names fn ON fn.name = i.forename
    LEFT JOIN _ju_lk_names sn ON sn.name = i.surname
    LEFT JOIN _ju_lk_names pn ON pn.name = i.preferred_name
    """


def prepare_input(con: duckdb.DuckDBPyConnection) -> int:
    """Create ``_ju_lk_input`` from ``identity`` and ``record``; return its row count."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT n FROM (SELECT forename AS n FROM identity UNION ALL "
            "SELECT surname FROM identity UNION ALL SELECT preferred_name FROM identity) "
            "WHERE n IS NOT NULL"
        ).fetchall()
    ]
    con.register("_ju_lk_names_arrow", name_features(names))
    con.execute("CREATE OR REPLACE TEMP TABLE _ju_lk_names AS SELECT * FROM _ju_lk_names_arrow")
    con.unregister("_ju_lk_names_arrow")
    con.execute(_input_sql())
    con.execute("DROP TABLE _ju_lk_names")
    row = con.execute(f"SELECT count(*) FROM {INPUT_TABLE}").fetchall()[0]
    return int(row[0])


def probabilistic_input(con: duckdb.DuckDBPyConnection) -> int:
    """``_ju_lk_prob``: the input less crowded records; return how many were left out."""
    # the crowded keys are few: find them by grouping, then leave their records out
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {PROBABILISTIC_TABLE} AS "
        f"WITH fa AS (SELECT forename, dob_str FROM {INPUT_TABLE} GROUP BY ALL "
        f"HAVING count(*) > {CROWDED_BLOCK}), "
        f"sa AS (SELECT surname, dob_str FROM {INPUT_TABLE} GROUP BY ALL "
        f"HAVING count(*) > {CROWDED_BLOCK}) "
        f"SELECT * FROM {INPUT_TABLE} i WHERE NOT EXISTS (SELECT 1 FROM fa "
        "WHERE fa.forename IS NOT DISTINCT FROM i.forename "
        "AND fa.dob_str IS NOT DISTINCT FROM i.dob_str) "
        "AND NOT EXISTS (SELECT 1 FROM sa WHERE sa.surname IS NOT DISTINCT FROM i.surname "
        "AND sa.dob_str IS NOT DISTINCT FROM i.dob_str)"
    )
    row = con.execute(
        f"SELECT (SELECT count(*) FROM {INPUT_TABLE}) - (SELECT count(*) FROM "
        f"{PROBABILISTIC_TABLE})"
    ).fetchall()[0]
    return int(row[0])
