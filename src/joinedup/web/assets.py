"""Front-end assets from pinned npm packages, installed reproducibly at set-up.

The web app serves GOV.UK Frontend's compiled CSS and JavaScript from its own static
folder: no CDN at run time, and no npm on a user's machine. ``make setup`` runs
``python -m joinedup.web.assets``, which for each package in ``assets.lock.json``:

1. downloads the tarball from the npm registry over HTTPS, by exact version
   (``JOINEDUP_NPM_REGISTRY`` points at a mirror; the integrity check still applies);
2. checks the tarball against the registry's ``dist.integrity`` SHA-512 pinned in the
   lock file, and refuses it on any difference;
3. extracts only the files the lock names, checks each one's SHA-256, and writes them
   atomically into a git-ignored folder (``web/static/vendor/NAME/`` for the app,
   ``<venv>/share/joinedup/NAME/`` for ``--dev`` packages such as axe-core for tests).

Files already in place with the pinned SHA-256 are left alone, so the command is cheap
to run on every ``make``. Fonts and images are not extracted: joinedup is not a GOV.UK
service and uses the system font stack (``joinedup.css`` overrides the font family).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from joinedup.errors import JoinedupError
from joinedup.present.assets import VENDOR_DIR

__all__ = [
    "LOCK_FILE",
    "VENDOR_DIR",
    "AssetError",
    "AssetPackage",
    "asset_dir",
    "ensure_assets",
    "extract_verified",
    "load_lock",
    "missing_assets",
    "verify_integrity",
]

LOCK_FILE = Path(__file__).with_name("assets.lock.json")
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
_TIMEOUT = 60


class AssetError(JoinedupError):
    """A front-end asset could not be fetched, or did not match its pinned checksum."""


@dataclass(frozen=True)
class AssetFile:
    member: str  # path inside the tarball
    to: str  # file name in the package's asset folder
    sha256: str


@dataclass(frozen=True)
class AssetPackage:
    name: str
    version: str
    tarball: str  # path under the registry
    integrity: str  # "sha512-<base64>"
    target: str  # "static" (served by the app) or "dev" (tests only)
    files: tuple[AssetFile, ...]


def load_lock(path: Path = LOCK_FILE) -> dict[str, AssetPackage]:
    """The pinned packages of ``assets.lock.json``."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for name, p in doc["packages"].items():
        files = tuple(
            AssetFile(member, str(f["to"]), str(f["sha256"])) for member, f in p["files"].items()
        )
        out[name] = AssetPackage(
            name=name,
            version=str(p["version"]),
            tarball=str(p["tarball"]),
            integrity=str(p["integrity"]),
            target=str(p["target"]),
            files=files,
        )
    return out


def asset_dir(package: AssetPackage) -> Path:
    """Where a package's files go: the app's static folder, or the venv for dev ones."""
    if package.target == "static":
        return VENDOR_DIR / package.name
    return Path(sys.prefix) / "share" / "joinedup" / package.name


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def missing_assets(package: AssetPackage, folder: Path | None = None) -> list[str]:
    """File names of ``package`` that are absent from ``folder`` or differ from the lock."""
    folder = folder or asset_dir(package)
    return [
        f.to
        for f in package.files
        if not (folder / f.to).is_file() or _sha256(folder / f.to) != f.sha256
    ]


def verify_integrity(data: bytes, integrity: str) -> None:
    """Raise AssetError unless ``data`` has the npm ``dist.integrity`` (``sha512-...``)."""
    algo, _, expected = integrity.partition("-")
    if algo != "sha512" or not expected:
        raise AssetError(f"Unsupported integrity '{integrity[:16]}...': expected sha512-<base64>.")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
    if actual != expected:
        raise AssetError(
            "The downloaded tarball does not match the SHA-512 pinned in "
            f"{LOCK_FILE.name} (got sha512-{actual[:12]}...). Nothing was installed. "
            "Check JOINEDUP_NPM_REGISTRY and any proxy; never edit the pin to make it pass."
        )


def _download(package: AssetPackage, registry: str | None = None) -> bytes:
    base = registry or os.environ.get("JOINEDUP_NPM_REGISTRY") or DEFAULT_REGISTRY
    url = base.rstrip("/") + "/" + package.tarball
    if not url.startswith("https://"):
        raise AssetError(f"Refusing to fetch {package.name} over plain HTTP ({url}).")
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as resp:
            data: bytes = resp.read()
    except OSError as exc:
        raise AssetError(
            f"Could not download {package.name} {package.version} from {url} "
            f"({type(exc).__name__}: {exc}). Check the network or proxy (HTTPS_PROXY), or "
            "set JOINEDUP_NPM_REGISTRY to your npm mirror, then run `make setup` again."
        ) from exc
    return data


def extract_verified(package: AssetPackage, data: bytes, folder: Path) -> list[Path]:
    """Check ``data`` (the tarball) against the lock, then write the named files.

    Each file's SHA-256 is checked before any is written; files are written atomically.
    """
    verify_integrity(data, package.integrity)
    contents: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for f in package.files:
            try:
                member = tar.getmember(f.member)
            except KeyError:
                raise AssetError(
                    f"{package.name} {package.version} has no {f.member}; fix {LOCK_FILE.name}."
                ) from None
            stream = tar.extractfile(member) if member.isfile() else None
            if stream is None:
                raise AssetError(f"{package.name}: {f.member} is not a regular file.")
            body = stream.read()
            if hashlib.sha256(body).hexdigest() != f.sha256:
                raise AssetError(
                    f"{package.name}: {f.member} does not match its SHA-256 in {LOCK_FILE.name}."
                )
            contents[f.to] = body
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in contents.items():
        target = folder / name
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        written.append(target)
    return written


def ensure_assets(
    *, dev: bool = False, names: Iterable[str] | None = None, registry: str | None = None
) -> dict[str, Path]:
    """Install every pinned package that is missing or changed; return their folders.

    ``dev`` also installs the packages only tests need (axe-core).
    """
    lock = load_lock()
    wanted = list(names) if names is not None else list(lock)
    out = {}
    for name in wanted:
        package = lock[name]
        if package.target == "dev" and not dev and names is None:
            continue
        folder = asset_dir(package)
        if missing_assets(package, folder):
            extract_verified(package, _download(package, registry), folder)
        out[name] = folder
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m joinedup.web.assets", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dev", action="store_true", help="Also install test-only packages.")
    parser.add_argument(
        "--check", action="store_true", help="Only report what is missing (exit 1 if any)."
    )
    args = parser.parse_args(argv)
    lock = load_lock()
    if args.check:
        missing = [
            f"{n}/{f}"
            for n, p in lock.items()
            if args.dev or p.target != "dev"
            for f in missing_assets(p)
        ]
        for m in missing:
            sys.stderr.write(f"missing or changed: {m}\n")
        return 1 if missing else 0
    try:
        ensure_assets(dev=args.dev)
    except AssetError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
