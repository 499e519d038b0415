"""Reading a pack the way a region must: signature first, then every file's hash.

A pack is refused (:class:`PackRefused`, nothing built) when its manifest is missing or
not signed by the key region.yaml holds for that partnership, when a file is missing or
its SHA-256 differs from the signed manifest (one number changed is enough), or when it
is not a pack joinedup can read. The message names the pack, the file and what to do.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from joinedup.config.region import PackEntry
from joinedup.errors import JoinedupError
from joinedup.region.pack import FORMAT, PACK_FILES
from joinedup.region.signing import verify

__all__ = ["Pack", "PackRefused", "read_pack"]


class PackRefused(JoinedupError):
    """A pack the region cannot trust or read: nothing is built from it."""


@dataclass(frozen=True)
class Pack:
    """A verified pack: its manifest and its tables as rows."""

    entry: PackEntry
    folder: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    tables: dict[str, list[dict[str, Any]]]

    @property
    def id(self) -> str:
        return self.entry.id


def _refuse(entry: PackEntry, folder: Path, what: str, fix: str) -> PackRefused:
    return PackRefused(f"Pack '{entry.id}' ({folder}) is refused: {what}. {fix}")


_REPUBLISH = (
    "Nothing was built. Ask {name} to publish the pack again with `joinedup pack DIR` "
    "and to deliver the folder unchanged."
)


def read_pack(entry: PackEntry, region_dir: Path) -> Pack:
    """The pack at ``entry.path`` (relative to the region folder), verified."""
    folder = Path(entry.path)
    if not folder.is_absolute():
        folder = Path(region_dir) / folder
    again = _REPUBLISH.format(name=entry.name)
    manifest_path, sig_path = folder / "manifest.json", folder / "manifest.sig"
    if not manifest_path.is_file() or not sig_path.is_file():
        raise _refuse(
            entry, folder, "it has no manifest.json and manifest.sig",
            f"Deliver the whole pack folder written by `joinedup pack` there. {again}",
        )  # fmt: skip
    body = manifest_path.read_bytes()
    if not verify(entry.public_key, body, sig_path.read_text(encoding="ascii", errors="replace")):
        raise _refuse(
            entry, folder,
            "its manifest is not signed by the key region.yaml holds for this partnership "
            "(the manifest was changed, or the pack was signed with another key)",
            f"If {entry.name} has a new key, put the public key `joinedup pack` printed into "
            f"region.yaml. {again}",
        )  # fmt: skip
    try:
        manifest = json.loads(body)
    except ValueError:
        raise _refuse(entry, folder, "manifest.json is not JSON", again) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse(
            entry, folder, f"it is not a {FORMAT} pack",
            "Upgrade joinedup where the region is built, or ask for a pack in this format.",
        )  # fmt: skip
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise _refuse(entry, folder, "its manifest lists no files", again)
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in PACK_FILES:
        file = f"{name}.parquet"
        path = folder / file
        if file not in files:
            raise _refuse(entry, folder, f"its manifest does not list {file}", again)
        if not path.is_file():
            raise _refuse(entry, folder, f"{file} is missing", again)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != files[file]:
            raise _refuse(
                entry, folder,
                f"{file} does not match the SHA-256 in its signed manifest, so it was changed "
                "after the partnership signed it",
                again,
            )  # fmt: skip
        tables[name] = pq.read_table(path).to_pylist()
    return Pack(entry, folder, manifest, hashlib.sha256(body).hexdigest(), tables)
