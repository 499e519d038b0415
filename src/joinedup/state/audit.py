"""The audit log: append-only and hash-chained, reached as ``State.audit``.

Each entry holds the SHA-256 of its own contents and of the entry before it, so editing,
deleting or reordering any entry breaks the chain at that entry. Removing entries from
the end is caught by the head: the last entry's number and hash, kept both in the
database (``audit_head``) and in a file beside it in the partnership folder
(``DIR/state/audit-head.json``), which someone editing the database alone cannot reach.
The database also refuses UPDATE and DELETE on the log (triggers).

Entries never hold a name, date of birth, postcode or identifier of a person: targets are
pseudonymous person ids, release ids, source ids, user names of staff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from joinedup.state.tables import audit_head, audit_log

_HEAD_FILE_LOCK = threading.Lock()

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditLog",
    "AuditProblem",
    "VerifyResult",
    "entry_hash",
]

GENESIS = "0" * 64

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


@dataclass(frozen=True)
class AuditProblem:
    """One break in the chain; ``seq`` is the entry number where it shows (None: the head)."""

    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    head_hash: str
    problems: list[AuditProblem] = field(default_factory=list)


def _at_text(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(detail: dict[str, Any]) -> str:
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
) -> str:
    """SHA-256 over an entry's stored fields and the previous entry's hash."""
    body = json.dumps(
        [seq, at, actor, action, target, purpose, detail, agencies, prev_hash],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


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


class AuditLog:
    """The audit log of one state database."""

    def __init__(
        self,
        session: Callable[[], AbstractContextManager[Session]],
        head_file: Path | None,
    ) -> None:
        self._session = session
        self._head_file = head_file

    def append(
        self,
        *,
        actor: str,
        action: str,
        target: str | None = None,
        purpose: str | None = None,
        detail: dict[str, Any] | None = None,
        agencies: Iterable[str] = (),
    ) -> AuditEntry:
        """Add one entry at the end of the chain and return it."""
        entry = {
            "actor": actor,
            "action": action,
            "target": target,
            "purpose": purpose,
            "detail": detail,
            "agencies": tuple(agencies),
        }
        return self.append_many([entry])[0]

    def append_many(self, items: Sequence[dict[str, Any]]) -> list[AuditEntry]:
        """Add several entries at the end of the chain in one transaction, in order (each
        item holds :meth:`append`'s keyword arguments): one write for a page that shows
        many people at once, chained exactly as the same appends one by one."""
        prepared = []
        for item in items:
            actor, action = item.get("actor"), item.get("action")
            if not actor or not action:
                raise ValueError("an audit entry needs an actor and an action")
            detail = dict(item.get("detail") or {})
            _check_detail(detail)
            prepared.append(
                (
                    str(actor),
                    str(action),
                    item.get("target"),
                    item.get("purpose"),
                    detail,
                    _canonical(detail),
                    _agencies_text(item.get("agencies") or ()),
                )
            )
        if not prepared:
            return []
        at = _at_text(dt.datetime.now(dt.UTC))
        out: list[AuditEntry] = []
        with self._session() as s:
            head = s.execute(
                select(audit_head.c.seq, audit_head.c.hash)
                .where(audit_head.c.id == 1)
                .with_for_update()
            ).one()
            seq, prev = head.seq, head.hash
            rows = []
            for actor, action, target, purpose, detail, detail_text, agencies_text in prepared:
                seq += 1
                digest = entry_hash(
                    seq=seq,
                    at=at,
                    actor=actor,
                    action=action,
                    target=target,
                    purpose=purpose,
                    detail=detail_text,
                    agencies=agencies_text,
                    prev_hash=prev,
                )
                rows.append(
                    {
                        "seq": seq,
                        "at": at,
                        "actor": actor,
                        "action": action,
                        "target": target,
                        "purpose": purpose,
                        "detail": detail_text,
                        "agencies": agencies_text,
                        "prev_hash": prev,
                        "hash": digest,
                    }
                )
                out.append(
                    AuditEntry(
                        seq=seq,
                        at=dt.datetime.fromisoformat(at),
                        actor=actor,
                        action=action,
                        target=target,
                        purpose=purpose,
                        detail=detail,
                        agencies=tuple(a for a in agencies_text.split(",") if a),
                        prev_hash=prev,
                        hash=digest,
                    )
                )
                prev = digest
            s.execute(insert(audit_log), rows)
            s.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=prev))
        self._write_head_file(seq, prev)
        return out

    def entries(
        self,
        *,
        actor: str | None = None,
        actions: Sequence[str] | None = None,
        target: str | None = None,
        agency: str | None = None,
        newest_first: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Entries, filtered; ``agency`` keeps those touching that agency's data."""
        t = audit_log
        q = select(t)
        if actor is not None:
            q = q.where(t.c.actor == actor)
        if actions is not None:
            q = q.where(t.c.action.in_(list(actions)))
        if target is not None:
            q = q.where(t.c.target == target)
        if agency is not None:
            q = q.where(t.c.agencies.like(f"%,{agency},%"))
        q = q.order_by(t.c.seq.desc() if newest_first else t.c.seq).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self._session() as s:
            return [_entry(r._mapping) for r in s.execute(q)]

    def count(self) -> int:
        with self._session() as s:
            return int(s.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar_one())

    def verify(self) -> VerifyResult:
        """Walk the whole chain; every edit, deletion or reordering is a problem."""
        problems: list[AuditProblem] = []
        prev_hash, expected = GENESIS, 1
        n = 0
        hashes: dict[int, str] = {}
        with self._session() as s:
            head = s.execute(select(audit_head.c.seq, audit_head.c.hash)).all()
            rows = s.execute(select(audit_log).order_by(audit_log.c.seq))
            for r in rows:
                m = r._mapping
                seq = m["seq"]
                n += 1
                if seq != expected:
                    span = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
                    problems.append(
                        AuditProblem(seq, f"entries {span} before it are missing (deleted)")
                        if seq > expected
                        else AuditProblem(seq, "is out of sequence")
                    )
                if m["prev_hash"] != prev_hash:
                    problems.append(
                        AuditProblem(
                            seq,
                            "does not follow on from the entry before it "
                            "(an entry was deleted, inserted or moved here)",
                        )
                    )
                digest = entry_hash(
                    seq=seq,
                    at=m["at"],
                    actor=m["actor"],
                    action=m["action"],
                    target=m["target"],
                    purpose=m["purpose"],
                    detail=m["detail"],
                    agencies=m["agencies"],
                    prev_hash=m["prev_hash"],
                )
                if digest != m["hash"]:
                    problems.append(
                        AuditProblem(seq, "was changed after it was written (hash mismatch)")
                    )
                hashes[seq] = m["hash"]
                prev_hash, expected = m["hash"], seq + 1
        last_seq = expected - 1
        if len(head) != 1:
            problems.append(AuditProblem(None, "the audit head record is missing or repeated"))
        else:
            head_seq, head_hash = head[0]
            if head_seq != last_seq or (head_seq and hashes.get(head_seq) != head_hash):
                problems.append(
                    AuditProblem(
                        None,
                        f"the log ends at entry {last_seq} but its head records entry "
                        f"{head_seq} (entries removed from the end, or the head edited)",
                    )
                )
        problems.extend(self._check_head_file(hashes, last_seq))
        return VerifyResult(ok=not problems, entries=n, head_hash=prev_hash, problems=problems)

    # The head file: outside the database, so truncation needs two places edited.

    def _read_head_file(self) -> dict[str, Any] | None:
        if self._head_file is None or not self._head_file.is_file():
            return None
        try:
            data = json.loads(self._head_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"seq": -1, "hash": ""}
        return data if isinstance(data, dict) else {"seq": -1, "hash": ""}

    def _write_head_file(self, seq: int, digest: str) -> None:
        if self._head_file is None:
            return
        # Threads of one server append at once: one at a time here, so a later entry's
        # head is never overwritten by an earlier one, and a temporary file of its own
        # per thread, so one thread's rename cannot take another's file away.
        with _HEAD_FILE_LOCK:
            current = self._read_head_file()
            if current is not None and isinstance(current.get("seq"), int):
                if current["seq"] >= seq:
                    return
            self._head_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self._head_file.with_name(
                f".{self._head_file.name}.{os.getpid()}.{threading.get_ident()}"
            )
            tmp.write_text(json.dumps({"seq": seq, "hash": digest}) + "\n", encoding="utf-8")
            os.replace(tmp, self._head_file)

    def _check_head_file(self, hashes: dict[int, str], last_seq: int) -> list[AuditProblem]:
        data = self._read_head_file()
        if data is None:
            return []
        seq, digest = data.get("seq"), data.get("hash")
        if not isinstance(seq, int) or seq < 0 or not isinstance(digest, str):
            return [AuditProblem(None, f"the head file {self._head_file} is not readable")]
        if seq == 0:
            return []
        if seq > last_seq:
            return [
                AuditProblem(
                    None,
                    f"the head file records entry {seq} but the log ends at entry {last_seq} "
                    "(entries removed from the end)",
                )
            ]
        if hashes.get(seq) != digest:
            return [AuditProblem(seq, "does not match the hash recorded in the head file")]
        return []


def _entry(m: Any) -> AuditEntry:
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
