"""Uploading an agency extract from the web app: checked first, then swapped in atomically.

:func:`save_extract` streams the upload into a hidden folder beside the configured file
(never into the file itself), checks it as the file of every source that reads that file
with :func:`joinedup.pipeline.check.check_source_file` (the checks of ``joinedup check``,
on every row), and only when nothing would stop a build (and any rows bound for quarantine
were accepted) replaces the configured file with ``os.replace``. The previous file is
kept as ``<name>.previous`` beside it. The swap holds the release store's build lock, so
an extract never changes under a running build.

Nothing here logs or returns a value from the file: messages name the file, row, column
and how to fix the problem.

Files: the upload's folder (``.upload-<random>`` beside the configured file) is 0700 and
the copy in it 0600 from the moment it is made, so the file swapped in is 0600 too. An
upload killed part-way leaves that folder behind: the next upload (and a server when it
starts, :func:`clean_interrupted_uploads`) removes it and writes an
``upload_interrupted`` audit entry. A folder whose upload is still running is held by a
lock inside it and left alone.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import fnmatch
import hashlib
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from joinedup.config import PartnershipConfig, SourceConfig, load_config, resolve_source_file
from joinedup.errors import JoinedupError, Problem
from joinedup.pipeline.check import SourceCheck, check_source_file
from joinedup.release.store import build_lock, lock_context, private_dir, recover_interrupted

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SourceFile",
    "UploadError",
    "UploadResult",
    "clean_interrupted_uploads",
    "recover_at_start",
    "human_size",
    "no_data_rows",
    "save_extract",
    "source_files",
    "upload_target",
]

#: The largest extract accepted from the web (2 GB); larger ones go in by hand.
DEFAULT_MAX_BYTES = 2 * 1024**3
_CHUNK = 1 << 20
_GLOB = re.compile(r"[*?\[]")
UPLOAD_PREFIX = ".upload-"
_LOCK = ".lock"
#: An upload folder without its lock file is left this long (it may be being made).
_GRACE_SECONDS = 60.0


class UploadError(JoinedupError):
    """An upload that cannot be used (too large, empty, no place to put it)."""


def no_data_rows(source_id: str) -> str:
    """Why an upload with no data rows (a header only) is refused (issue 11)."""
    return (
        f"the file has no data rows, only a header, so it would leave {source_id} with no "
        "records; nothing was replaced. Export the extract again with its rows and upload it"
    )


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size):,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"


@dataclass(frozen=True)
class SourceFile:
    """A configured source and the file it reads now."""

    source: SourceConfig
    path: Path | None
    rel: str | None
    size: int | None
    modified: str | None
    shared_with: tuple[str, ...]  # other sources reading the same file
    shared_agencies: tuple[str, ...] = ()  # their agencies

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.id,
            "agency": self.source.agency,
            "dataset": self.source.dataset,
            "format": self.source.format,
            "pattern": self.source.file,
            "file": self.rel,
            "size_bytes": self.size,
            "size": human_size(self.size),
            "modified": self.modified,
            "shared_with": list(self.shared_with),
        }


def _rel(base: Path, path: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def source_files(base: Path, cfg: PartnershipConfig) -> list[SourceFile]:
    """Every configured source with the file it reads (None when none matches)."""
    paths = {s.id: resolve_source_file(base, s) for s in cfg.sources}
    out = []
    for s in cfg.sources:
        path = paths[s.id]
        size = modified = None
        if path is not None:
            st = path.stat()
            size = st.st_size
            modified = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        shared = tuple(o for o, p in paths.items() if o != s.id and p is not None and p == path)
        agencies = tuple(sorted({x.agency for x in cfg.sources if x.id in shared}))
        rel = None if path is None else _rel(base, path)
        out.append(SourceFile(s, path, rel, size, modified, shared, agencies))
    return out


def upload_target(base: Path, src: SourceConfig) -> Path:
    """The file an upload for ``src`` replaces: the file it reads now, or the path it
    names when nothing is there yet (a pattern with wildcards must match a file)."""
    found = resolve_source_file(base, src)
    if found is not None:
        return found
    if _GLOB.search(src.file):
        raise UploadError(
            f"No file matches '{src.file}' for source '{src.id}' yet, so there is no file to "
            "replace. Put the first extract in place by hand (named to match the pattern), "
            "then upload later ones here."
        )
    path = Path(src.file)
    return path if path.is_absolute() else base / path


def _backup_path(base: Path, cfg: PartnershipConfig, target: Path) -> Path:
    """``<name>.previous`` beside the target, unless a source's pattern would read it."""
    beside = target.with_name(target.name + ".previous")
    rel = _rel(base, beside)
    for s in cfg.sources:
        pattern = s.file
        if fnmatch.fnmatch(str(beside) if Path(pattern).is_absolute() else rel, pattern):
            folder = base / ".previous-extracts"
            return folder / rel.replace("/", "__")
    return beside


def _safe_name(name: str | None, fallback: str) -> str:
    base = Path(name or "").name
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")[:120]
    return base or fallback


@dataclass
class UploadResult:
    """What happened to an upload: checks per source, and whether the file was replaced."""

    source: str
    target: str
    file_name: str
    size: int = 0
    sha256: str = ""
    saved: bool = False
    backup: str | None = None
    checks: list[SourceCheck] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # stop the upload
    needs_acceptance: bool = False  # rows bound for quarantine were not accepted

    @property
    def quarantined(self) -> int:
        return sum(c.quarantined for c in self.checks)

    @property
    def emptied(self) -> int:
        return sum(c.emptied for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file": self.target,
            "uploaded_as": self.file_name,
            "size_bytes": self.size,
            "size": human_size(self.size),
            "sha256": self.sha256,
            "saved": self.saved,
            "previous_file": self.backup,
            "needs_acceptance": self.needs_acceptance,
            "problems": [{"where": p.where, "message": p.message} for p in self.problems],
            "checks": [
                {
                    "source": c.source,
                    "summary": c.summary() if c.ok else None,
                    "rows_read": c.rows,
                    "rows_loaded": c.mapped,
                    "rows_filtered": c.filtered,
                    "rows_quarantined": c.quarantined,
                    "quarantine": [
                        {
                            "row": q.row,
                            "column": q.column,
                            "problem": q.problem,
                            "reason": q.reason,
                        }
                        for q in c.quarantine
                    ],
                    "values_emptied": c.emptied,
                    "field_problems": [
                        {
                            "row": q.row,
                            "column": q.column,
                            "problem": q.problem,
                            "reason": q.reason,
                        }
                        for q in c.field_problems
                    ],
                    "notes": [n.strip() for n in c.notes],
                }
                for c in self.checks
            ],
        }


def _receive(stream: BinaryIO, dest: Path, max_bytes: int) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise UploadError(
                    f"The file is larger than the {human_size(max_bytes)} the web app accepts. "
                    "Split the extract by date, or ask the partnership's administrator to "
                    "put it in the partnership folder and run `joinedup build`."
                )
            h.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size, h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_previous(target: Path, backup: Path) -> None:
    """Make ``backup`` a copy of ``target`` without ever leaving ``target`` missing."""
    if not backup.parent.exists():
        private_dir(backup.parent)
    tmp = backup.with_name(f".{backup.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.link(target, tmp)  # a second name for the same bytes: instant, no copy
    except OSError:
        shutil.copy2(target, tmp)
    os.chmod(tmp, 0o600)  # an older extract may have been readable by others
    os.replace(tmp, backup)


def _in_use(folder: Path) -> bool:
    """Whether an upload still running holds ``folder`` (its lock file is locked)."""
    lock = folder / _LOCK
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        try:
            age = time.time() - folder.stat().st_mtime
        except OSError:
            return True
        return age < _GRACE_SECONDS  # lock not made yet, or an older joinedup's folder
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def clean_interrupted_uploads(base: Path, cfg: PartnershipConfig) -> list[str]:
    """Remove what killed uploads left (``.upload-*`` folders no upload holds) and write
    an ``upload_interrupted`` audit entry for each, naming the source (from the folder's
    name, ``.upload-<source>.<random>``; an older joinedup's folder names only the
    sources reading that folder); the folders removed, relative to ``base``. Called by
    every upload, and by a server when it starts."""
    base = Path(base)
    readers: dict[Path, list[str]] = {}
    for s in cfg.sources:
        try:
            readers.setdefault(upload_target(base, s).parent, []).append(s.id)
        except UploadError:
            continue
    ids = {s.id for s in cfg.sources}
    items: list[dict[str, Any]] = []
    removed: list[str] = []
    for folder, sources in sorted(readers.items()):
        if not folder.is_dir():
            continue
        for debris in sorted(folder.glob(f"{UPLOAD_PREFIX}*")):
            if not debris.is_dir() or _in_use(debris):
                continue
            shutil.rmtree(debris, ignore_errors=True)
            rel = _rel(base, debris)
            removed.append(rel)
            named = debris.name.removeprefix(UPLOAD_PREFIX).rpartition(".")[0]
            detail: dict[str, Any] = {"removed": rel, "stage": "receiving the file"}
            if named in ids:
                detail["source"] = named
            else:
                detail["sources"] = sorted(sources)
            items.append(
                {
                    "actor": "joinedup",
                    "action": "upload_interrupted",
                    "target": named if named in ids else None,
                    "detail": detail,
                }
            )
    if items:
        from joinedup.state import open_state

        with open_state(base) as state:
            state.audit.append_many(items)
    return removed


def recover_at_start(base: Path) -> None:
    """What a server does when it starts: a build or upload it (or anyone) was running
    when killed gets its audit entry (``build_interrupted``, ``upload_interrupted``) and
    its debris is removed. A partnership.yaml that does not load leaves uploads' debris
    for the next upload, which needs it to."""
    recover_interrupted(base)
    try:
        cfg = load_config(base, check_files=False)
    except JoinedupError:
        return
    clean_interrupted_uploads(base, cfg)


def save_extract(
    base: Path,
    cfg: PartnershipConfig,
    source_id: str,
    stream: BinaryIO,
    *,
    file_name: str | None = None,
    accept_quarantine: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> UploadResult:
    """Check an uploaded extract for ``source_id`` and, when it passes, make it the
    source's file (see the module docstring). UploadError or BuildError when it cannot
    be received or swapped in; problems found in the file are in the result."""
    base = Path(base)
    src = next((s for s in cfg.sources if s.id == source_id), None)
    if src is None:
        raise UploadError(f"There is no source '{source_id}' in partnership.yaml.")
    target = upload_target(base, src)
    readers = [
        s
        for s in cfg.sources
        if s.id == src.id or resolve_source_file(base, s) == target and target.exists()
    ]
    if not target.parent.exists():
        private_dir(target.parent)
    clean_interrupted_uploads(base, cfg)
    name = _safe_name(file_name, target.name)
    result = UploadResult(source=src.id, target=_rel(base, target), file_name=name)
    workdir = target.parent / f"{UPLOAD_PREFIX}{src.id}.{secrets.token_hex(6)}"
    workdir.mkdir(mode=0o700)
    workdir.chmod(0o700)  # whatever the umask
    lock_fd = os.open(workdir / _LOCK, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)  # held while this upload runs: not debris
    try:
        staged = workdir / name
        result.size, result.sha256 = _receive(stream, staged, max_bytes)
        if result.size == 0:
            result.problems.append(
                Problem(name, "the file is empty; export the extract again and upload it")
            )
            return result
        for s in readers:
            check = check_source_file(base, s.id, staged, file_name=name, config=cfg)
            result.checks.append(check)
            result.problems.extend(check.problems)
            if check.ok and check.rows == 0:  # a header only: never replaces an extract
                result.problems.append(Problem(name, no_data_rows(s.id)))
        if result.problems:
            return result
        # rows set aside, or values left empty, replace an extract only once confirmed
        if (result.quarantined or result.emptied) and not accept_quarantine:
            result.needs_acceptance = True
            return result
        # BuildError while a build runs: it may be reading the file
        with lock_context(source=src.id), build_lock(base, operation="upload"):
            if target.exists():
                backup = _backup_path(base, cfg, target)
                _keep_previous(target, backup)
                result.backup = _rel(base, backup)
            os.replace(staged, target)
            _fsync_dir(target.parent)
        result.saved = True
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        os.close(lock_fd)
