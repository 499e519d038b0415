"""Password hashing with Argon2id (argon2-cffi), and the rules a new password must meet."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "check_password_rules",
    "generate_password",
    "hash_password",
    "needs_rehash",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 12

# OWASP's recommended Argon2id settings (19 MiB, 2 passes, 1 lane) keep a sign-in under
# a tenth of a second on a small server while making offline guessing expensive.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

# A hash of a random password, checked when the username is unknown so that a failed
# sign-in takes as long whether or not the account exists.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def check_password_rules(password: str) -> list[str]:
    """What is wrong with a new password (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"use at least {MIN_PASSWORD_LENGTH} characters (three random words work)")
    if password.strip() != password:
        problems.append("do not start or end it with a space")
    if len(set(password)) < 4:
        problems.append("use more than three different characters")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; spends the same time when there is none."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def generate_password() -> str:
    """A random password of four groups, easy to type: for demo accounts and resets."""
    return "-".join(secrets.token_urlsafe(5) for _ in range(4))
