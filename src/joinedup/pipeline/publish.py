"""The ``publish`` stage: the release's facts and lineage, then the atomic switch.

``release_info`` and ``lineage`` record what went in (the extracts, written by ``map``;
the configuration, code and taxonomy; how long each earlier stage took). The database is
then closed and ``joinedup.release.store.publish`` makes the staging folder the current
release in one rename.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import duckdb

from joinedup import __version__
from joinedup.config import config_sha256
from joinedup.pipeline.context import TEMP_DIR, BuildContext
from joinedup.release.store import publish

__all__ = ["counts", "publish_release"]


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
    con.execute("CHECKPOINT")
    con.close()
    shutil.rmtree(ctx.staging / TEMP_DIR, ignore_errors=True)
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
