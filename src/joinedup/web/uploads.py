"""Uploading an agency extract from the web app: checked first, then swapped in atomically.

:func:`save_extract` streams the upload into a hidden folder beside the configured file
(never into the file itself), checks it as the file of every source that reads that file
with :func:`joinedup.release.check.check_source_file` (the checks of ``joinedup check``,
on every row), and only when nothing would stop a build (and any rows bound for quarantine
were accepted) replaces the configured file with ``os.replace``. The previous file is
kept as ``<name>.previous`` beside it. The swap holds the release store's build lock, so
an extract never changes under a running build.

Nothing here logs or returns a value from the file: messages name the file, row, column
and how to fix the problem.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from joinedup.config import PartnershipConfig, SourceConfig, resolve_source_file
from joinedup.errors import JoinedupError, Problem
from joinedup.release.check import SourceCheck, check_source_file
from joinedup.release.store import build_lock

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SourceFile",
    "UploadError",
    "UploadResult",
    "human_size",
    "save_extract",
    "source_files",
    "upload_target",
]

#: The largest extract accepted from the web (2 GB); larger ones go in by hand.
DEFAULT_MAX_BYTES = 2 * 1024**3
_CHUNK = 1 << 20
_GLOB = re.compile(r"[*?\[]")


class UploadError(JoinedupError):
    """An upload that cannot be used (too large, empty, no place to put it)."""


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
                    "notes": [n.strip() for n in c.notes],
                }
                for c in self.checks
            ],
        }


def _receive(stream: BinaryIO, dest: Path, max_bytes: int) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with dest.open("wb") as out:
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
    backup.parent.mkdir(parents=True, exist_ok=True)
    tmp = backup.with_name(f".{backup.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.link(target, tmp)  # a second name for the same bytes: instant, no copy
    except OSError:
        shutil.copy2(target, tmp)
    os.replace(tmp, backup)


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
    target.parent.mkdir(parents=True, exist_ok=True)
    name = _safe_name(file_name, target.name)
    result = UploadResult(source=src.id, target=_rel(base, target), file_name=name)
    workdir = target.parent / f".upload-{secrets.token_hex(6)}"
    workdir.mkdir()
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
        if result.problems:
            return result
        if result.quarantined and not accept_quarantine:
            result.needs_acceptance = True
            return result
        with build_lock(base):  # BuildError while a build runs: it may be reading the file
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
