"""The audit log: append-only and hash-chained with a key, reached as ``State.audit``.

Each entry holds an HMAC-SHA256 of its own contents and of the entry before it, keyed
with the audit key: derived from the partnership's secret (``DIR/.joinedup-secret``),
which is never in the database. Editing, deleting or reordering any entry breaks the
chain at that entry, and an entry forged by someone who can change the database but not
read the secret fails verification, whatever hash they give it. Removing entries from
the end is caught by the head: the last entry's number and hash, kept both in the
database (``audit_head``) and in a file beside it in the partnership folder
(``DIR/state/audit-head.json``, made when the database is made); a missing head file is
a failure. The database also refuses UPDATE and DELETE on the log (triggers).

Chains written before the key (plain SHA-256, "legacy") are kept and checked as they
were: the first write by this version appends an ``audit_chain_keyed`` entry (keyed,
naming how many legacy entries come before it) and keys everything from there on;
``verify`` reports the legacy entries separately and never lets an unkeyed entry
stand after that point. A chain is keyed this way only when the head file (from the
older version) agrees with the database, so an attacker cannot pass off a rewritten
chain as legacy by deleting the head file.

Entries never hold a name, date of birth, postcode or identifier of a person: targets are
pseudonymous person ids, release ids, source ids, user names of staff.

The parts: one entry, its hash and what it may hold (``audit_entry``); walking the chain
(``audit_verify``); the head file (``audit_head``); appending and reading here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from joinedup.state.audit_entry import (
    GENESIS,
    KEYED_ACTION,
    SYSTEM_ACTOR,
    AuditEntry,
    Prepared,
    at_text,
    canonical,
    entry_from_row,
    entry_hash,
    prepare,
    stored_hash,
)
from joinedup.state.audit_head import HeadFile
from joinedup.state.audit_verify import AuditProblem, VerifyResult, walk_chain
from joinedup.state.keys import key_fingerprint
from joinedup.state.tables import audit_head, audit_log

log = logging.getLogger(__name__)

__all__ = [
    "GENESIS",
    "KEYED_ACTION",
    "AuditEntry",
    "AuditLog",
    "AuditProblem",
    "VerifyResult",
    "entry_hash",
]


class AuditLog:
    """The audit log of one state database.

    ``key`` gives the audit key (called once, when first needed): see
    :func:`joinedup.state.keys.audit_key`.
    """

    def __init__(
        self,
        session: Callable[[], AbstractContextManager[Session]],
        head_file: Path | None,
        key: Callable[[], bytes],
        *,
        read: Callable[[], AbstractContextManager[Session]] | None = None,
    ) -> None:
        self._session = session
        self._read = read or session  # a session that only reads (State.read)
        self._head = HeadFile(head_file)
        self._key_source = key
        self._key: bytes | None = None
        self._keyed = False  # the chain's last entry is known to be keyed

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = self._key_source()
        return self._key

    @property
    def key_fingerprint(self) -> str:
        """A short name of the audit key (never the key)."""
        return key_fingerprint(self.key)

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
        prepared = [prepare(item) for item in items]
        if not prepared:
            return []
        written = self._write(prepared)
        return written[len(written) - len(prepared) :]

    def key_chain(self) -> AuditEntry | None:
        """Key a chain written by an older joinedup (unkeyed) now, if it is one and the
        head file agrees with the database: the ``audit_chain_keyed`` entry written, or
        None when there was nothing to do (``joinedup audit verify`` calls this first;
        every append does the same)."""
        self._keyed = False  # look again, whatever this process last wrote
        written = self._write([])
        return written[0] if written else None

    def _write(self, prepared: list[Prepared]) -> list[AuditEntry]:
        key = self.key
        at = at_text(dt.datetime.now(dt.UTC))
        out: list[AuditEntry] = []
        with self._session() as s:
            head = s.execute(
                select(audit_head.c.seq, audit_head.c.hash)
                .where(audit_head.c.id == 1)
                .with_for_update()
            ).one()
            start_seq, seq, prev = head.seq, head.seq, head.hash
            keyed_now = self._needs_keying(s, seq, prev)
            if keyed_now:
                detail = {
                    "legacy_entries": seq,
                    "scheme": "hmac-sha256",
                    "key": key_fingerprint(key),
                }
                prepared = [
                    (SYSTEM_ACTOR, KEYED_ACTION, None, None, detail, canonical(detail), ""),
                    *prepared,
                ]
            if not prepared:
                return []
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
                    key=key,
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
        self._keyed = True
        keyed_from = start_seq + 1 if keyed_now else (1 if start_seq == 0 else None)
        self._head.advance(seq, prev, keyed_from=keyed_from)
        return out

    def _needs_keying(self, s: Session, head_seq: int, head_hash: str) -> bool:
        """Whether this write must first key an older joinedup's unkeyed chain: its last
        entry has a plain SHA-256 hash, and the head file the older version wrote agrees
        with the database (without that agreement a rewritten chain could pass for a
        legacy one; its entries are left for :meth:`verify` to report)."""
        if self._keyed or head_seq == 0:
            return False
        last = s.execute(select(audit_log).where(audit_log.c.seq == head_seq)).first()
        if last is None:
            return False
        m = last._mapping
        if m["hash"] != head_hash or stored_hash(m, self.key) == m["hash"]:
            return False
        if stored_hash(m, None) != m["hash"]:
            return False
        found = self._head.read()
        if found is None or "keyed_from" in found:
            log.warning(
                "The audit log's last entry is unkeyed but the head file does not show a "
                "chain from an older joinedup; not keying it. Run `joinedup audit verify`."
            )
            return False
        file_seq, file_hash = found.get("seq"), found.get("hash")
        if not isinstance(file_seq, int) or not 0 <= file_seq <= head_seq:
            return False
        if file_seq == 0:
            return False  # an older joinedup wrote entries here: its file would record them
        at_file = s.execute(
            select(audit_log.c.hash).where(audit_log.c.seq == file_seq)
        ).scalar_one_or_none()
        return bool(at_file == file_hash)

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
        since: dt.datetime | None = None,
        before: dt.datetime | None = None,
    ) -> list[AuditEntry]:
        """Entries, filtered; ``agency`` keeps those touching that agency's data;
        ``since`` and ``before`` those written in that time (at or after, before)."""
        t = audit_log
        q = select(t)
        if since is not None:  # stored as fixed-width UTC text (at_text): compared as text
            q = q.where(t.c.at >= at_text(since))
        if before is not None:
            q = q.where(t.c.at < at_text(before))
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
        with self._read() as s:
            return [entry_from_row(r._mapping) for r in s.execute(q)]

    def grouped(
        self, *, agency: str, since: dt.datetime, before: dt.datetime
    ) -> list[tuple[AuditEntry, int]]:
        """Entries touching ``agency``'s data written in ``[since, before)``, alike ones
        (same actor, action, target, purpose, detail and agencies) counted together: each
        with how many there were, the first's time and number. For reports that count
        uses (``joinedup.views.usage``) without reading a busy month entry by entry."""
        t = audit_log
        q = (
            select(
                func.min(t.c.seq).label("seq"),
                func.min(t.c.at).label("at"),
                t.c.actor,
                t.c.action,
                t.c.target,
                t.c.purpose,
                t.c.detail,
                t.c.agencies,
                func.count().label("n"),
            )
            .where(t.c.at >= at_text(since), t.c.at < at_text(before))
            .where(t.c.agencies.like(f"%,{agency},%"))
            .group_by(t.c.actor, t.c.action, t.c.target, t.c.purpose, t.c.detail, t.c.agencies)
            .order_by(func.min(t.c.seq))
        )
        with self._read() as s:
            return [
                (entry_from_row({**r._mapping, "prev_hash": "", "hash": ""}), int(r.n))
                for r in s.execute(q)
            ]

    def count(self) -> int:
        with self._session() as s:
            return int(s.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar_one())

    def verify(self) -> VerifyResult:
        """Walk the whole chain; every edit, deletion, reordering, entry not keyed with
        the audit key, or removal from the end (head row or head file) is a problem."""
        key = self.key
        with self._session() as s:
            walk = walk_chain(s, key)
        file_problems, file_status = self._head.check(walk.hashes, walk.last_seq, walk.keyed_from)
        problems = [*walk.problems, *file_problems]
        problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
        return VerifyResult(
            ok=not problems,
            entries=walk.entries,
            head_hash=walk.last_hash,
            problems=problems,
            first_seq=walk.first_seq,
            last_seq=walk.last_seq if walk.entries else None,
            key_fingerprint=key_fingerprint(key),
            legacy_entries=walk.legacy_entries,
            keyed_from=walk.keyed_from,
            head_file=None if self._head.path is None else str(self._head.path),
            head_file_status=file_status,
        )

    def start_head_file(self) -> None:
        """Make the head file of a database just made (entry 0, keyed from entry 1),
        unless one is there: from then on a missing head file is a failure. Called by
        ``open_state`` when it creates the database."""
        self._head.start()
