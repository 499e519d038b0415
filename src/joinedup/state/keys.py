"""The partnership's secret, and the keys derived from it that state uses.

The secret is a file in the partnership folder (``DIR/.joinedup-secret`` unless
partnership.yaml's ``secret_file`` names another), mode 0600, made on first use: the
same file the build reads as its pseudonymisation key. It is never stored in the
database, so the audit chain's key (derived from it, never the secret itself) is out of
reach of someone who can only change the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

import yaml

from joinedup.errors import ConfigError, JoinedupError

__all__ = [
    "AUDIT_KEY_LABEL",
    "DEFAULT_SECRET_FILE",
    "audit_key",
    "key_fingerprint",
    "partnership_secret",
    "read_or_make_secret",
    "secret_path",
]

DEFAULT_SECRET_FILE = ".joinedup-secret"

#: What the audit chain's key is derived with: HMAC-SHA256(secret, label).
AUDIT_KEY_LABEL = b"joinedup audit-chain v1"


def secret_path(partnership_dir: Path) -> Path:
    """Where the partnership's secret lives: partnership.yaml's ``secret_file`` (read on
    its own, as the state's ``app_state`` is), else ``DIR/.joinedup-secret``."""
    base = Path(partnership_dir)
    name = DEFAULT_SECRET_FILE
    cfg = base / "partnership.yaml"
    if cfg.is_file():
        try:
            raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg} cannot be read as YAML; run `joinedup check`.") from exc
        value = raw.get("secret_file") if isinstance(raw, dict) else None
        if isinstance(value, str) and value.strip():
            name = value.strip()
    return base / name


def partnership_secret(partnership_dir: Path) -> bytes:
    """The partnership's secret, made (0600, never replaced) when there is none yet."""
    return read_or_make_secret(secret_path(partnership_dir))


#: How long a secret file too short to be whole may still be being written by another
#: process (an older joinedup wrote it in place), and how long a reader waits for it.
SETTLING_SECONDS = 2.0
_RETRY_SECONDS = 0.02


def read_or_make_secret(
    path: Path,
    *,
    error: type[JoinedupError] = JoinedupError,
    what: str = "the partnership's secret",
) -> bytes:
    """The secret in ``path``, made first when there is none: every process that comes
    here at once reads the same, complete secret.

    A new secret is written whole to a temporary file (0600) in the same folder, then
    linked to ``path``, which fails when another process linked its own first: exactly
    one wins and the others read the winner's complete file (a file is never seen half
    written). A file too short to be a secret that was changed within the last few
    seconds is read again for a moment before it is refused.
    """
    path = Path(path)
    if not path.exists():
        _make_secret(path)
    deadline = time.monotonic() + SETTLING_SECONDS
    while True:
        try:
            key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise error(
                f"{what.capitalize()} {path} cannot be read ({type(exc).__name__}); it must "
                "be a text file readable by the user running joinedup (mode 0600)."
            ) from exc
        if len(key) >= 32:
            return key.encode()
        if time.monotonic() < deadline and _recently_changed(path):
            time.sleep(_RETRY_SECONDS)
            continue
        raise error(
            f"{path} is too short to be {what}; restore the partnership's secret from its "
            "backup (a new one changes person ids and cannot verify the audit log written "
            "with the old one)."
        )


def _recently_changed(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime < SETTLING_SECONDS
    except OSError:
        return False


def _make_secret(path: Path) -> None:
    """Put a new secret at ``path`` unless one is there: written whole first, then linked
    into place with a call that fails when the name is taken (one process wins)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = (secrets.token_hex(32) + "\n").encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it a moment ago: read theirs
        except OSError:
            _make_secret_in_place(path, body)  # a file system without hard links
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _make_secret_in_place(path: Path, body: bytes) -> None:
    """Where hard links are refused: create exclusively and write (readers of a file
    written this way wait for it while it is too short and new)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.write(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)


def audit_key(partnership_dir: Path) -> bytes:
    """The audit chain's HMAC key: derived from the partnership's secret, never it raw."""
    return hmac.new(partnership_secret(partnership_dir), AUDIT_KEY_LABEL, hashlib.sha256).digest()


def key_fingerprint(key: bytes) -> str:
    """A short name for a key that reveals nothing of it (shown by ``audit verify``)."""
    return hmac.new(key, b"joinedup key fingerprint", hashlib.sha256).hexdigest()[:16]
