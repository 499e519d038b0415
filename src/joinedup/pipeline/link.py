"""The ``link`` stage: resolve every record into a person (see ``joinedup.linkage``).

Review decisions come from the app state; the previous release lends its person ids
(and, for an incremental build, its model, scores and reuse store). :func:`relinking`
makes the builds run inside it relink every record (``joinedup build --relink``);
:func:`linkage_summary` says what a release's linkage reused, for the CLI.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from joinedup.linkage import link_stage
from joinedup.pipeline.context import BuildContext, previous_release

__all__ = ["link_records", "linkage_summary", "relinking"]

#: Whether builds in this context relink every record instead of building incrementally.
_RELINK: contextvars.ContextVar[bool] = contextvars.ContextVar("joinedup_relink", default=False)


@contextmanager
def relinking(relink: bool = True) -> Iterator[None]:
    """Builds run inside relink every record (the model is still reused unless the data
    has moved more than ``linkage.retrain_share`` since it was trained)."""
    token = _RELINK.set(relink)
    try:
        yield
    finally:
        _RELINK.reset(token)


def link_records(ctx: BuildContext) -> None:
    """Fill ``record_person`` and the linkage tables; count the persons."""
    previous = previous_release(ctx.partnership_dir)
    ctx.persons = link_stage(
        ctx.con,
        ctx.secret,
        partnership_dir=ctx.partnership_dir,
        config=ctx.config,
        previous=None if previous is None else previous[1],
        relink=_RELINK.get(),
    )


def linkage_summary(db_path: Path) -> str | None:
    """One line on what a release's linkage did: full or incremental, what it reused and
    how much it scored (None when the release has no linkage report)."""
    try:
        with duckdb.connect(str(db_path), read_only=True) as con:
            rows = con.execute(
                "SELECT item, value, detail FROM linkage_report WHERE section = 'run'"
            ).fetchall()
    except duckdb.Error:
        return None
    run = {item: (value, detail) for item, value, detail in rows}
    if "mode" not in run:
        return None
    mode = run["mode"][1]
    records = int(run.get("records", (0, None))[0] or 0)
    fresh = int(run.get("new_or_changed_records", (0, None))[0] or 0)
    pairs = run.get("pairs_scored", (None, None))[0]
    model = run.get("model", (None, None))[1]
    share = f" ({fresh / records:.1%})" if records else ""
    if mode == "incremental":
        text = (
            f"Linkage: incremental, on top of the previous release: {fresh:,} new or changed "
            f"records{share} linked against {records - fresh:,} kept"
        )
    elif mode == "full":
        why = "asked for with --relink" if "relink" in run else "every record linked afresh"
        text = f"Linkage: full relink ({why}): {records:,} records, {fresh:,} new or changed{share}"
    else:
        return f"Linkage: identifiers only ({records:,} records; too few to train a model on)."
    if pairs is not None:
        text += f"; {int(pairs):,} record pairs scored"
    if run.get("reuse_store", (None, None))[1] == "used":
        text += "; unchanged records' linkage input reused"
    if model:
        text += f"; model {model}"
    return text + "."
