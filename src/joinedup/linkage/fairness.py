"""Does linkage work equally well for every child? Figures by ethnic group, sex and age band.

National linkage studies find lower linkage rates for young adults, men and ethnic
minority groups; names from conventions a Western-name model handles badly (Sikh,
Bangladeshi, Vietnamese, Somali, Polish, double-barrelled) are where a child's records
are split. Every release's linkage report carries two tables (docs/linkage.md):

- **with truth** (synthetic data, or any partnership with ``truth/record_person.csv``):
  pairwise precision and recall by group, each record counted in the group of the true
  person it belongs to (``truth_fairness``); a wrongly merged pair counts against the
  groups of both its records;
- **without truth** (every release): indicators that need no truth, by the group of each
  person as linked (``indicator_rows``): the share of persons with only one record, the
  share of persons who look split (a record sharing date of birth and forename, or date of
  birth and surname, with another person's record), and the share with a pair waiting in
  the review band.

A person's group is the most often recorded ethnicity (its census group), sex and date of
birth over their records; the age is at the latest record date in the release. For each
figure the largest gap between groups of at least :data:`MIN_GROUP_PERSONS` persons is
named (``gap_rows``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

__all__ = [
    "AGE_BANDS",
    "DIMENSIONS",
    "INDICATORS",
    "MIN_GROUP_PERSONS",
    "FairnessFigure",
    "gap_rows",
    "indicator_figures",
    "truth_fairness",
]

DIMENSIONS = ("ethnic_group", "sex", "age_band")
#: Truth-free indicators: (name, what it measures); a higher share is worse for each.
INDICATORS = (
    ("one_record", "Share of persons with only one record"),
    ("split_suspect", "Share of persons who look split (date of birth and a name shared)"),
    ("review_band", "Share of persons with a pair waiting for review"),
)
#: Groups smaller than this are shown but left out of the largest gap (too few to compare).
MIN_GROUP_PERSONS = 30
# The same bands as ``person.age_band`` (pipeline.derive), which linkage may not import.
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 9, "0-9"),
    (10, 13, "10-13"),
    (14, 15, "14-15"),
    (16, 17, "16-17"),
    (18, 20, "18-20"),
    (21, 24, "21-24"),
)


@dataclass(frozen=True)
class FairnessFigure:
    """One figure for one group: ``metric`` of ``group`` on ``dimension``."""

    dimension: str
    group: str
    metric: str
    value: float
    persons: int

    @property
    def key(self) -> str:
        return f"{self.dimension}|{self.group}|{self.metric}"


def _ethnic_case(col: str) -> str:
    from joinedup.taxonomy import load_taxonomy

    tax = load_taxonomy()
    arms = []
    for entry in sorted(tax.codes("ethnicity")):
        group = tax.ethnicity_group(entry).replace("'", "''")
        arms.append(f"WHEN '{entry}' THEN '{group}'")
    return f"coalesce(CASE {col} {' '.join(arms)} END, 'Not known')"


def _band_case(age: str) -> str:
    arms = " ".join(f"WHEN {age} BETWEEN {lo} AND {hi} THEN '{lab}'" for lo, hi, lab in AGE_BANDS)
    return f"(CASE {arms} WHEN {age} >= 25 THEN '25+' ELSE 'Not known' END)"


def _age_sql(dob: str) -> str:
    """Age in whole years at the latest record date (today when no record has a date)."""
    ref = "(SELECT coalesce(max(record_date), current_date) FROM record)"
    return (
        f"(year({ref}) - year({dob}) - CASE WHEN strftime({ref}, '%m%d') < "
        f"strftime({dob}, '%m%d') THEN 1 ELSE 0 END)"
    )


_MODES = (
    "mode(ethnicity ORDER BY ethnicity) FILTER (WHERE ethnicity IS NOT NULL) AS ethnicity, "
    "mode(sex ORDER BY sex) FILTER (WHERE sex IN ('F', 'M')) AS sex, "
    "mode(dob ORDER BY dob) FILTER (WHERE dob IS NOT NULL) AS dob"
)


def _groups_sql(people: str) -> str:
    """``(source, source_record_id, person_id, ethnic_group, sex, age_band)`` for every
    record of ``people(source, source_record_id, person_id)``, by its person's mode."""
    return f"""
    WITH x AS (
      SELECT p.source, p.source_record_id, p.person_id, i.ethnicity, i.sex, i.dob
      FROM {people} p JOIN identity i USING (source, source_record_id)
    ), m AS (SELECT person_id, {_MODES} FROM x GROUP BY person_id)
    SELECT x.source, x.source_record_id, x.person_id,
      {_ethnic_case("m.ethnicity")} AS ethnic_group,
      coalesce(m.sex, 'Not known') AS sex,
      {_band_case(_age_sql("m.dob"))} AS age_band
    FROM x JOIN m USING (person_id)
    """


def truth_fairness(
    con: duckdb.DuckDBPyConnection, *, predicted: str, truth: str
) -> list[FairnessFigure]:
    """Pairwise precision and recall by group of the true person (synthetic data)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ju_fair_t AS {_groups_sql(truth)}")
    out: list[FairnessFigure] = []
    try:
        for dim in DIMENSIONS:
            rows = con.execute(
                f"""
                WITH r AS (SELECT t.{dim} AS g, t.person_id AS tp, p.person_id AS pp
                           FROM _ju_fair_t t JOIN {predicted} p
                           USING (source, source_record_id)),
                cells AS (SELECT g, tp, pp, count(*)::DOUBLE AS n FROM r GROUP BY ALL),
                truep AS (SELECT g, sum(n * (n - 1) / 2) AS pairs, count(*) AS persons
                          FROM (SELECT g, tp, sum(n) AS n FROM cells GROUP BY ALL) GROUP BY g),
                correct AS (SELECT g, sum(n * (n - 1) / 2) AS pairs FROM cells GROUP BY g),
                pc AS (SELECT pp, sum(n) AS n FROM cells GROUP BY pp),
                pg AS (SELECT g, pp, sum(n) AS m FROM cells GROUP BY ALL),
                touch AS (SELECT pg.g, sum(pc.n * (pc.n - 1) / 2
                                 - (pc.n - pg.m) * (pc.n - pg.m - 1) / 2) AS pairs
                          FROM pg JOIN pc USING (pp) GROUP BY pg.g)
                SELECT truep.g, truep.persons, truep.pairs, correct.pairs, touch.pairs
                FROM truep JOIN correct USING (g) JOIN touch USING (g) ORDER BY 1
                """
            ).fetchall()
            for g, persons, true_pairs, ok, touching in rows:
                recall = float(ok) / float(true_pairs) if true_pairs else 1.0
                precision = float(ok) / float(touching) if touching else 1.0
                out.append(FairnessFigure(dim, str(g), "recall", recall, int(persons)))
                out.append(FairnessFigure(dim, str(g), "precision", precision, int(persons)))
    finally:
        con.execute("DROP TABLE IF EXISTS _ju_fair_t")
    return out


def indicator_figures(
    con: duckdb.DuckDBPyConnection, *, predicted: str = "record_person"
) -> list[FairnessFigure]:
    """The truth-free indicators (:data:`INDICATORS`) by group of the person as linked."""
    # each record's person and identifying fields, read once
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_fair_x AS SELECT p.person_id, i.ethnicity, i.sex, "
        f"i.dob, i.forename, i.surname FROM {predicted} p "
        "JOIN identity i USING (source, source_record_id)"
    )
    # each person's groups (by the mode of their records) and number of records
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_fair_p AS WITH m AS (SELECT person_id, "
        f"{_MODES}, count(*) AS n FROM _ju_fair_x GROUP BY person_id) "
        f"SELECT person_id, {_ethnic_case('m.ethnicity')} AS ethnic_group, "
        f"coalesce(m.sex, 'Not known') AS sex, {_band_case(_age_sql('m.dob'))} AS age_band, "
        "n FROM m"
    )
    # persons who share date of birth and forename (or surname) with another person
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_fair_s AS "
        "WITH k AS (SELECT person_id, dob, 'f:' || forename AS key FROM _ju_fair_x "
        "WHERE dob IS NOT NULL AND forename IS NOT NULL "
        "UNION SELECT person_id, dob, 's:' || surname FROM _ju_fair_x "
        "WHERE dob IS NOT NULL AND surname IS NOT NULL), "
        "shared AS (SELECT dob, key FROM k GROUP BY ALL HAVING count(DISTINCT person_id) > 1) "
        "SELECT DISTINCT person_id FROM k JOIN shared USING (dob, key)"
    )
    has_pairs = bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'link_pair' "
            "AND database_name = current_database()"
        ).fetchall()[0][0]
    )
    # persons with a record in a pair waiting for review
    review = (
        "WITH r AS (SELECT source_l AS source, source_record_id_l AS source_record_id "
        "FROM link_pair WHERE status = 'review' UNION SELECT source_r, source_record_id_r "
        f"FROM link_pair WHERE status = 'review') SELECT DISTINCT p.person_id FROM {predicted} p "
        "SEMI JOIN r USING (source, source_record_id)"
        if has_pairs
        else "SELECT NULL::VARCHAR AS person_id WHERE false"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ju_fair_r AS {review}")
    out: list[FairnessFigure] = []
    try:
        for dim in DIMENSIONS:
            rows = con.execute(
                f"""
                WITH per AS (SELECT person_id, {dim} AS g, n FROM _ju_fair_p)
                SELECT g, count(*) AS persons,
                  avg(CASE WHEN n = 1 THEN 1.0 ELSE 0.0 END),
                  avg(CASE WHEN s.person_id IS NOT NULL THEN 1.0 ELSE 0.0 END),
                  avg(CASE WHEN r.person_id IS NOT NULL THEN 1.0 ELSE 0.0 END)
                FROM per LEFT JOIN _ju_fair_s s USING (person_id)
                LEFT JOIN _ju_fair_r r USING (person_id) GROUP BY g ORDER BY g
                """
            ).fetchall()
            for g, persons, *values in rows:
                for (metric, _), value in zip(INDICATORS, values, strict=True):
                    out.append(FairnessFigure(dim, str(g), metric, float(value), int(persons)))
    finally:
        for t in ("_ju_fair_x", "_ju_fair_p", "_ju_fair_s", "_ju_fair_r"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return out


def gap_rows(
    figures: Iterable[FairnessFigure], *, min_persons: int = MIN_GROUP_PERSONS
) -> list[tuple[str, str, float, str]]:
    """The largest gap of each (dimension, metric) between groups of ``min_persons`` or
    more (``Not known`` left out): ``(dimension, metric, gap, "low (v) to high (v)")``."""
    by: dict[tuple[str, str], list[FairnessFigure]] = {}
    for f in figures:
        if f.persons >= min_persons and f.group != "Not known":
            by.setdefault((f.dimension, f.metric), []).append(f)
    out = []
    for (dim, metric), fs in sorted(by.items()):
        if len(fs) < 2:
            continue
        lo = min(fs, key=lambda f: (f.value, f.group))
        hi = max(fs, key=lambda f: (f.value, f.group))
        detail = f"{lo.group} {lo.value:.4f} to {hi.group} {hi.value:.4f}"
        out.append((dim, metric, hi.value - lo.value, detail))
    return out
