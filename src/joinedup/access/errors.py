"""Errors of access control.

JoinedupError
└── AccessError          something about users, sign-in or permissions
    ├── UserError        a user cannot be created or changed as asked
    ├── SignInError      a sign-in was refused (``reason`` says why, for the audit)
    └── Forbidden        the user may not do this (``status`` 401 or 403)
"""

from __future__ import annotations

from joinedup.errors import JoinedupError

__all__ = ["AccessError", "Forbidden", "SignInError", "UserError"]


class AccessError(JoinedupError):
    """Something about users, sign-in or permissions."""


class UserError(AccessError):
    """A user cannot be created or changed as asked."""


class SignInError(AccessError):
    """A sign-in was refused. ``reason`` is a short code kept in the audit log."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Forbidden(AccessError):
    """The user may not do this: 401 when not signed in, 403 otherwise."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status
