"""Regional users and their roles, and signed session cookies for the regional pages.

Two roles, as a partnership has analysts and board members:

- ``regional_board_member``: the regional figures, the lineage and the board report;
- ``regional_analyst``: all of that, and the comparability page (every recording
  measure behind the notes) and the partnerships' local columns.

Users live in ``REGION_DIR/state/users.json`` with Argon2id password hashes
(:mod:`joinedup.access.passwords`); a session is a cookie signed with HMAC-SHA256 under a
key kept in ``REGION_DIR/state/session.key`` (owner-only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

from joinedup.access.passwords import check_password_rules, hash_password, verify_password
from joinedup.errors import ConfigError

__all__ = [
    "ROLES",
    "add_region_user",
    "check_region_user",
    "init_region",
    "read_session",
    "session_cookie",
]

ROLES = ("regional_analyst", "regional_board_member")
_SESSION_SECONDS = 8 * 3600


def _state(region_dir: Path) -> Path:
    path = Path(region_dir) / "state"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def init_region(region_dir: Path, *, name: str) -> Path:
    """Write ``REGION_DIR/region.yaml`` for a new region (refused if one exists)."""
    from joinedup.config.region import REGION_FILE, region_yaml

    path = Path(region_dir) / REGION_FILE
    if path.exists():
        raise ConfigError(f"{path} already exists: edit it rather than starting again.")
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "packs").mkdir(exist_ok=True)
    path.write_text(region_yaml(name), encoding="utf-8")
    return path


def _users(region_dir: Path) -> dict[str, dict[str, str]]:
    path = Path(region_dir) / "state" / "users.json"
    if not path.is_file():
        return {}
    data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def add_region_user(region_dir: Path, username: str, *, role: str, password: str) -> None:
    """Add or reset a regional user."""
    if role not in ROLES:
        raise ConfigError(f"role must be one of: {', '.join(ROLES)}.")
    if not username.isidentifier() or len(username) > 60:
        raise ConfigError("A username uses letters, digits and _ only (at most 60).")
    problems = check_password_rules(password)
    if problems:
        raise ConfigError("The password is not accepted: " + "; ".join(problems))
    users = _users(region_dir)
    users[username] = {"role": role, "password": hash_password(password)}
    path = _state(region_dir) / "users.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(users, indent=1, sort_keys=True), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def check_region_user(region_dir: Path, username: str, password: str) -> str | None:
    """The user's role when the password is right, else None."""
    user = _users(region_dir).get(username)
    if user is None:
        verify_password(None, password)  # the same work either way
        return None
    return user["role"] if verify_password(user["password"], password) else None


def _key(region_dir: Path) -> bytes:
    path = _state(region_dir) / "session.key"
    if not path.is_file():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def session_cookie(region_dir: Path, username: str, role: str) -> str:
    body = base64.urlsafe_b64encode(
        json.dumps({"u": username, "r": role, "t": int(time.time())}).encode()
    ).decode()
    mac = hmac.new(_key(region_dir), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def read_session(region_dir: Path, cookie: str | None) -> tuple[str, str] | None:
    """(username, role) of a valid, unexpired session cookie, else None."""
    if not cookie or "." not in cookie:
        return None
    body, mac = cookie.rsplit(".", 1)
    good = hmac.new(_key(region_dir), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(good, mac):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    if time.time() - int(data["t"]) > _SESSION_SECONDS or data["r"] not in ROLES:
        return None
    if data["u"] not in _users(region_dir):
        return None
    return str(data["u"]), str(data["r"])
