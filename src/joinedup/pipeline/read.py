"""The ``read`` stage: stage every extract, then check every mapping against its file.

Every file is staged before any is mapped, and every problem (an unreadable file, a
column the mapping names that the file lacks) is collected, so a data lead sees them all
at once and nothing is published.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import duckdb

from joinedup.config import SourceConfig
from joinedup.errors import Problem, SourceError
from joinedup.pipeline.context import BuildContext, SourceFile
from joinedup.sources import Staged, record_read_quarantine
from joinedup.sources import stage as stage_file

__all__ = ["check_columns", "extracted_on", "file_sha256", "read_sources"]


def read_sources(ctx: BuildContext) -> None:
    """Stage each source's file as ``_ju_raw_<id>``; raise with every problem found."""
    problems: list[Problem] = []
    total = len(ctx.config.sources)
    for i, src in enumerate(ctx.config.sources):
        ctx.progress("read", i, total)
        path = ctx.files[src.id]
        raw = f"_ju_raw_{src.id}"
        try:
            staged = stage_file(ctx.con, path, src, raw)
        except SourceError as exc:
            problems.append(Problem(f"sources ({src.id}).file", str(exc)))
            continue
        name = os.path.relpath(path, ctx.partnership_dir)
        record_read_quarantine(ctx.con, staged.report, src.id, name)  # rows the reader set aside
        ctx.sources[src.id] = SourceFile(
            raw, path, name, staged, file_sha256(path), extracted_on(src, path)
        )
        problems.extend(check_columns(ctx.con, src, raw, name, staged))
    ctx.progress("read", total, total)
    if problems:
        raise SourceError(
            f"{len(problems)} problem(s) with the sources; nothing was published:", problems
        )


def extracted_on(src: SourceConfig, path: Path) -> dt.date:
    """The extract's date: as partnership.yaml gives it, else the day the file was written."""
    return src.extracted_at or dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_columns(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    table: str,
    file_name: str,
    staged: Staged | None = None,
) -> list[Problem]:
    """Every column the mapping names must be in the file, once; all problems at once."""
    have = {r[0] for r in con.execute(f"DESCRIBE {_q(table)}").fetchall()}
    problems = []
    needed: dict[str, str] = {}
    for path, spec in src.field_specs().items():
        for col in spec.source_columns():
            needed.setdefault(col, path)
    for f in src.filters:
        needed.setdefault(f.column, "filters")
    dups = staged.duplicates if staged is not None else {}
    for col, path in sorted(needed.items()):
        if col in dups:
            where = ", ".join(str(c) for c in dups[col])
            problems.append(
                Problem(
                    f"sources ({src.id}).{path}",
                    f"column '{col}' appears more than once in {file_name} (columns {where}), "
                    "so it is not clear which to read; rename the repeats in the extract",
                )
            )
        elif col not in have:
            close = sorted(
                h for h in have if h.lower().replace(" ", "") == col.lower().replace(" ", "")
            )
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(
                Problem(
                    f"sources ({src.id}).{path}",
                    f"column '{col}' is not in {file_name}{hint}; columns in the file: "
                    + ", ".join(sorted(h for h in have if h != "_row")),
                )
            )
    return problems
