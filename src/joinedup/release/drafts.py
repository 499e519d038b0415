"""Draft releases: built and complete, shown to no one until a data lead publishes them.

Layout, beside the published releases (``joinedup.release.store``)::

    DIR/releases/
      drafts/<release-id>/   a finished build, not current; release.duckdb + manifest.json
      <release-id>/          published releases

A draft is made by :func:`stage_draft` in place of ``store.publish``: the staging folder
is renamed into ``drafts/`` and ``CURRENT`` is left alone. Nothing that lists or opens
releases (``list_releases``, ``open_release``, ``open_current``) sees a draft, so every
page and output keeps showing the current release; only :func:`list_drafts` and
:func:`open_draft` reach drafts, for the people who preview them.

:func:`publish_draft` moves a draft to ``<release-id>/`` and makes it current in one
atomic replace of ``CURRENT``, under the build lock; :func:`discard_draft` removes one.
Both write an audit entry (``publish_release``, ``discard_draft``) with who did it.

A draft records the release that was current when it was built (``base_release``):
person ids, incremental linking and the "shrank sharply" guard were worked out against
it. Once another release has been published, such a draft is **out of date** and
publishing it is refused (build again).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joinedup.errors import BuildError, ReleaseError
from joinedup.release.store import (
    CURRENT_FILE,
    DB_FILE,
    MANIFEST_FILE,
    ReleaseHandle,
    _fsync_dir,
    _owner_only_tree,
    build_lock,
    current_release_id,
    open_release,
    private_dir,
    releases_dir,
    staging_dir,
)

__all__ = [
    "DRAFTS_DIR",
    "DraftInfo",
    "discard_draft",
    "draft_info",
    "drafts_dir",
    "list_drafts",
    "open_draft",
    "publish_draft",
    "stage_draft",
]

DRAFTS_DIR = "drafts"


def drafts_dir(partnership_dir: Path) -> Path:
    return releases_dir(partnership_dir) / DRAFTS_DIR


@dataclass(frozen=True)
class DraftInfo:
    """A draft as the pages and the command line show it."""

    release_id: str
    built_at: str
    base_release: str | None
    current: str | None
    records: int | None
    persons: int | None
    quarantined: int | None
    built_by: str | None

    @property
    def out_of_date(self) -> bool:
        """Another release was published after this draft was built."""
        return self.base_release != self.current

    def as_dict(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "built_at": self.built_at,
            "base_release": self.base_release,
            "current": self.current,
            "out_of_date": self.out_of_date,
            "records": self.records,
            "persons": self.persons,
            "quarantined": self.quarantined,
            "built_by": self.built_by,
        }


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())


def _valid_id(release_id: str) -> bool:
    return bool(release_id) and not release_id.startswith(".") and "/" not in release_id


def stage_draft(partnership_dir: Path, release_id: str, manifest: dict[str, Any]) -> ReleaseHandle:
    """Make a finished staging folder a draft (``drafts/<id>``); ``CURRENT`` is untouched.

    ``manifest`` gains ``draft: true`` and ``base_release`` (the current release now)."""
    staged = staging_dir(partnership_dir, release_id)
    if not (staged / DB_FILE).is_file():
        raise BuildError(f"Nothing to keep as a draft: {staged} has no {DB_FILE}.")
    manifest = {**manifest, "draft": True, "base_release": current_release_id(partnership_dir)}
    _write_manifest(staged / MANIFEST_FILE, manifest)
    _owner_only_tree(staged)
    with (staged / DB_FILE).open("rb") as fh:
        os.fsync(fh.fileno())
    ddir = private_dir(drafts_dir(partnership_dir))
    os.rename(staged, ddir / release_id)
    _fsync_dir(ddir)
    return open_draft(partnership_dir, release_id)


def open_draft(partnership_dir: Path, release_id: str) -> ReleaseHandle:
    """A draft, as a handle that connects read-only like a release's."""
    path = drafts_dir(partnership_dir) / release_id
    if not _valid_id(release_id) or not (path / DB_FILE).is_file():
        raise ReleaseError(
            f"There is no draft '{release_id}'. `joinedup publish DIR --list` lists drafts."
        )
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    return ReleaseHandle(release_id, path, manifest)


def draft_info(partnership_dir: Path, release_id: str) -> DraftInfo:
    m = open_draft(partnership_dir, release_id).manifest

    def count(key: str) -> int | None:
        value = m.get(key)
        return value if isinstance(value, int) else None

    return DraftInfo(
        release_id=release_id,
        built_at=str(m.get("built_at", "")),
        base_release=m.get("base_release"),
        current=current_release_id(partnership_dir),
        records=count("records"),
        persons=count("persons"),
        quarantined=count("quarantined"),
        built_by=m.get("built_by"),
    )


def list_drafts(partnership_dir: Path) -> list[DraftInfo]:
    """Drafts waiting to be published or discarded, newest first."""
    ddir = drafts_dir(partnership_dir)
    if not ddir.is_dir():
        return []
    ids = sorted(
        (p.name for p in ddir.iterdir() if p.is_dir() and (p / DB_FILE).is_file()),
        reverse=True,
    )
    return [draft_info(partnership_dir, i) for i in ids if _valid_id(i)]


def _audit(partnership_dir: Path, state: Any, entry: dict[str, Any]) -> None:
    if state is not None:
        state.audit.append(**entry)
        return
    from joinedup.state import open_state

    with open_state(partnership_dir) as opened:
        opened.audit.append(**entry)


def publish_draft(
    partnership_dir: Path,
    release_id: str | None = None,
    *,
    actor: str,
    state: Any = None,
    via: str = "cli",
) -> ReleaseHandle:
    """Make a draft the current release (the newest draft when ``release_id`` is None),
    atomically, under the build lock; audited as ``publish_release`` (in ``state`` when
    given, else the partnership's app state).

    Refused (ReleaseError) when there is no such draft, or when another release was
    published after it was built (it is out of date: build again)."""
    base = Path(partnership_dir)
    with build_lock(base, operation="publish"):
        if release_id is None:
            drafts = list_drafts(base)
            if not drafts:
                raise ReleaseError(
                    f"There is no draft to publish in {base}. "
                    f"Run `joinedup build {base} --draft` first."
                )
            release_id = drafts[0].release_id
        info = draft_info(base, release_id)
        if info.out_of_date:
            raise ReleaseError(
                f"Draft {release_id} was built when "
                f"{info.base_release or 'no release'} was current, and {info.current} has "
                "been published since: its person ids and checks are against an older "
                "release. Build a new draft and publish that (discard this one)."
            )
        rdir = releases_dir(base)
        draft = drafts_dir(base) / release_id
        manifest = dict(open_draft(base, release_id).manifest)
        manifest.pop("draft", None)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest.update(published_at=now, published_by=actor, built_as_draft=True)
        _write_manifest(draft / MANIFEST_FILE, manifest)
        os.rename(draft, rdir / release_id)
        _fsync_dir(drafts_dir(base))
        _fsync_dir(rdir)
        tmp = rdir / f".{CURRENT_FILE}.{release_id}.tmp"
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            fh.write(release_id + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, rdir / CURRENT_FILE)
        _fsync_dir(rdir)
    _audit(
        base,
        state,
        {
            "actor": actor,
            "action": "publish_release",
            "target": release_id,
            "detail": {
                "previous": info.base_release,
                "built_at": info.built_at,
                "records": info.records,
                "persons": info.persons,
                "via": via,
            },
        },
    )
    return open_release(base, release_id)


def discard_draft(
    partnership_dir: Path, release_id: str, *, actor: str, state: Any = None, via: str = "cli"
) -> None:
    """Remove a draft for good; audited as ``discard_draft``."""
    base = Path(partnership_dir)
    with build_lock(base, operation="discard"):
        info = draft_info(base, release_id)
        shutil.rmtree(drafts_dir(base) / release_id)
    _audit(
        base,
        state,
        {
            "actor": actor,
            "action": "discard_draft",
            "target": release_id,
            "detail": {"built_at": info.built_at, "base_release": info.base_release, "via": via},
        },
    )
