"""The ``guard`` stage: no silent loss. A source that shrank sharply stops the build.

Run once every source is read and mapped, before anything is linked or published. For
each source it compares the rows its extract supplied (``rows_read``) and the rows
loaded with the current release's ``source`` table. The build stops, nothing is
published and the current release stays current, when a source

* has an extract with no data rows (a header only), or
* has an extract whose last row is cut short (no line end, or a quote never closed at
  the end of the file: the reader's ``truncated_last_row``), or
* read or loaded more than ``build.max_drop_share`` (default 50%) fewer rows than in
  the current release.

A first build (no release yet) stops on the first two only. A data lead who has checked
the extract lets a source through with ``joinedup build DIR --accept-drop SOURCE`` or
the web app's build page; the command or page then writes an ``accept_drop`` audit
entry for it (``joinedup.access.audit_accepted_drops``). ``joinedup check`` warns with
the same words, computed by :func:`joinedup.pipeline.drops.assess_source`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from joinedup.pipeline.context import BuildContext, previous_release
from joinedup.pipeline.drops import PreviousRows, SourceDrop, SourcesShrank, assess_source
from joinedup.release.store import current_release_id

__all__ = ["guard_sources", "previous_rows"]


def previous_rows(con: duckdb.DuckDBPyConnection, partnership_dir: Path) -> PreviousRows | None:
    """The current release's rows per source, read through ``con``; None without one."""
    previous = previous_release(partnership_dir)
    if previous is None:
        return None
    release_id, db = previous
    con.execute(f"ATTACH '{str(db).replace(chr(39), chr(39) * 2)}' AS _ju_prev_rows (READ_ONLY)")
    try:
        found = con.execute(
            "SELECT source, rows_read, rows_loaded FROM _ju_prev_rows.main.source"
        ).fetchall()
    finally:
        con.execute("DETACH _ju_prev_rows")
    return PreviousRows(release_id, {str(s): (int(r), int(n)) for s, r, n in found})


def guard_sources(ctx: BuildContext) -> None:
    """Stop the build (SourcesShrank) for every source that shrank sharply or looks cut
    short, unless ``ctx.accept_drop`` names it; those let through go in
    ``ctx.accepted_drops`` for the caller to audit."""
    previous = previous_rows(ctx.con, ctx.partnership_dir)
    share = ctx.config.build.max_drop_share
    directory = str(ctx.partnership_dir)
    stopped: list[SourceDrop] = []
    for src in ctx.config.sources:
        f = ctx.sources[src.id]
        found = assess_source(
            src.id,
            f.name,
            rows=f.staged.report.rows_read,
            truncated=f.staged.report.truncated_last_row,
            previous=previous,
            share=share,
            directory=directory,
            loaded=f.counts.get("loaded"),
        )
        if found is None:
            continue
        if src.id in ctx.accept_drop:
            ctx.accepted_drops.append(found)
        else:
            stopped.append(found)
    if stopped:
        raise SourcesShrank(stopped, current_release_id(ctx.partnership_dir))
