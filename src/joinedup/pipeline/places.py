"""Places as distinct locations (issue 14): the place id, and the optional gazetteer.

A place recorded by a source is keyed on its **normalised name** (upper case, every run
of spaces and punctuation one space: "Golden Grill", "GOLDEN GRILL." and "golden  grill"
are one name) and its **full postcode** (already normalised by the mapping), plus the
address text where a source records the location as an address. Two places with one
name at different postcodes are two places, whatever their labels read like; one place
recorded by two agencies with the same name and postcode is one place.

A partnership's **gazetteer** (``geography.gazetteer``: premises and landmarks with an
id, a name, a full postcode and optionally a place type and other names) makes a
recorded place whose normalised name, or one of the entry's other names, and postcode
match an entry that entry: its id is ``GZ:`` and the entry's id, its name and type the
entry's. :func:`read_gazetteer` reads the file (``check`` and ``build`` alike) into
``_ju_gazetteer``; :func:`apply_gazetteer` renames the places and their events in the
``derive`` stage, before ``place`` is filled.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from joinedup.config import PartnershipConfig
from joinedup.config.geography import GazetteerFile
from joinedup.errors import Problem
from joinedup.pipeline.geofiles import read_table, resolve_columns
from joinedup.taxonomy import load_taxonomy

__all__ = [
    "GAZETTEER",
    "apply_gazetteer",
    "gazetteer_problems",
    "place_name_key_sql",
    "read_gazetteer",
]

#: The temporary table the gazetteer is read into: (id, name, name_key, postcode, type).
GAZETTEER = "_ju_gazetteer"


def place_name_key_sql(text: str) -> str:
    """SQL: a place name as a key, upper case with spaces and punctuation collapsed."""
    return f"nullif(trim(regexp_replace(upper({text}), '[^A-Z0-9]+', ' ', 'g')), '')"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_gazetteer(
    con: duckdb.DuckDBPyConnection,
    spec: GazetteerFile,
    base: Path,
    *,
    place_types: frozenset[str],
) -> tuple[list[Problem], list[str]]:
    """Read the gazetteer into :data:`GAZETTEER`; return (problems, notes).

    Raises :class:`~joinedup.errors.SourceError` for a file that cannot be read."""
    key = "geography.gazetteer"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {GAZETTEER} (id VARCHAR, name VARCHAR, "
        "name_key VARCHAR, postcode VARCHAR, place_type VARCHAR)"
    )
    t = read_table(con, Path(base) / spec.file, spec.file, key, "_ju_geo_gaz")
    try:
        notes = list(t.notes)
        cols, problems = resolve_columns(t, spec.columns, required=("id", "name", "postcode"))
        if problems:
            return problems, notes

        def col(name: str) -> str:
            c = cols.get(name)
            return "NULL" if c is None else f"nullif(trim(r.{_q(c)}), '')"

        names = col("name")
        if cols.get("aliases"):
            names = f"unnest(list_distinct([{names}] || string_split({col('aliases')}, ';')))"
        con.execute(
            f"INSERT INTO {GAZETTEER} SELECT DISTINCT id, name, {place_name_key_sql('alias')}, "
            "postcode, place_type FROM (SELECT "
            f"{col('id')} AS id, {col('name')} AS name, {names} AS alias, "
            f"ju_postcode({col('postcode')}) AS postcode, lower({col('type')}) AS place_type "
            f"FROM {_q(t.view)} r) WHERE id IS NOT NULL AND postcode IS NOT NULL "
            "AND nullif(trim(alias), '') IS NOT NULL"
        )
        bad = [
            str(r[0])
            for r in con.execute(
                f"SELECT DISTINCT place_type FROM {GAZETTEER} WHERE place_type IS NOT NULL"
            ).fetchall()
            if str(r[0]) not in place_types
        ]
        if bad:
            problems.append(
                Problem(
                    f"{key}.columns.type",
                    f"{t.rel}: {len(bad)} place type(s) in column '{cols['type']}' are not "
                    "taxonomy place types; use the taxonomy's codes (home, school, park, "
                    "takeaway, hotel, transport, ...) or leave the column out",
                )
            )
        clash = con.execute(
            f"SELECT count(*) FROM (SELECT name_key, postcode FROM {GAZETTEER} "
            "GROUP BY ALL HAVING count(DISTINCT id) > 1)"
        ).fetchone()
        if clash is not None and int(clash[0]):
            notes.append(
                f"  {t.rel}: {int(clash[0]):,} name and postcode pair(s) belong to more than "
                "one entry; places recorded with them are matched to none (give each entry "
                "names of its own)"
            )
        return problems, notes
    finally:
        t.drop(con)


def gazetteer_problems(
    con: duckdb.DuckDBPyConnection, cfg: PartnershipConfig, base: Path
) -> tuple[list[Problem], list[str]]:
    """Read the configured gazetteer, if any (see :func:`read_gazetteer`)."""
    spec = cfg.geography.gazetteer
    if spec is None:
        return [], []
    types = frozenset(load_taxonomy(cfg.taxonomy_version).codes("place_type"))
    return read_gazetteer(con, spec, base, place_types=types)


def apply_gazetteer(con: duckdb.DuckDBPyConnection) -> int:
    """Give the recorded places (``_ju_places``) that match a gazetteer entry the entry's
    id, name and type, in ``_ju_places`` and ``event``; return how many places matched.
    Does nothing without a gazetteer."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [GAZETTEER]
    ).fetchone()
    if found is None or not int(found[0]):
        return 0
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_place_gz AS "
        "SELECT DISTINCT p.place_id, 'GZ:' || g.id AS gz_id, g.name, g.place_type "
        "FROM _ju_places p JOIN (SELECT name_key, postcode, any_value(id) AS id, "
        "min(name) AS name, min(place_type) AS place_type "
        f"FROM {GAZETTEER} GROUP BY name_key, postcode HAVING count(DISTINCT id) = 1) g "
        f"ON g.postcode = p.postcode AND g.name_key = {place_name_key_sql('p.name')}"
    )
    con.execute(
        "UPDATE _ju_places SET place_id = m.gz_id, name = m.name, "
        "place_type = coalesce(m.place_type, _ju_places.place_type) "
        "FROM _ju_place_gz m WHERE _ju_places.place_id = m.place_id"
    )
    con.execute(
        "UPDATE event SET place_id = m.gz_id FROM _ju_place_gz m WHERE event.place_id = m.place_id"
    )
    row = con.execute("SELECT count(DISTINCT place_id) FROM _ju_place_gz").fetchone()
    con.execute("DROP TABLE IF EXISTS _ju_place_gz")
    return 0 if row is None else int(row[0])
