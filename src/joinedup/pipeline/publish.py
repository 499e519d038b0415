"""The ``publish`` stage: the release's facts and lineage, then the atomic switch.

``release_info`` and ``lineage`` record what went in (the extracts, written by ``map``;
the configuration, code and taxonomy; how long each earlier stage took). The database is
then closed and ``joinedup.release.store.publish`` makes the staging folder the current
release in one rename.

A **draft** build (issue 16: ``joinedup build --draft``, the web app's "build a draft",
or every build when partnership.yaml sets ``build.drafts: true``) ends instead with
``joinedup.release.drafts.stage_draft``: the release is complete but not current until
a data lead publishes it (``joinedup publish``). :func:`drafting` chooses for the builds
run inside it; outside one, ``build.drafts`` decides.
"""

from __future__ import annotations

import contextvars
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from joinedup import __version__
from joinedup.config import config_sha256
from joinedup.pipeline.context import TEMP_DIR, BuildContext
from joinedup.release.drafts import stage_draft
from joinedup.release.store import publish

__all__ = ["counts", "drafting", "is_draft", "publish_release"]

#: Whether builds in this context make drafts: True, False, or None (``build.drafts``).
_DRAFT: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "joinedup_draft_build", default=None
)
#: Who started the builds in this context (written into a draft's manifest).
_BUILT_BY: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "joinedup_built_by", default=None
)


@contextmanager
def drafting(draft: bool | None = True, *, built_by: str | None = None) -> Iterator[None]:
    """Builds run inside make drafts (``draft=True``), publish (``False``), or follow
    ``build.drafts`` (``None``); ``built_by`` is kept in a draft's manifest."""
    token = _DRAFT.set(draft)
    by = _BUILT_BY.set(built_by)
    try:
        yield
    finally:
        _DRAFT.reset(token)
        _BUILT_BY.reset(by)


def is_draft(ctx: BuildContext) -> bool:
    """Whether this build ends as a draft (see :func:`drafting`)."""
    chosen = _DRAFT.get()
    return bool(ctx.config.build.drafts) if chosen is None else chosen


def publish_release(ctx: BuildContext) -> None:
    """Record the release's facts and lineage, close its database and make it current."""
    con, cfg = ctx.con, ctx.config
    config_hash = config_sha256(ctx.partnership_dir)
    info = {
        "release_id": ctx.release_id,
        "built_at": ctx.now.isoformat(timespec="seconds"),
        "partnership": cfg.partnership.name,
        "reference_date": ctx.reference_date.isoformat(),
        "taxonomy_version": cfg.taxonomy_version,
        "code_version": __version__,
        "config_sha256": config_hash,
        "linkage": "identifiers, then Splink (see linkage_report)",
    }
    con.executemany("INSERT INTO release_info VALUES (?, ?)", sorted(info.items()))
    con.execute(
        "INSERT INTO lineage VALUES ('config', 'partnership.yaml', ?, NULL, NULL, ?)",
        [config_hash, json.dumps({"authorities": [a.code for a in cfg.authorities]})],
    )
    con.execute(
        "INSERT INTO lineage VALUES ('code', 'joinedup', NULL, NULL, NULL, ?)",
        [f"joinedup {__version__}; duckdb {duckdb.__version__}"],
    )
    con.execute(
        "INSERT INTO lineage VALUES ('taxonomy', 'taxonomy', NULL, NULL, NULL, ?)",
        [cfg.taxonomy_version],
    )
    for name, secs in ctx.stage_seconds.items():
        con.execute(
            "INSERT INTO lineage VALUES ('stage', ?, NULL, NULL, ?, NULL)", [name, round(secs, 3)]
        )
    manifest: dict[str, Any] = {
        "release_id": ctx.release_id,
        "built_at": info["built_at"],
        "partnership": cfg.partnership.name,
        "code_version": __version__,
        "config_sha256": config_hash,
    }
    ctx.totals = counts(ctx)
    manifest.update(ctx.totals)
    draft = is_draft(ctx)
    if draft and _BUILT_BY.get():
        manifest["built_by"] = _BUILT_BY.get()
    con.execute("CHECKPOINT")
    con.close()
    shutil.rmtree(ctx.staging / TEMP_DIR, ignore_errors=True)
    if draft:
        ctx.release = stage_draft(ctx.partnership_dir, ctx.release_id, manifest)
    else:
        ctx.release = publish(ctx.partnership_dir, ctx.release_id, manifest)


def counts(ctx: BuildContext) -> dict[str, int]:
    """Sources, records, persons and rows in quarantine of the release being built."""
    totals = ctx.con.execute(
        "SELECT (SELECT count(*) FROM record), (SELECT count(*) FROM quarantine)"
    ).fetchone()
    assert totals is not None
    return {
        "sources": len(ctx.config.sources),
        "records": int(totals[0]),
        "persons": ctx.persons,
        "quarantined": int(totals[1]),
    }
