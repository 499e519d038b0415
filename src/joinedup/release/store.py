"""The release store: immutable releases under ``DIR/releases/``, published atomically.

Layout::

    DIR/releases/
      CURRENT                  the id of the current release (replaced atomically)
      <release-id>/            one folder per published release, never changed again
        release.duckdb
        manifest.json
      .building-<release-id>/  a build in progress (ignored; removed by the next build)
      .build.lock              held while a build runs; says which operation holds it

A build writes everything into ``.building-<id>``, closes the database, renames the
folder to ``<id>`` and only then replaces ``CURRENT``. A build that fails or is killed
leaves ``CURRENT`` pointing at the previous, complete release.

Only the owner can read any of it: ``releases/`` and every release folder are 0700, every
file in them 0600 (``releases/`` is 0700 before a build writes anything, so a release's
database is never readable by others even while it is being written).

An operation killed while holding the lock (a build, or an upload swapping its file in)
leaves its record in ``.build.lock`` and, for a build, its ``.building-<id>`` folder: the
next holder of the lock writes a ``build_interrupted`` (or ``upload_interrupted``) audit
entry naming it, then removes the debris.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import fcntl
import json
import logging
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
    "lock_context",
    "private_dir",
    "recover_interrupted",
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
LOCK_FILE = ".build.lock"

log = logging.getLogger(__name__)

# What the operation holding the lock is, beyond its kind (a web build's id and who
# started it): written into the lock's record, named by the audit entry if it is killed.
_LOCK_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "joinedup_lock_context", default=None
)


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


def private_dir(path: Path) -> Path:
    """Make ``path`` (and its missing parents) a folder only its owner can open (0700);
    an existing folder of ours is brought to 0700 too."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.stat()
    if st.st_mode & 0o777 != 0o700 and st.st_uid == os.getuid():
        path.chmod(0o700)
    return path


@contextmanager
def lock_context(**info: str) -> Iterator[None]:
    """Name the operation that will hold the build lock in this thread (e.g. the web
    build's id and who started it), for the audit entry if it is killed."""
    token = _LOCK_CONTEXT.set({k: str(v) for k, v in info.items()})
    try:
        yield
    finally:
        _LOCK_CONTEXT.reset(token)


@contextmanager
def build_lock(partnership_dir: Path, *, operation: str = "build") -> Iterator[None]:
    """Hold the partnership's build lock; refuse a second build running at once.

    ``operation`` (``build``, ``upload``) is recorded in the lock file while it is held,
    so that if the process is killed the next holder can say what was interrupted; a
    killed operation's debris is then audited and removed (see the module docstring)."""
    rdir = private_dir(releases_dir(partnership_dir))
    fd = os.open(rdir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(
                f"Another build of {partnership_dir} is running. Wait for it to finish."
            ) from None
        try:
            _recover(Path(partnership_dir), rdir, fh.read())
            record = {
                "operation": operation,
                "pid": os.getpid(),
                "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                **(_LOCK_CONTEXT.get() or {}),
            }
            _rewrite(fh, json.dumps(record) + "\n")
            try:
                yield
            except BaseException as exc:
                if not isinstance(exc, Exception | GeneratorExit):  # Ctrl-C, SystemExit
                    _audit_interrupted(Path(partnership_dir), record, [], how="stopped")
                raise
        finally:
            _rewrite(fh, "")
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def recover_interrupted(partnership_dir: Path) -> bool:
    """Audit and clear what a killed build or upload left, now (a server calls this when
    it starts); False when a build holds the lock, so there is nothing to recover."""
    if not releases_dir(partnership_dir).is_dir():
        return True
    try:
        with build_lock(partnership_dir, operation="recover"):
            pass
    except BuildError:
        return False
    return True


def _rewrite(fh: Any, text: str) -> None:
    fh.seek(0)
    fh.truncate()
    fh.write(text)
    fh.flush()


def _recover(partnership_dir: Path, rdir: Path, previous: str) -> None:
    """No one holds the lock, so a record left in it, or a staging folder, is from an
    operation that was killed: one audit entry each, then the debris goes."""
    stale = sorted(rdir.glob(f"{STAGING_PREFIX}*"))
    record: dict[str, Any] = {}
    if previous.strip():
        try:
            loaded = json.loads(previous)
            record = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            record = {"operation": "unknown"}
        if record.get("operation") == "recover":
            record = {}
    if record or stale:
        _audit_interrupted(partnership_dir, record, stale, how="killed")
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)


def _audit_interrupted(
    partnership_dir: Path, record: dict[str, Any], stale: list[Path], *, how: str
) -> None:
    base: dict[str, Any] = {
        k: record[k]
        for k in ("started_at", "started_by", "web_build_id", "pid", "source")
        if k in record
    }
    base["how"] = how
    operation = str(record.get("operation") or "build")
    items: list[dict[str, Any]] = []
    if operation == "upload" and not stale:
        items.append(
            {
                "actor": "joinedup",
                "action": "upload_interrupted",
                "target": record.get("source"),
                "detail": {**base, "stage": "replacing the file"},
            }
        )
    else:
        ids: list[str | None] = [p.name.removeprefix(STAGING_PREFIX) for p in stale] or [None]
        for release_id in ids:
            detail: dict[str, Any] = {**base, "build_id": release_id}
            if release_id is not None:
                detail["removed"] = f"{STAGING_PREFIX}{release_id}"
            items.append(
                {
                    "actor": "joinedup",
                    "action": "build_interrupted",
                    "target": release_id,
                    "detail": detail,
                }
            )
    try:
        from joinedup.state import open_state

        with open_state(partnership_dir) as state:
            state.audit.append_many(items)
    except Exception as exc:  # never stop a build for this; say so loudly
        log.error(
            "Could not audit an interrupted %s in %s (%s)",
            operation,
            partnership_dir,
            type(exc).__name__,
        )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _owner_only_tree(folder: Path) -> None:
    """A release folder and everything in it: folders 0700, files 0600."""
    folder.chmod(0o700)
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o700)
        for f in files:
            os.chmod(os.path.join(root, f), 0o600)


def publish(partnership_dir: Path, release_id: str, manifest: dict[str, Any]) -> ReleaseHandle:
    """Make a finished staging folder a release and then the current one, atomically."""
    rdir = releases_dir(partnership_dir)
    staged = staging_dir(partnership_dir, release_id)
    if not (staged / DB_FILE).is_file():
        raise BuildError(f"Nothing to publish: {staged} has no {DB_FILE}.")
    manifest_path = staged / MANIFEST_FILE
    fd = os.open(manifest_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    _owner_only_tree(staged)
    for f in (staged / DB_FILE, manifest_path):
        with f.open("rb") as fh:
            os.fsync(fh.fileno())
    final = rdir / release_id
    os.rename(staged, final)
    _fsync_dir(rdir)
    tmp = rdir / f".{CURRENT_FILE}.{release_id}.tmp"
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
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
