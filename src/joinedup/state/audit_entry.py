"""One audit entry: its fields, how it is hashed into the chain, and what it may hold.

An entry's hash is an HMAC-SHA256, keyed with the audit key, over its stored fields and
the hash of the entry before it (plain SHA-256 for the entries of a chain written before
the key, "legacy"). ``detail`` is JSON that never holds a person's identifying data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FORBIDDEN_DETAIL_KEYS",
    "GENESIS",
    "KEYED_ACTION",
    "SYSTEM_ACTOR",
    "AuditEntry",
    "Prepared",
    "at_text",
    "canonical",
    "entry_from_row",
    "entry_hash",
    "prepare",
    "stored_hash",
]

#: The "previous hash" of the first entry.
GENESIS = "0" * 64

#: The entry that keys an older, unkeyed chain: entries before it are legacy.
KEYED_ACTION = "audit_chain_keyed"
#: Who writes the entries the audit log writes itself (the keying entry).
SYSTEM_ACTOR = "joinedup"

#: Keys refused in ``detail``: they would put a person's identifying data in the log.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "name",
        "forename",
        "surname",
        "full_name",
        "dob",
        "date_of_birth",
        "postcode",
        "address",
        "nhs_number",
        "upn",
        "pnc_id",
        "local_id",
    }
)


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    purpose: str | None
    detail: dict[str, Any]
    agencies: tuple[str, ...]
    prev_hash: str
    hash: str


def at_text(at: dt.datetime) -> str:
    """How an entry's time is stored (and hashed): UTC, microseconds, ``Z``."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(detail: dict[str, Any]) -> str:
    """How ``detail`` is stored (and hashed): compact JSON with sorted keys."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _agencies_text(agencies: Iterable[str]) -> str:
    items = sorted(set(agencies))
    for a in items:
        if not a or "," in a:
            raise ValueError("agency ids in the audit log are non-empty and have no commas")
    return "," + ",".join(items) + "," if items else ""


def entry_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    target: str | None,
    purpose: str | None,
    detail: str,
    agencies: str,
    prev_hash: str,
    key: bytes | None = None,
) -> str:
    """The hash over an entry's stored fields and the previous entry's hash: HMAC-SHA256
    with the audit ``key``; without one, the plain SHA-256 of a legacy (unkeyed) chain."""
    body = json.dumps(
        [seq, at, actor, action, target, purpose, detail, agencies, prev_hash],
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def stored_hash(m: Any, key: bytes | None) -> str:
    """The hash a stored row (a mapping of ``audit_log``'s columns) should have."""
    return entry_hash(
        seq=m["seq"],
        at=m["at"],
        actor=m["actor"],
        action=m["action"],
        target=m["target"],
        purpose=m["purpose"],
        detail=m["detail"],
        agencies=m["agencies"],
        prev_hash=m["prev_hash"],
        key=key,
    )


def _check_detail(detail: dict[str, Any]) -> None:
    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise ValueError("audit detail keys must be text")
                if k.lower() in FORBIDDEN_DETAIL_KEYS:
                    raise ValueError(
                        f"audit detail may not hold '{k}': the log never holds a person's "
                        "identifying data; name the pseudonymous person id instead"
                    )
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        elif not (value is None or isinstance(value, str | int | float | bool)):
            raise ValueError("audit detail values must be JSON: text, numbers, lists, maps")

    walk(detail)


#: An entry ready to be chained: actor, action, target, purpose, detail, the detail as
#: stored, the agencies as stored.
Prepared = tuple[str, str, str | None, str | None, dict[str, Any], str, str]


def prepare(item: dict[str, Any]) -> Prepared:
    """Check one entry given as :meth:`AuditLog.append`'s keyword arguments and put it in
    the form it is stored in; a ``ValueError`` names what is wrong."""
    actor, action = item.get("actor"), item.get("action")
    if not actor or not action:
        raise ValueError("an audit entry needs an actor and an action")
    if action == KEYED_ACTION:
        raise ValueError(f"'{KEYED_ACTION}' entries are written by the audit log itself")
    detail = dict(item.get("detail") or {})
    _check_detail(detail)
    return (
        str(actor),
        str(action),
        item.get("target"),
        item.get("purpose"),
        detail,
        canonical(detail),
        _agencies_text(item.get("agencies") or ()),
    )


def entry_from_row(m: Any) -> AuditEntry:
    """The entry of a stored row (a mapping of ``audit_log``'s columns)."""
    return AuditEntry(
        seq=m["seq"],
        at=dt.datetime.fromisoformat(m["at"]),
        actor=m["actor"],
        action=m["action"],
        target=m["target"],
        purpose=m["purpose"],
        detail=json.loads(m["detail"]),
        agencies=tuple(a for a in m["agencies"].split(",") if a),
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )
