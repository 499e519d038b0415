"""A build that stops says why in words a data lead can act on (issue 11, item 10).

A full disk names the folder that filled and what to do; another database error names
the stage it happened in and claims no cause. Each stage is made to fail with the
exception DuckDB or the operating system really raises.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from joinedup.errors import BuildError
from joinedup.pipeline import build
from joinedup.pipeline.failures import build_failure
from joinedup.release import current_release_id, list_releases

# DuckDB 2.0's words when the disk under its temporary folder fills while it spills
SPILL_FULL = (
    "Out of Memory Error: failed to offload data block of size 256.0 KiB (1.8 MiB/1.9 MiB "
    "used).\nThis limit was set by the 'max_temp_directory_size' setting.\nBy default, this "
    "setting utilizes the available disk space on the drive where the 'temp_directory' is "
    "located."
)


def _raise(exc: BaseException) -> Any:
    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


def _no_debris(mini: Path) -> None:
    assert not list((mini / "releases").glob(".building-*"))


def test_full_disk_while_spilling_names_the_temporary_folder(
    mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build(mini)
    spill = tmp_path / "spill"
    with (mini / "partnership.yaml").open("a") as fh:
        fh.write(f"\nbuild:\n  temp_directory: {spill}\n")
    monkeypatch.setattr(
        "joinedup.pipeline.link.link_stage", _raise(duckdb.OutOfMemoryException(SPILL_FULL))
    )
    with pytest.raises(BuildError) as info:
        build(mini)
    assert str(info.value) == (
        f"The build stopped in the link stage: the disk is full (no space left in {spill}, "
        "the build's temporary folder). The previous release is still current. Free space "
        "on that disk, or set build.temp_directory in partnership.yaml to a folder on a disk "
        "with more room, then build again."
    )
    assert current_release_id(mini) == first.release.release_id
    assert [r.release_id for r in list_releases(mini)] == [first.release.release_id]
    _no_debris(mini)


def test_full_disk_writing_the_release_names_the_releases_folder(
    mini: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(con: object, cfg: object, *, out_dir: Path, **kwargs: object) -> None:
        raise duckdb.IOException(
            f'IO Error: Could not write file "{out_dir / "release.duckdb.wal"}": '
            "No space left on device"
        )

    monkeypatch.setattr("joinedup.pipeline.quality.run_quality", fail)
    with pytest.raises(BuildError) as info:
        build(mini)
    assert str(info.value) == (
        f"The build stopped in the quality stage: the disk is full (no space left in "
        f"{mini / 'releases'}, where releases are built). The previous release is still "
        "current. Free space on that disk, then build again: a build needs room for the new "
        "release beside the current one, and for the working data it spills there (or set "
        "build.temp_directory in partnership.yaml to a folder on a disk with more room)."
    )
    assert current_release_id(mini) is None
    _no_debris(mini)


def test_full_disk_while_publishing_is_reported_as_a_full_disk(
    mini: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = mini / "releases" / ".CURRENT.tmp"
    monkeypatch.setattr(
        "joinedup.pipeline.publish.publish",
        _raise(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(current))),
    )
    with pytest.raises(BuildError) as info:
        build(mini)
    assert str(info.value).startswith(
        "The build stopped in the publish stage: the disk is full (no space left in "
        f"{mini / 'releases'}, where releases are built). The previous release is still current."
    )
    assert current_release_id(mini) is None


def test_other_database_errors_name_the_stage_and_claim_no_cause(
    mini: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "joinedup.pipeline.link.link_stage",
        _raise(duckdb.InvalidInputException("Invalid Input Error: a value from a row")),
    )
    with pytest.raises(BuildError) as info:
        build(mini)
    assert str(info.value) == (
        "The build stopped on a database error in the link stage (InvalidInputException); "
        "the previous release is still current."
    )
    _no_debris(mini)


def test_a_database_error_while_mapping_points_to_check(
    mini: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "joinedup.pipeline.mapping.map_source",
        _raise(duckdb.ConversionException("Conversion Error: a value from a row")),
    )
    with pytest.raises(BuildError) as info:
        build(mini)
    assert str(info.value) == (
        "The build stopped on a database error in the map stage (ConversionException); the "
        "previous release is still current. Run `joinedup check` to look for a mapping problem."
    )
    _no_debris(mini)


def test_a_full_disk_that_could_be_either_folder_names_both(tmp_path: Path) -> None:
    releases, temp = tmp_path / "p" / "releases", tmp_path / "spill"
    exc = duckdb.IOException("IO Error: write failed: No space left on device")
    failure = build_failure(exc, stage="derive", releases=releases, temp=temp)
    assert failure is not None
    assert str(failure) == (
        f"The build stopped in the derive stage: the disk is full (no space left in "
        f"{releases} or {temp}). The previous release is still current. Free space on those "
        "disks, or set build.temp_directory in partnership.yaml to a folder on a disk with "
        "more room, then build again."
    )
    # a full disk found behind another exception is still a full disk
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("writing the report failed") from inner
    except RuntimeError as outer:
        wrapped = build_failure(outer, stage="quality", releases=releases, temp=temp)
    assert wrapped is not None and "the disk is full" in str(wrapped)
    # errors that are not about the disk or the database pass through unchanged
    assert build_failure(ValueError("x"), stage="map", releases=releases, temp=temp) is None
    assert build_failure(KeyboardInterrupt(), stage="map", releases=releases, temp=temp) is None
