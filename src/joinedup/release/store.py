"""The release store: immutable releases under ``DIR/releases/``, published atomically.

Layout::

    DIR/releases/
      CURRENT                  the id of the current release (replaced atomically)
      <release-id>/            one folder per published release, never changed again
        release.duckdb
        manifest.json
      .building-<release-id>/  a build in progress (ignored; removed by the next build)
      .build.lock              held while a build runs

A build writes everything into ``.building-<id>``, closes the database, renames the
folder to ``<id>`` and only then replaces ``CURRENT``. A build that fails or is killed
leaves ``CURRENT`` pointing at the previous, complete release.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from joinedup.errors import BuildError, ReleaseError

__all__ = [
    "DB_FILE",
    "MANIFEST_FILE",
    "ReleaseHandle",
    "ReleasesHeldOpen",
    "build_lock",
    "current_release_id",
    "list_releases",
    "new_release_id",
    "open_current",
    "open_release",
    "publish",
    "releases_dir",
    "staging_dir",
]

DB_FILE = "release.duckdb"
MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "CURRENT"
STAGING_PREFIX = ".building-"


@dataclass(frozen=True)
class ReleaseHandle:
    """A published release: its id, its folder and its manifest."""

    release_id: str
    path: Path
    manifest: dict[str, Any]

    @property
    def db_path(self) -> Path:
        return self.path / DB_FILE

    @property
    def built_at(self) -> str:
        return str(self.manifest.get("built_at", ""))

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the release's DuckDB file."""
        con = duckdb.connect(str(self.db_path), read_only=True)
        # DuckDB draws a progress bar on stderr for long queries; a server has no terminal
        con.execute("SET enable_progress_bar = false")
        return con


class ReleasesHeldOpen:
    """Keeps the most recently used releases' DuckDB files open, for a long-running
    reader such as the web app, which opens the current release on every request.

    DuckDB shares one open database between all read-only connections to a file in a
    process, so while one connection is held here, ``ReleaseHandle.connect()`` is a
    cheap new connection to an open database with a warm cache, instead of opening the
    file and reading its catalogue again (tens to hundreds of milliseconds). Callers still
    take and close a connection of their own per use, so nothing they do (temporary
    views, settings) leaks between requests.

    :meth:`open_current` stands in for :func:`open_current`. A new current release is
    held from its first use; releases beyond the ``keep`` most recently used are let go.
    Releases are never changed after publishing, so holding one open is safe.
    """

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self._held: OrderedDict[Path, duckdb.DuckDBPyConnection] = OrderedDict()
        self._lock = threading.Lock()

    def open_current(self, partnership_dir: Path) -> ReleaseHandle:
        """The current release (as :func:`open_current`), held open from now on."""
        handle = open_current(partnership_dir)
        self.hold(handle)
        return handle

    def hold(self, handle: ReleaseHandle) -> None:
        key = handle.db_path
        with self._lock:
            if key in self._held:
                self._held.move_to_end(key)
                return
            try:
                self._held[key] = handle.connect()
            except duckdb.Error:
                return  # the caller's own connect() reports the problem
            while len(self._held) > self.keep:
                _, oldest = self._held.popitem(last=False)
                oldest.close()

    def held(self) -> list[Path]:
        """The database files held open, least recently used first."""
        with self._lock:
            return list(self._held)

    def close(self) -> None:
        with self._lock:
            for con in self._held.values():
                con.close()
            self._held.clear()


def releases_dir(partnership_dir: Path) -> Path:
    return Path(partnership_dir) / "releases"


def new_release_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique release id: UTC time of the build and a random suffix."""
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def staging_dir(partnership_dir: Path, release_id: str) -> Path:
    return releases_dir(partnership_dir) / f"{STAGING_PREFIX}{release_id}"


@contextmanager
def build_lock(partnership_dir: Path) -> Iterator[None]:
    """Hold the partnership's build lock; refuse a second build running at once."""
    rdir = releases_dir(partnership_dir)
    rdir.mkdir(parents=True, exist_ok=True)
    with (rdir / ".build.lock").open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(
                f"Another build of {partnership_dir} is running. Wait for it to finish."
            ) from None
        try:
            # no build holds the lock, so any staging folder is left from a killed build
            for stale in rdir.glob(f"{STAGING_PREFIX}*"):
                shutil.rmtree(stale, ignore_errors=True)
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(partnership_dir: Path, release_id: str, manifest: dict[str, Any]) -> ReleaseHandle:
    """Make a finished staging folder a release and then the current one, atomically."""
    rdir = releases_dir(partnership_dir)
    staged = staging_dir(partnership_dir, release_id)
    if not (staged / DB_FILE).is_file():
        raise BuildError(f"Nothing to publish: {staged} has no {DB_FILE}.")
    manifest_path = staged / MANIFEST_FILE
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for f in (staged / DB_FILE, manifest_path):
        with f.open("rb") as fh:
            os.fsync(fh.fileno())
    final = rdir / release_id
    os.rename(staged, final)
    _fsync_dir(rdir)
    tmp = rdir / f".{CURRENT_FILE}.{release_id}.tmp"
    with tmp.open("w") as fh:
        fh.write(release_id + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, rdir / CURRENT_FILE)
    _fsync_dir(rdir)
    return open_release(partnership_dir, release_id)


def current_release_id(partnership_dir: Path) -> str | None:
    path = releases_dir(partnership_dir) / CURRENT_FILE
    if not path.is_file():
        return None
    value = path.read_text().strip()
    return value or None


def open_release(partnership_dir: Path, release_id: str) -> ReleaseHandle:
    path = releases_dir(partnership_dir) / release_id
    if release_id.startswith(".") or "/" in release_id or not (path / DB_FILE).is_file():
        raise ReleaseError(f"No release '{release_id}' in {releases_dir(partnership_dir)}.")
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        manifest = {}
    return ReleaseHandle(release_id, path, manifest)


def open_current(partnership_dir: Path) -> ReleaseHandle:
    """The current release; ReleaseError when none has been built yet."""
    rid = current_release_id(partnership_dir)
    if rid is None:
        raise ReleaseError(
            f"No release has been built in {partnership_dir} yet. "
            f"Run `joinedup build {partnership_dir}` first."
        )
    return open_release(partnership_dir, rid)


def list_releases(partnership_dir: Path) -> list[ReleaseHandle]:
    """Published releases, oldest first."""
    rdir = releases_dir(partnership_dir)
    if not rdir.is_dir():
        return []
    out = []
    for p in sorted(rdir.iterdir()):
        if p.is_dir() and not p.name.startswith(".") and (p / DB_FILE).is_file():
            out.append(open_release(partnership_dir, p.name))
    return out
