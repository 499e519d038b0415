"""Derived release tables: geography, persons' attributes and places.

Runs inside a build after the sources are mapped and persons resolved. Every function
takes the open build connection and fills release tables.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

from joinedup.config import PartnershipConfig
from joinedup.errors import SourceError

__all__ = ["AGE_BANDS", "age_band_sql", "derive_tables", "load_geography"]

AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 9, "0-9"),
    (10, 13, "10-13"),
    (14, 15, "14-15"),
    (16, 17, "16-17"),
    (18, 20, "18-20"),
    (21, 24, "21-24"),
)


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def age_band_sql(age: str) -> str:
    arms = " ".join(
        f"WHEN {age} BETWEEN {lo} AND {hi} THEN '{label}'" for lo, hi, label in AGE_BANDS
    )
    return f"(CASE {arms} WHEN {age} >= 25 THEN '25+' END)"


def _age_sql(dob: str, ref: str) -> str:
    return (
        f"(year({ref}) - year({dob}) - CASE WHEN strftime({ref}, '%m%d') < strftime({dob}, '%m%d') "
        "THEN 1 ELSE 0 END)"
    )


def load_geography(con: duckdb.DuckDBPyConnection, base: Path, cfg: PartnershipConfig) -> None:
    geo = cfg.geography
    if geo.areas is not None:
        path = base / geo.areas
        try:
            features = json.loads(path.read_text(encoding="utf-8")).get("features", [])
        except (OSError, ValueError, AttributeError) as exc:
            raise SourceError(
                f"{geo.areas}: not a GeoJSON FeatureCollection ({type(exc).__name__}); "
                "export the boundaries as GeoJSON with properties code, name, type, parent."
            ) from None
        rows = []
        for i, f in enumerate(features):
            props = f.get("properties") or {}
            if not props.get("code") or props.get("type") not in (
                "authority",
                "ward",
                "small_area",
            ):
                raise SourceError(
                    f"{geo.areas}: feature {i + 1} needs properties 'code' and 'type' "
                    "(authority, ward or small_area)."
                )
            geom = f.get("geometry")
            rows.append(
                (
                    str(props["code"]),
                    str(props.get("name") or props["code"]),
                    props["type"],
                    props.get("parent"),
                    json.dumps(geom, separators=(",", ":")) if geom else None,
                )
            )
        con.executemany("INSERT INTO area VALUES (?, ?, ?, ?, ?)", rows)
    for a in cfg.authorities:
        con.execute(
            "INSERT INTO area SELECT ?, ?, 'authority', NULL, NULL "
            "WHERE NOT EXISTS (SELECT 1 FROM area WHERE area_code = ?)",
            [a.code, a.name, a.code],
        )
    if geo.postcodes is not None:
        p = _lit(str(base / geo.postcodes))
        con.execute(
            "INSERT INTO postcode_lookup SELECT DISTINCT ON (pc) pc, pl.small_area, w.area_code, "
            "w.parent_code, TRY_CAST(pl.lat AS DOUBLE), TRY_CAST(pl.lon AS DOUBLE) FROM ("
            f"SELECT ju_postcode(postcode) AS pc, * FROM read_csv({p}, all_varchar = true)) pl "
            "LEFT JOIN area s ON s.area_code = pl.small_area AND s.area_type = 'small_area' "
            "LEFT JOIN area w ON w.area_code = s.parent_code AND w.area_type = 'ward' "
            "WHERE pc IS NOT NULL"
        )
    if geo.population is not None:
        p = _lit(str(base / geo.population))
        con.execute(
            "INSERT INTO population SELECT area_code, TRY_CAST(age AS INTEGER), sex, "
            "ethnicity_group, TRY_CAST(population AS INTEGER) "
            f"FROM read_csv({p}, all_varchar = true)"
        )


def derive_tables(con: duckdb.DuckDBPyConnection, reference: dt.date) -> None:
    ref = f"DATE {_lit(reference.isoformat())}"
    # places: one row per place id, placed in the partnership's geography by postcode
    con.execute(
        "INSERT INTO place SELECT p.place_id, p.name, p.place_type, p.postcode, "
        "ju_postcode_sector(p.postcode), ju_postcode_district(p.postcode), l.small_area, l.ward, "
        "l.authority, l.lat, l.lon FROM ("
        "SELECT place_id, any_value(name) AS name, mode(place_type) AS place_type, "
        "any_value(postcode) AS postcode FROM _ju_places GROUP BY place_id) p "
        "LEFT JOIN postcode_lookup l ON l.postcode = p.postcode"
    )
    con.execute(
        "UPDATE event SET county_lines = true WHERE event_id IN "
        "(SELECT event_id FROM event_exploitation WHERE exploitation_type = 'county_lines')"
    )
    # a district belongs to an authority when all its known postcodes do
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_district AS SELECT ju_postcode_district(postcode) AS d, "
        "any_value(authority) AS authority FROM postcode_lookup GROUP BY d "
        "HAVING count(DISTINCT authority) = 1"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_rp AS SELECT rp.person_id, r.agency, r.record_date, "
        "i.* FROM record_person rp JOIN record r USING (source, source_record_id) "
        "JOIN identity i USING (source, source_record_id)"
    )
    age = _age_sql("dob", ref)
    con.execute(
        "INSERT INTO person SELECT p.person_id, p.sex, p.ethnicity, e.grp, year(p.dob), "
        f"{age}, {age_band_sql(age)}, p.home_district, l.small_area, l.ward, "
        "coalesce(l.authority, d.authority), p.first_seen, p.last_seen, p.n_records, "
        "p.n_agencies, p.agencies FROM ("
        "SELECT person_id, "
        "coalesce(mode(sex) FILTER (WHERE sex <> 'U'), 'U') AS sex, "
        "coalesce(mode(ethnicity) FILTER (WHERE ethnicity NOT IN ('REFU', 'NOBT')), "
        "mode(ethnicity)) AS ethnicity, "
        "mode(dob) AS dob, "
        "arg_max(postcode, coalesce(record_date, DATE '1900-01-01')) "
        "FILTER (WHERE postcode IS NOT NULL) AS home_postcode, "
        "arg_max(postcode_district, coalesce(record_date, DATE '1900-01-01')) "
        "FILTER (WHERE postcode_district IS NOT NULL) AS home_district, "
        "min(record_date) AS first_seen, max(record_date) AS last_seen, "
        "count(*) AS n_records, count(DISTINCT agency) AS n_agencies, "
        "string_agg(DISTINCT agency, ';' ORDER BY agency) AS agencies "
        "FROM _ju_rp GROUP BY person_id) p "
        "LEFT JOIN _ju_ethnicity e ON e.code = p.ethnicity "
        "LEFT JOIN postcode_lookup l ON l.postcode = p.home_postcode "
        "LEFT JOIN _ju_district d ON d.d = p.home_district"
    )
    con.execute("DROP TABLE IF EXISTS _ju_rp")
    con.execute("DROP TABLE IF EXISTS _ju_district")
