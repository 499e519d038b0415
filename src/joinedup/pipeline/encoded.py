"""The ``encoded`` stage: the encodings of encoded sources, kept for linkage only.

Runs after ``read``: for each source marked ``encoded: true`` it takes the ``ju_*``
columns of its staged extract (written by ``joinedup encode``), and for each clear source
with an ``encoded_file`` it reads that file, into the temporary table
``_ju_enc_identity`` keyed by (source, source_record_id). The link stage scores pairs
from it (:func:`joinedup.linkage.encoded_link.encoded_pairs`); being temporary, it never
reaches the release. An extract that was not written by ``joinedup encode`` (no
``ju_scheme`` column, or another scheme) stops the build with every problem listed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from joinedup.config import resolve_source_file
from joinedup.config.model import SourceConfig
from joinedup.errors import Problem, SourceError
from joinedup.linkage.encoded import (
    BLOCK_COLUMN,
    CLK_FIELDS,
    RECORD_COLUMN,
    REQUIRED_CLK_FIELDS,
    SCHEME,
    SCHEME_COLUMN,
    clk_column,
    hash_column,
)
from joinedup.linkage.encoded_link import ENCODED_TABLE
from joinedup.pipeline.context import BuildContext

__all__ = ["read_encoded"]

# a field added to the scheme later may be missing from a file written before it
_NEEDED = (RECORD_COLUMN, SCHEME_COLUMN, BLOCK_COLUMN, *map(clk_column, REQUIRED_CLK_FIELDS))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _companion(ctx: BuildContext, src: SourceConfig, problems: list[Problem]) -> str | None:
    """A view of a clear source's ``encoded_file``, or None (a problem added)."""
    assert src.encoded_file is not None
    where = f"sources ({src.id}).encoded_file"
    probe = src.model_copy(update={"file": src.encoded_file})
    path = resolve_source_file(ctx.partnership_dir, probe)
    if path is None:
        problems.append(
            Problem(where, f"no file matches '{src.encoded_file}' in the partnership folder")
        )
        return None
    view = f"_ju_enc_file_{src.id}"
    target = _lit(str(path))
    reader = (
        f"read_parquet({target})"
        if Path(path).suffix.lower() == ".parquet"
        else f"read_csv({target}, header = true, all_varchar = true)"
    )
    try:
        ctx.con.execute(f"CREATE OR REPLACE TEMP VIEW {_q(view)} AS SELECT * FROM {reader}")
    except duckdb.Error:
        problems.append(
            Problem(where, f"{Path(path).name} cannot be read as a CSV or Parquet file")
        )
        return None
    return view


def _check(
    con: duckdb.DuckDBPyConnection, table: str, where: str, name: str, problems: list[Problem]
) -> list[str] | None:
    have = [str(r[0]) for r in con.execute(f"DESCRIBE {_q(table)}").fetchall()]
    missing = [c for c in _NEEDED if c not in have]
    if missing:
        problems.append(
            Problem(
                where,
                f"{name} was not written by `joinedup encode` (no column "
                f"{', '.join(missing[:3])}); the agency runs `joinedup encode` on its extract "
                "and sends the file it writes",
            )
        )
        return None
    schemes = {
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT {SCHEME_COLUMN} FROM {_q(table)} WHERE {SCHEME_COLUMN} IS NOT NULL"
        ).fetchall()
    }
    if schemes - {SCHEME}:
        problems.append(
            Problem(
                where,
                f"{name} was encoded with another scheme than {SCHEME}: encode it again with "
                "this version of joinedup",
            )
        )
        return None
    return have


def read_encoded(ctx: BuildContext) -> None:
    """Fill ``_ju_enc_identity`` from the encoded sources and encoded files (if any)."""
    wanted = [s for s in ctx.config.sources if s.encoded or s.encoded_file]
    if not wanted:
        return
    problems: list[Problem] = []
    parts: list[tuple[SourceConfig, str, list[str]]] = []
    for src in wanted:
        if src.encoded:
            f = ctx.sources[src.id]
            have = _check(ctx.con, f.table, f"sources ({src.id}).file", f.name, problems)
            if have is not None:
                parts.append((src, f.table, have))
            continue
        view = _companion(ctx, src, problems)
        if view is not None:
            have = _check(ctx.con, view, f"sources ({src.id}).encoded_file", view, problems)
            if have is not None:
                parts.append((src, view, have))
    if problems:
        raise SourceError(
            f"{len(problems)} problem(s) with encoded extracts; nothing was published:", problems
        )
    prefix = hash_column("")
    hashes = sorted({c for _, _, have in parts for c in have if c.startswith(prefix)})
    cols = [BLOCK_COLUMN, *(clk_column(f.name) for f in CLK_FIELDS), *hashes]
    selects = []
    for src, table, have in parts:
        values = ", ".join(
            f"CAST({_q(c)} AS VARCHAR) AS {c}" if c in have else f"NULL::VARCHAR AS {c}"
            for c in cols
        )
        selects.append(
            f"SELECT {_lit(src.id)} AS source, trim({RECORD_COLUMN}) AS source_record_id, "
            f"{'true' if src.encoded else 'false'} AS encoded, {values} FROM {_q(table)} "
            f"WHERE nullif(trim({RECORD_COLUMN}), '') IS NOT NULL"
        )
    ctx.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {ENCODED_TABLE} AS SELECT DISTINCT ON "
        "(source, source_record_id) * FROM (" + " UNION ALL ".join(selects) + ")"
    )
    for src, table, _ in parts:
        if not src.encoded:
            ctx.con.execute(f"DROP VIEW IF EXISTS {_q(table)}")
