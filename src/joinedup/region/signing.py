"""Signing packs: a partnership signs its pack's manifest with its own Ed25519 key; the
region verifies it with the public key written for that partnership in region.yaml.

Why Ed25519 (``cryptography``, the Python Cryptographic Authority's library) rather than
an HMAC key the region shares: with a shared secret, anyone who can check a pack can
also forge one, so every partnership (and the region) could make a pack that looks like
any other's. With a key pair, only the partnership holds what signs; the region, and
anyone else, holds only what checks. A lost private key is replaced by a new pair and a
new line in region.yaml; nothing else changes.

The private key lives at ``DIR/state/pack_signing_key.pem`` (read by its owner only) and is
made on the first ``joinedup pack``.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from joinedup.errors import ConfigError

__all__ = [
    "KEY_FILE",
    "load_or_make_key",
    "public_key_text",
    "sign",
    "verify",
]

KEY_FILE = Path("state") / "pack_signing_key.pem"
_PREFIX = "ed25519:"


def load_or_make_key(partnership_dir: Path) -> Ed25519PrivateKey:
    """The partnership's signing key, made (and saved, owner-only) on first use."""
    path = Path(partnership_dir) / KEY_FILE
    if path.is_file():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(
                f"{path} is not an Ed25519 private key. Move it aside and run `joinedup pack` "
                "again to make a new key, then give the region the new public key."
            )
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """``ed25519:BASE64``: the form region.yaml holds."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _PREFIX + base64.b64encode(raw).decode("ascii")


def _public(text: str) -> Ed25519PublicKey:
    if not text.startswith(_PREFIX):
        raise ConfigError("A pack's public_key in region.yaml must start with 'ed25519:'.")
    try:
        raw = base64.b64decode(text[len(_PREFIX) :], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ConfigError(
            "A pack's public_key in region.yaml is not a valid Ed25519 key: copy it again "
            "from the output of `joinedup pack DIR`."
        ) from exc


def sign(key: Ed25519PrivateKey, data: bytes) -> str:
    """The signature of ``data``, base64."""
    return base64.b64encode(key.sign(data)).decode("ascii")


def verify(public_key: str, data: bytes, signature: str) -> bool:
    """True when ``signature`` (base64) is ``public_key``'s signature of ``data``."""
    key = _public(public_key)
    try:
        key.verify(base64.b64decode(signature.strip(), validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True
