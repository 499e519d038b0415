"""Why a build stopped, in words a data lead can act on.

A full disk says so and names the folder that filled: the releases folder (where the new
release and, by default, the database's spilled working data are written) or the folder
``build.temp_directory`` names. Any other database error names the stage it happened in
and its kind, and claims no cause it does not know. Messages never quote the database's
own text: it can hold a value from an extract.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

import duckdb

from joinedup.errors import BuildError, JoinedupError

__all__ = ["SETUP", "build_failure"]

#: The stage name while the release's database is being prepared, before the first stage.
SETUP = "setup"

_NO_SPACE = "no space left on device"
# DuckDB's spill limit defaults to the free space of the temporary folder's disk
_SPILL_FULL = "max_temp_directory_size"
_QUOTED = re.compile(r'"([^"]+)"')


def build_failure(
    exc: BaseException, *, stage: str, releases: Path, temp: Path
) -> BuildError | None:
    """The message for ``exc`` stopping a build in ``stage``; None to let it through.

    ``releases`` is the partnership's releases folder and ``temp`` the database's
    temporary folder (inside the release being built unless configured elsewhere).
    """
    if isinstance(exc, JoinedupError):
        return None
    full = _disk_full(exc)
    if full is not None:
        spill, path = full
        return BuildError(_disk_full_message(stage, spill, path, releases, temp))
    if isinstance(exc, duckdb.Error):
        hint = (
            " Run `joinedup check` to look for a mapping problem."
            if stage in ("read", "map")
            else ""
        )
        return BuildError(
            f"The build stopped on a database error {_where(stage)} ({type(exc).__name__}); "
            f"the previous release is still current.{hint}"
        )
    return None


def _where(stage: str) -> str:
    return "while preparing the release's database" if stage == SETUP else f"in the {stage} stage"


def _disk_full(exc: BaseException) -> tuple[bool, Path | None] | None:
    """(whether it was spilled working data, the file being written) if the disk filled."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            name = current.filename
            return False, Path(name) if isinstance(name, str) and name else None
        if isinstance(current, duckdb.Error):
            text = str(current)
            if _NO_SPACE in text.lower():
                quoted = _QUOTED.search(text)
                return False, Path(quoted.group(1)) if quoted else None
            if isinstance(current, duckdb.OutOfMemoryException) and _SPILL_FULL in text:
                return True, None
        current = current.__cause__ or current.__context__
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _full_folder(spill: bool, path: Path | None, releases: Path, temp: Path) -> Path | None:
    """The folder whose disk filled; None when it could be either of two."""
    temp_elsewhere = not _inside(temp, releases)
    if spill:
        return temp if temp_elsewhere else releases
    if path is None:
        return None if temp_elsewhere else releases
    if temp_elsewhere and _inside(path, temp):
        return temp
    return releases if _inside(path, releases) else path.parent


def _disk_full_message(
    stage: str, spill: bool, path: Path | None, releases: Path, temp: Path
) -> str:
    folder = _full_folder(spill, path, releases, temp)
    move_temp = "set build.temp_directory in partnership.yaml to a folder on a disk with more room"
    if folder is None:
        where = f"{releases} or {temp}"
        advice = f"Free space on those disks, or {move_temp}, then build again."
    elif folder == releases:
        where = f"{releases}, where releases are built"
        spills = f", and for the working data it spills there (or {move_temp})"
        advice = (
            "Free space on that disk, then build again: a build needs room for the new "
            f"release beside the current one{spills if _inside(temp, releases) else ''}."
        )
    elif folder == temp:
        where = f"{temp}, the build's temporary folder"
        advice = f"Free space on that disk, or {move_temp}, then build again."
    else:
        where = str(folder)
        advice = "Free space on that disk, then build again."
    return (
        f"The build stopped {_where(stage)}: the disk is full (no space left in {where}). "
        f"The previous release is still current. {advice}"
    )
