"""The ``geography`` stage: the partnership's areas, postcode lookup and population.

The three reference files are read with the columns partnership.yaml names
(:mod:`joinedup.config.geography`, read by :mod:`joinedup.pipeline.geofiles`):

- ``areas`` (a CSV with code, name, type, parent and centroid, or GeoJSON boundaries)
  fill ``area``; every authority of partnership.yaml is an area even without them. An
  area's ``geometry`` is its boundary (GeoJSON, or ``boundaries`` for a CSV) or else a
  GeoJSON point at its centroid.
- ``postcodes`` (a postcode directory) fill ``postcode_lookup``: each postcode's small
  area, ward and authority, from the directory's own columns where it has them, else up
  the areas' parents.
- ``population`` (long form) fills ``population``.

:func:`read_geography` does the work and collects every problem; the build runs it first
(:func:`load_geography`, before any extract is read) and ``joinedup check`` runs the same
function, so a file ``check`` passes never stops the build. A partnership with no
geography (or one that places no postcode in an authority) is told so: the release's
facts say why (``release_info``: ``geography`` and ``geography_unplaced``), and figures by
authority put everyone under "Not known — <why>", never a silent zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from joinedup.config import PartnershipConfig
from joinedup.config.geography import AREA_TYPES, AreasFile, PopulationFile, PostcodeDirectory
from joinedup.errors import Problem, SourceError
from joinedup.pipeline.context import BuildContext
from joinedup.pipeline.geofiles import GeoTable, read_geojson, read_table, resolve_columns
from joinedup.pipeline.places import gazetteer_problems

__all__ = ["NO_GEOGRAPHY", "GeographyReport", "load_geography", "read_geography"]

#: Why no one can be placed in an area when partnership.yaml names no postcode directory.
NO_GEOGRAPHY = "no geography configured"
_UNPLACED = "the geography places no postcode in an authority"
_SEX = {"F": "F", "FEMALE": "F", "FEMALES": "F", "GIRLS": "F", "M": "M", "MALE": "M"}
_SEX |= {"MALES": "M", "BOYS": "M"}


@dataclass
class GeographyReport:
    """What reading the geography found: counts, notes, and the problems that stop a build."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    areas: dict[str, int] = field(default_factory=dict)  # area type -> areas
    postcodes: int = 0
    placed: int = 0  # postcodes placed in an authority
    residents: int = 0
    files: dict[str, str] = field(default_factory=dict)  # key -> file

    @property
    def unplaced(self) -> str | None:
        """Why no person or place can be placed in an authority, or None when some can."""
        if "geography.postcodes" not in self.files:
            return NO_GEOGRAPHY
        return None if self.placed else _UNPLACED

    def summary(self) -> str:
        """One sentence for the release's facts and for ``check``."""
        if not self.files:
            return (
                "none: partnership.yaml names no postcode directory, areas or population "
                "(geography), so no one is placed in an area"
            )
        parts = []
        if "geography.postcodes" in self.files:
            parts.append(
                f"postcode directory {self.files['geography.postcodes']}: "
                f"{self.postcodes:,} postcodes, {self.placed:,} placed in an authority"
            )
        else:
            parts.append("no postcode directory, so no one is placed in an area")
        if "geography.areas" in self.files:
            words = {"authority": "authorities", "ward": "wards", "small_area": "small areas"}
            counts = ", ".join(f"{self.areas.get(t, 0):,} {words[t]}" for t in AREA_TYPES)
            parts.append(f"areas {self.files['geography.areas']}: {counts}")
        if "geography.population" in self.files:
            parts.append(
                f"population {self.files['geography.population']}: {self.residents:,} residents"
            )
        else:
            parts.append("no population, so no rates per resident")
        return "; ".join(parts)

    def facts(self) -> list[tuple[str, str]]:
        """``release_info`` rows: the summary, and why no one is placed when that is so."""
        out = [("geography", self.summary())]
        if self.unplaced is not None:
            out.append(("geography_unplaced", self.unplaced))
        return out

    def lines(self) -> list[str]:
        """What ``joinedup check`` prints about the geography."""
        out = [f"geography: {self.summary()}", *self.notes]
        if self.unplaced is not None:
            fix = (
                "name a postcode directory under geography.postcodes"
                if self.unplaced == NO_GEOGRAPHY
                else "name the directory's authority column under "
                "geography.postcodes.columns.authority, or give areas (geography.areas) "
                "whose parents lead to an authority"
            )
            out.append(
                f"  warning: geography: {self.unplaced}, so no person or place is placed in "
                f'an authority and figures by area say "Not known — {self.unplaced}"; {fix} '
                "(see docs/geography.md)"
            )
        return out


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _col(cols: dict[str, str | None], name: str, *, raw: str = "r") -> str:
    """Trimmed text of a resolved column, blank as NULL; NULL when the file has none."""
    c = cols.get(name)
    return f"nullif(trim({raw}.{_q(c)}), '')" if c else "NULL::VARCHAR"


def _map_sql(expr: str, codes: Mapping[str, str], default: Mapping[str, str]) -> str:
    """``expr`` (text) through a case-insensitive code map; unmatched: NULL."""
    merged = {**default, **{k.strip().upper(): v for k, v in codes.items()}}
    if not merged:
        return "NULL::VARCHAR"
    arms = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in sorted(merged.items()))
    return f"(CASE upper({expr}) {arms} END)"


def _values(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [str(r[0]) for r in con.execute(sql).fetchall()]


def _shown(values: list[str]) -> str:
    return ", ".join(repr(v) for v in values[:10]) + (" ..." if len(values) > 10 else "")


def _areas(
    con: duckdb.DuckDBPyConnection, spec: AreasFile, base: Path, rep: GeographyReport
) -> None:
    reader = read_geojson if spec.kind == "geojson" else read_table
    t = reader(con, base / spec.file, spec.file, "geography.areas", "_ju_geo_areas")
    try:
        _areas_from(con, spec, t, rep)
    finally:
        t.drop(con)


def _areas_from(
    con: duckdb.DuckDBPyConnection, spec: AreasFile, t: GeoTable, rep: GeographyReport
) -> None:
    geojson = spec.kind == "geojson"
    rep.notes.extend(t.notes)
    word = "property" if geojson else "column"
    cols, problems = resolve_columns(t, spec.columns, required=("code", "type"), word=word)
    if problems:
        rep.problems.extend(problems)
        return
    own = {k.strip().upper(): v for k, v in spec.types.items()}
    known = {**{a.upper(): a for a in AREA_TYPES}, **own}
    typ = _map_sql(_col(cols, "type"), {}, known)
    unknown = _values(
        con,
        f"SELECT DISTINCT {_col(cols, 'type')} AS t FROM {_q(t.view)} r "
        f"WHERE t IS NOT NULL AND {typ} IS NULL ORDER BY t",
    )
    if unknown:
        rep.problems.append(
            Problem(
                "geography.areas.types",
                f"{word} '{cols['type']}' of {t.rel} holds area types joinedup does not know: "
                f"{_shown(unknown)}; map each under geography.areas.types to authority, ward "
                'or small_area (or "" to leave such areas out), e.g. '
                "{LAD: authority, WD: ward, LSOA: small_area}",
            )
        )
        return
    lat = f"TRY_CAST({_col(cols, 'lat')} AS DOUBLE)"
    lon = f"TRY_CAST({_col(cols, 'lon')} AS DOUBLE)"
    point = (
        f"CASE WHEN {lat} BETWEEN -90 AND 90 AND {lon} BETWEEN -180 AND 180 THEN "
        f"'{{\"type\":\"Point\",\"coordinates\":[' || {lon} || ',' || {lat} || ']}}' END"
    )
    shape = "r._geometry" if geojson else "s.geometry"
    shapes = "" if geojson else "LEFT JOIN _ju_geo_shapes s ON s.code = " + _col(cols, "code")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_geo_area AS SELECT "
        f"{_col(cols, 'code')} AS code, {_col(cols, 'name')} AS name, {typ} AS type, "
        f"{_col(cols, 'parent')} AS parent, coalesce({shape}, {point}) AS geometry, r._row "
        f"FROM {_q(t.view)} r {shapes}"
    )
    blank = _values(con, "SELECT count(*) FROM _ju_geo_area WHERE code IS NULL")[0]
    if blank != "0":
        rep.notes.append(f"  {t.rel}: {blank} row(s) with no area code are left out")
    con.execute(
        "INSERT INTO area SELECT DISTINCT ON (code) code, coalesce(name, code), type, parent, "
        "geometry FROM _ju_geo_area WHERE code IS NOT NULL AND type <> '' ORDER BY code, _row"
    )
    repeats = _values(
        con,
        "SELECT count(*) - count(DISTINCT code) FROM _ju_geo_area "
        "WHERE code IS NOT NULL AND type <> ''",
    )[0]
    if repeats != "0":
        rep.notes.append(f"  {t.rel}: {repeats} row(s) repeat an area code; the first is kept")


def _boundaries(
    con: duckdb.DuckDBPyConnection, cfg: PartnershipConfig, base: Path, rep: GeographyReport
) -> None:
    """Shapes for areas listed in a CSV, from ``geography.boundaries`` (code -> geometry)."""
    spec = cfg.geography.boundaries
    if spec is None:
        return
    key = "geography.boundaries"
    t = read_geojson(con, base / spec.file, spec.file, key, "_ju_geo_bounds")
    try:
        _boundaries_from(con, spec.code, t, rep)
    finally:
        t.drop(con)


def _boundaries_from(
    con: duckdb.DuckDBPyConnection, code: str, t: GeoTable, rep: GeographyReport
) -> None:
    key = "geography.boundaries"
    if code not in t.columns:
        rep.problems.append(
            Problem(
                f"{key}.code",
                f"property '{code}' is in no feature of {t.rel}; properties in the file: "
                f"{', '.join(sorted(t.columns)) or 'none'}. Name the property holding each "
                f"area's code under {key}.code in partnership.yaml",
            )
        )
        return
    con.execute(
        "INSERT INTO _ju_geo_shapes SELECT DISTINCT ON (c) c, _geometry FROM ("
        f"SELECT nullif(trim({_q(code)}), '') AS c, _geometry, _row FROM {_q(t.view)}) "
        "WHERE c IS NOT NULL AND _geometry IS NOT NULL ORDER BY c, _row"
    )


def _postcodes(
    con: duckdb.DuckDBPyConnection, spec: PostcodeDirectory, base: Path, rep: GeographyReport
) -> None:
    t = read_table(con, base / spec.file, spec.file, "geography.postcodes", "_ju_geo_pcd")
    try:
        _postcodes_from(con, spec, t, rep)
    finally:
        t.drop(con)


def _postcodes_from(
    con: duckdb.DuckDBPyConnection, spec: PostcodeDirectory, t: GeoTable, rep: GeographyReport
) -> None:
    key = "geography.postcodes"
    rep.notes.extend(t.notes)
    cols, problems = resolve_columns(t, spec.columns, required=("postcode",))
    if not any(cols.get(c) for c in ("small_area", "ward", "authority")) and not problems:
        problems.append(
            Problem(
                f"{key}.columns",
                f"{t.rel} has none of the columns that place a postcode (small_area "
                f"'{spec.columns.small_area}'); columns in the file: "
                f"{', '.join(sorted(t.columns))}. Name its small area, ward or authority "
                f"column under {key}.columns in partnership.yaml",
            )
        )
    if problems:
        rep.problems.extend(problems)
        return
    lat = f"TRY_CAST({_col(cols, 'lat')} AS DOUBLE)"
    lon = f"TRY_CAST({_col(cols, 'lon')} AS DOUBLE)"
    ok = f"{lat} BETWEEN -90 AND 90 AND {lon} BETWEEN -180 AND 180"  # ONSPD: 99.999999 = none
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_geo_pc AS SELECT "
        f"{_col(cols, 'postcode')} AS given, ju_postcode({_col(cols, 'postcode')}) AS pc, "
        f"{_col(cols, 'small_area')} AS small_area, {_col(cols, 'ward')} AS ward, "
        f"{_col(cols, 'authority')} AS authority, CASE WHEN {ok} THEN {lat} END AS lat, "
        f"CASE WHEN {ok} THEN {lon} END AS lon, r._row FROM {_q(t.view)} r"
    )
    bad = _values(con, "SELECT count(*) FROM _ju_geo_pc WHERE pc IS NULL AND given IS NOT NULL")
    if bad[0] != "0":
        rep.notes.append(
            f"  {t.rel}: {int(bad[0]):,} row(s) whose {cols['postcode']} is not a full postcode "
            "are left out"
        )
    con.execute(
        "INSERT INTO postcode_lookup SELECT DISTINCT ON (pl.pc) pl.pc, pl.small_area, "
        "coalesce(pl.ward, w.area_code), "
        "coalesce(pl.authority, w.parent_code, sa_up.area_code), pl.lat, pl.lon "
        "FROM _ju_geo_pc pl "
        "LEFT JOIN area s ON s.area_code = pl.small_area AND s.area_type = 'small_area' "
        "LEFT JOIN area w ON w.area_code = coalesce(pl.ward, s.parent_code) "
        "AND w.area_type = 'ward' "
        "LEFT JOIN area sa_up ON sa_up.area_code = s.parent_code AND sa_up.area_type = 'authority' "
        "WHERE pl.pc IS NOT NULL ORDER BY pl.pc, pl._row"
    )
    n = con.execute("SELECT count(*), count(authority) FROM postcode_lookup").fetchone()
    assert n is not None
    rep.postcodes, rep.placed = int(n[0]), int(n[1])
    if rep.placed < rep.postcodes:
        rep.notes.append(
            f"  {t.rel}: {rep.postcodes - rep.placed:,} of {rep.postcodes:,} postcodes are in "
            "no authority (name the directory's authority column under "
            f"{key}.columns.authority, or give areas whose parents lead to one)"
        )


def _population(
    con: duckdb.DuckDBPyConnection,
    spec: PopulationFile,
    base: Path,
    rep: GeographyReport,
    groups: frozenset[str],
) -> None:
    t = read_table(con, base / spec.file, spec.file, "geography.population", "_ju_geo_popf")
    try:
        _population_from(con, spec, t, rep, groups)
    finally:
        t.drop(con)


def _population_from(
    con: duckdb.DuckDBPyConnection,
    spec: PopulationFile,
    t: GeoTable,
    rep: GeographyReport,
    groups: frozenset[str],
) -> None:
    key = "geography.population"
    rep.notes.extend(t.notes)
    cols, problems = resolve_columns(t, spec.columns, required=("area", "age", "sex", "count"))
    if problems:
        rep.problems.extend(problems)
        return
    sex = _map_sql(_col(cols, "sex"), spec.sex_codes, _SEX)
    unknown = _values(
        con,
        f"SELECT DISTINCT {_col(cols, 'sex')} AS v FROM {_q(t.view)} r "
        f"WHERE v IS NOT NULL AND {sex} IS NULL ORDER BY v",
    )
    if unknown:
        rep.problems.append(
            Problem(
                f"{key}.sex_codes",
                f"column '{cols['sex']}' of {t.rel} holds sex codes joinedup does not know: "
                f'{_shown(unknown)}; map each under {key}.sex_codes to F or M (or "" to '
                'leave such rows out, e.g. totals), e.g. {"1": M, "2": F}',
            )
        )
        return
    eth = _col(cols, "ethnicity")
    if spec.ethnicity_groups:
        given = {k.strip().upper(): v for k, v in spec.ethnicity_groups.items()}
        eth = f"coalesce({_map_sql(eth, {}, given)}, {eth})"
    age = f"TRY_CAST(regexp_extract({_col(cols, 'age')}, '\\d+') AS INTEGER)"
    count = f"TRY_CAST(replace({_col(cols, 'count')}, ',', '') AS DOUBLE)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ju_geo_pop AS SELECT "
        f"{_col(cols, 'area')} AS area, {age} AS age, {_col(cols, 'age')} AS age_given, "
        f"{sex} AS sex, {eth} AS grp, {count} AS n FROM {_q(t.view)} r"
    )
    con.execute(
        "INSERT INTO population SELECT area, age, sex, grp, CAST(round(n) AS INTEGER) "
        "FROM _ju_geo_pop WHERE area IS NOT NULL AND age IS NOT NULL AND sex <> '' "
        "AND n IS NOT NULL"
    )
    left = con.execute(
        "SELECT count(*) FILTER (WHERE age IS NULL), "
        "list(DISTINCT age_given) FILTER (WHERE age IS NULL AND age_given IS NOT NULL), "
        "count(*) FILTER (WHERE age IS NOT NULL AND (area IS NULL OR n IS NULL)) "
        "FROM _ju_geo_pop"
    ).fetchone()
    assert left is not None
    if left[0]:
        words = sorted(str(w) for w in left[1] or [])
        shown = f" (e.g. {_shown(words)})" if words else ""
        rep.notes.append(
            f"  {t.rel}: {left[0]:,} row(s) whose {cols['age']} is not a single year of age "
            f"are left out{shown}"
        )
    if left[2]:
        rep.notes.append(
            f"  {t.rel}: {left[2]:,} row(s) with no area or no count that is a number are left out"
        )
    res = con.execute("SELECT coalesce(sum(population), 0) FROM population").fetchone()
    rep.residents = int(res[0]) if res else 0
    if cols.get("ethnicity") and groups:
        odd = _values(
            con,
            "SELECT DISTINCT ethnicity_group FROM population WHERE ethnicity_group IS NOT NULL "
            "AND ethnicity_group NOT IN ("
            + ", ".join(_lit(g) for g in sorted(groups))
            + ") ORDER BY 1",
        )
        if odd:
            rep.notes.append(
                f"  {t.rel}: ethnic groups not among those people are counted in "
                f"({', '.join(sorted(groups))}): {_shown(odd)}; map them under "
                f"{key}.ethnicity_groups, or rates by ethnic group leave them out"
            )


def read_geography(
    con: duckdb.DuckDBPyConnection,
    cfg: PartnershipConfig,
    base: Path,
    *,
    groups: frozenset[str] = frozenset(),
) -> GeographyReport:
    """Fill ``area``, ``postcode_lookup`` and ``population`` on ``con`` from the files
    partnership.yaml names; every problem found is in the report's ``problems``.
    ``groups`` are the ethnic groups people are counted in (for a note)."""
    base = Path(base)
    geo = cfg.geography
    rep = GeographyReport(files=geo.files())
    con.execute("CREATE OR REPLACE TEMP TABLE _ju_geo_shapes (code VARCHAR, geometry VARCHAR)")
    try:
        if cfg.geography.boundaries is not None:
            bfile = cfg.geography.boundaries.file
            _guarded(rep, "geography.boundaries", bfile, lambda: _boundaries(con, cfg, base, rep))
        if geo.areas is not None:
            areas = geo.areas
            _guarded(rep, "geography.areas", areas.file, lambda: _areas(con, areas, base, rep))
        for a in cfg.authorities:
            con.execute(
                "INSERT INTO area SELECT ?, ?, 'authority', NULL, NULL "
                "WHERE NOT EXISTS (SELECT 1 FROM area WHERE area_code = ?)",
                [a.code, a.name, a.code],
            )
        if geo.postcodes is not None:
            postcodes = geo.postcodes
            _guarded(
                rep,
                "geography.postcodes",
                postcodes.file,
                lambda: _postcodes(con, postcodes, base, rep),
            )
        if geo.population is not None:
            population = geo.population
            _guarded(
                rep,
                "geography.population",
                population.file,
                lambda: _population(con, population, base, rep, groups),
            )
        if geo.gazetteer is not None:  # issue 14: reference places (pipeline/places.py)
            gfile = geo.gazetteer.file
            _guarded(rep, "geography.gazetteer", gfile, lambda: _gazetteer(con, cfg, base, rep))
    finally:
        for table in ("_ju_geo_area", "_ju_geo_pc", "_ju_geo_pop", "_ju_geo_shapes"):
            con.execute(f"DROP TABLE IF EXISTS {_q(table)}")
    for kind, n in con.execute("SELECT area_type, count(*) FROM area GROUP BY ALL").fetchall():
        rep.areas[str(kind)] = int(n)
    return rep


def _gazetteer(
    con: duckdb.DuckDBPyConnection, cfg: PartnershipConfig, base: Path, rep: GeographyReport
) -> None:
    problems, notes = gazetteer_problems(con, cfg, base)
    rep.problems.extend(problems)
    rep.notes.extend(notes)


def _guarded(rep: GeographyReport, key: str, file: str, run: Callable[[], None]) -> None:
    """Run one file's reading; a file that cannot be read is a problem, not the end, and
    a database error names the file and the key (never the database's text, which can
    quote a value)."""
    try:
        run()
    except SourceError as exc:
        rep.problems.extend(exc.problems)
    except duckdb.Error as exc:
        rep.problems.append(
            Problem(
                key,
                f"{file} could not be read as {key} ({type(exc).__name__}); check that it is "
                f"a table with the columns named under {key}.columns",
            )
        )


def load_geography(ctx: BuildContext) -> None:
    """The build's stage: read the geography (raising with every problem, so nothing is
    published) and record what it holds in the release's facts."""
    groups = frozenset(ctx.taxonomy.ethnicity_group(c) for c in ctx.taxonomy.codes("ethnicity"))
    rep = read_geography(ctx.con, ctx.config, ctx.partnership_dir, groups=groups)
    if rep.problems:
        raise SourceError(
            f"{len(rep.problems)} problem(s) with the geography files; nothing was published:",
            rep.problems,
        )
    ctx.con.executemany("INSERT INTO release_info VALUES (?, ?)", rep.facts())
