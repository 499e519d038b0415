"""The ``derive`` stage: places in the partnership's geography and persons' attributes.

Runs after persons are resolved: one ``person`` row each, with age and age band on the
reference date, sex, ethnicity, home area and the agencies that know them.
"""

from __future__ import annotations

from joinedup.pipeline.context import BuildContext
from joinedup.pipeline.places import apply_gazetteer

__all__ = [
    "AGE_BANDS",
    "age_band_sql",
    "derive_tables",
    "person_attributes_sql",
    "place_attributes_sql",
]

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


def _most_often(column: str) -> str:
    """The value of ``column`` recorded most often, and among values recorded equally
    often the first in sort order. ``mode`` alone breaks ties by the order rows arrive
    in, which changes with DuckDB's threads from one build to the next: two builds of the
    same extracts published different place types and so different figures."""
    return f"mode({column} ORDER BY {column})"


def place_attributes_sql() -> str:
    """One row per recorded place id (``_ju_places``): its name and postcode, and its type
    (a type recorded beats "unknown"), each the same in every build of the same data."""
    return (
        f"SELECT place_id, {_most_often('name')} AS name, "
        f"coalesce({_most_often('place_type')} FILTER (WHERE place_type <> 'unknown'), "
        "min(place_type)) AS place_type, "
        "min(postcode) AS postcode FROM _ju_places GROUP BY place_id"
    )


def person_attributes_sql() -> str:
    """One row per person (``_ju_rp``: each record's identity with its person, agency and
    date): the most often recorded sex, ethnicity and date of birth, the latest home
    postcode, and what the records span; ties broken the same way in every build."""
    latest = "coalesce(record_date, DATE '1900-01-01')"
    return (
        "SELECT person_id, "
        f"coalesce({_most_often('sex')} FILTER (WHERE sex <> 'U'), 'U') AS sex, "
        f"coalesce({_most_often('ethnicity')} FILTER (WHERE ethnicity NOT IN ('REFU', 'NOBT')), "
        f"{_most_often('ethnicity')}) AS ethnicity, "
        f"{_most_often('dob')} AS dob, "
        f"arg_max(postcode, ({latest}, postcode)) "
        "FILTER (WHERE postcode IS NOT NULL) AS home_postcode, "
        f"arg_max(postcode_district, ({latest}, postcode_district)) "
        "FILTER (WHERE postcode_district IS NOT NULL) AS home_district, "
        "min(record_date) AS first_seen, max(record_date) AS last_seen, "
        "count(*) AS n_records, count(DISTINCT agency) AS n_agencies, "
        "string_agg(DISTINCT agency, ';' ORDER BY agency) AS agencies "
        "FROM _ju_rp GROUP BY person_id"
    )


def _age_sql(dob: str, ref: str) -> str:
    return (
        f"(year({ref}) - year({dob}) - CASE WHEN strftime({ref}, '%m%d') < strftime({dob}, '%m%d') "
        "THEN 1 ELSE 0 END)"
    )


def derive_tables(ctx: BuildContext) -> None:
    """Fill ``place`` and ``person``; mark county lines events."""
    con = ctx.con
    ref = f"DATE {_lit(ctx.reference_date.isoformat())}"
    # places: one row per place id, placed in the partnership's geography by postcode;
    # recorded places a gazetteer lists become its entries first (issue 14)
    apply_gazetteer(con)
    con.execute(
        "INSERT INTO place SELECT p.place_id, p.name, p.place_type, p.postcode, "
        "ju_postcode_sector(p.postcode), ju_postcode_district(p.postcode), l.small_area, l.ward, "
        "l.authority, l.lat, l.lon FROM ("
        f"{place_attributes_sql()}) p "
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
        f"{person_attributes_sql()}) p "
        "LEFT JOIN _ju_ethnicity e ON e.code = p.ethnicity "
        "LEFT JOIN postcode_lookup l ON l.postcode = p.home_postcode "
        "LEFT JOIN _ju_district d ON d.d = p.home_district"
    )
    con.execute("DROP TABLE IF EXISTS _ju_rp")
    con.execute("DROP TABLE IF EXISTS _ju_district")
