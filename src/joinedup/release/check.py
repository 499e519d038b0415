"""``joinedup check``: validate the configuration and try every mapping on a sample.

Nothing is written to the partnership folder: every source is read into an in-memory
database and a sample of its rows is mapped, so a data lead can fix a mapping in seconds.
Problems that would stop a build (a missing column, an unreadable file) are all listed
together; problems a build would only count (quarantined rows, codes a crosswalk does not
know, values that fail validation) are summarised per source.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from joinedup.config import load_config, resolve_source_file
from joinedup.errors import Problem, SourceError
from joinedup.release.build import _check_columns, _map_source
from joinedup.release.schema import create_schema_sql
from joinedup.sources import resolve_crosswalks, stage
from joinedup.sources.parsers import install_macros
from joinedup.taxonomy import load_taxonomy

__all__ = ["SAMPLE_ROWS", "check_partnership"]

SAMPLE_ROWS = 2000


def check_partnership(partnership_dir: Path, *, sample: int = SAMPLE_ROWS) -> list[str]:
    """Lines describing each source's sample; raises with every problem found."""
    base = Path(partnership_dir)
    cfg = load_config(base)
    taxonomy = load_taxonomy(cfg.taxonomy_version)
    cw = resolve_crosswalks(cfg, base)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for sql in create_schema_sql():
        con.execute(sql)
    install_macros(con)
    con.execute("CREATE TEMP TABLE _ju_ethnicity (code VARCHAR, grp VARCHAR)")
    con.executemany(
        "INSERT INTO _ju_ethnicity VALUES (?, ?)",
        [(c, taxonomy.ethnicity_group(c)) for c in sorted(taxonomy.codes("ethnicity"))],
    )
    con.execute(
        "CREATE TEMP TABLE _ju_places (place_id VARCHAR, name VARCHAR, place_type VARCHAR, "
        "postcode VARCHAR)"
    )
    problems: list[Problem] = []
    lines = [
        f"partnership.yaml is valid: {len(cfg.sources)} sources, {len(cfg.agencies)} agencies."
    ]
    for src in cfg.sources:
        path = resolve_source_file(base, src)
        assert path is not None  # load_config checked every pattern matches a file
        rel = os.path.relpath(path, base)
        raw = f"_ju_raw_{src.id}"
        try:
            st = stage(con, path, src, raw)
        except SourceError as exc:
            problems.append(Problem(f"sources ({src.id}).file", str(exc)))
            continue
        found = _check_columns(con, src, raw, rel, st)
        if found:
            problems.extend(found)
            continue
        con.execute(
            f'CREATE OR REPLACE TEMP VIEW "{raw}_sample" AS SELECT * FROM "{raw}" LIMIT {sample}'
        )
        as_of = src.extracted_at or dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()
        c = _map_source(
            con, src, cfg, f"{raw}_sample", rel, cw, as_of=as_of, native_dates=st.native_dates
        )
        enc = f" (read as {st.encoding})" if st.encoding else ""
        lines.append(
            f"{src.id}: {rel}, {st.rows:,} rows{enc}; sample of {c['read']:,}: "
            f"{c['loaded']:,} mapped, {c['filtered']:,} filtered, "
            f"{c['quarantined']:,} to quarantine"
        )
        lines.extend(_sample_notes(con, src.id))
    if problems:
        raise SourceError(f"{len(problems)} problem(s) with the sources:", problems)
    return lines


def _sample_notes(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    """Indented notes on a source's sample: unmapped codes, invalid and formula-like values."""
    out = []
    for field, col, codes, rows in con.execute(
        "SELECT field, column_name, list(local_code ORDER BY rows DESC, local_code), sum(rows) "
        "FROM unmapped_code WHERE source = ? GROUP BY ALL ORDER BY field",
        [source],
    ).fetchall():
        shown = ", ".join(repr(c) for c in codes[:10]) + (" ..." if len(codes) > 10 else "")
        out.append(
            f"  {field} ({col}): {int(rows):,} rows with {len(codes)} code(s) the crosswalk "
            f"does not know: {shown}; add them to the crosswalk"
        )
    for field, col, filled, valid, formula in con.execute(
        "SELECT field, column_name, filled, valid, formula_like FROM field_quality "
        "WHERE source = ? AND (valid < filled - unmapped OR formula_like > 0) ORDER BY field",
        [source],
    ).fetchall():
        bits = []
        if valid < filled:
            bits.append(f"{filled - valid:,} of {filled:,} filled values not valid")
        if formula:
            bits.append(f"{formula:,} starting with = + - or @")
        out.append(f"  {field} ({col}): {'; '.join(bits)}")
    for problem, col, n in con.execute(
        "SELECT problem, column_name, count(*) FROM quarantine WHERE source = ? GROUP BY ALL "
        "ORDER BY 1, 2",
        [source],
    ).fetchall():
        out.append(f"  quarantine: {n:,} row(s), {problem.replace('_', ' ')} in {col}")
    return out
