"""``joinedup check``: validate the configuration and try every mapping on a sample.

Nothing is written to the partnership folder: the sample is mapped in an in-memory
database, so a data lead can fix a mapping in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from joinedup.config import load_config, resolve_source_file
from joinedup.errors import Problem, SourceError
from joinedup.release.build import _check_columns, _map_source
from joinedup.release.schema import create_schema_sql
from joinedup.sources import resolve_crosswalks, stage_source
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
            total = stage_source(con, path, src, raw)
        except SourceError as exc:
            problems.append(Problem(f"sources ({src.id}).file", str(exc)))
            continue
        found = _check_columns(con, src, raw, rel)
        if found:
            problems.extend(found)
            continue
        con.execute(f"DELETE FROM {raw} WHERE _row NOT IN (SELECT _row FROM {raw} LIMIT {sample})")
        c = _map_source(con, src, cfg, raw, rel, cw)
        lines.append(
            f"{src.id}: {rel}, {total:,} rows; sample of {c['read']:,}: {c['loaded']:,} mapped, "
            f"{c['filtered']:,} filtered, {c['quarantined']:,} to quarantine"
        )
    if problems:
        raise SourceError(f"{len(problems)} problem(s) with the sources:", problems)
    return lines
