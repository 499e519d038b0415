"""Verifying the audit chain: walking it entry by entry, and what was found.

:func:`walk_chain` reads the whole log in order and reports every entry missing, out of
sequence, not following on from the one before, or with a hash that is wrong for its
place (before the keying entry a legacy SHA-256 hash is accepted, from it on only the
keyed one), and whether the head row agrees. The head file is checked by
:mod:`joinedup.state.audit_head`; :meth:`AuditLog.verify` puts the two together into a
:class:`VerifyResult`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.state.audit_entry import GENESIS, KEYED_ACTION, SYSTEM_ACTOR, stored_hash
from joinedup.state.tables import audit_head, audit_log

__all__ = ["AuditProblem", "ChainWalk", "VerifyResult", "walk_chain"]


@dataclass(frozen=True)
class AuditProblem:
    """One break in the chain; ``seq`` is the entry number where it shows (None: the head)."""

    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass(frozen=True)
class VerifyResult:
    """What :meth:`AuditLog.verify` checked and found; ``ok`` only when nothing is wrong."""

    ok: bool
    entries: int
    head_hash: str
    problems: list[AuditProblem] = field(default_factory=list)
    first_seq: int | None = None
    last_seq: int | None = None
    key_fingerprint: str = ""
    legacy_entries: int = 0  # entries before the chain was keyed (SHA-256 only)
    keyed_from: int | None = None  # the first keyed entry
    head_file: str | None = None
    head_file_status: str = ""  # what became of the head file check, in words

    def summary_lines(self) -> list[str]:
        """What was checked, in words (``joinedup audit verify`` prints these)."""
        span = (
            f"entries {self.first_seq} to {self.last_seq}"
            if self.first_seq is not None
            else "no entries yet"
        )
        lines = [f"Checked {self.entries:,} entries ({span})."]
        if self.legacy_entries:
            lines.append(
                f"Entries 1 to {self.legacy_entries} were written before the chain was keyed: "
                "checked with plain SHA-256 (legacy), which someone with database access "
                "could have rewritten."
            )
        keyed = self.entries - self.legacy_entries
        if keyed > 0 and self.keyed_from is not None:
            lines.append(
                f"Entries from {self.keyed_from} on checked with HMAC-SHA256, key "
                f"fingerprint {self.key_fingerprint} (derived from the partnership's secret)."
            )
        else:
            lines.append(f"Audit key fingerprint {self.key_fingerprint}.")
        if self.head_file is not None:
            lines.append(f"Head file {self.head_file}: {self.head_file_status}.")
        return lines


@dataclass
class ChainWalk:
    """What one walk of the chain in the database found (the head file aside)."""

    entries: int = 0
    first_seq: int | None = None
    last_seq: int = 0  # the last entry's number (0: none)
    last_hash: str = GENESIS
    hashes: dict[int, str] = field(default_factory=dict)  # entry number -> stored hash
    keyed_from: int | None = None
    legacy_entries: int = 0
    problems: list[AuditProblem] = field(default_factory=list)


#: Per entry: its number, whether its hash is the keyed one, whether it is the legacy
#: one, and (for a keying entry) how many legacy entries it names.
_Kind = tuple[int, bool, bool, int | None]


def walk_chain(s: Session, key: bytes) -> ChainWalk:
    """Walk the whole chain in ``s``: every edit, deletion, reordering or entry not keyed
    with ``key`` where the chain is keyed, and a head row that disagrees, is a problem."""
    walk = ChainWalk()
    prev_hash, expected = GENESIS, 1
    kinds: list[_Kind] = []
    head = s.execute(select(audit_head.c.seq, audit_head.c.hash)).all()
    for r in s.execute(select(audit_log).order_by(audit_log.c.seq)):
        m = r._mapping
        seq = m["seq"]
        walk.entries += 1
        walk.first_seq = seq if walk.first_seq is None else walk.first_seq
        if seq != expected:
            span = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
            walk.problems.append(
                AuditProblem(seq, f"entries {span} before it are missing (deleted)")
                if seq > expected
                else AuditProblem(seq, "is out of sequence")
            )
        if m["prev_hash"] != prev_hash:
            walk.problems.append(
                AuditProblem(
                    seq,
                    "does not follow on from the entry before it "
                    "(an entry was deleted, inserted or moved here)",
                )
            )
        keyed = stored_hash(m, key) == m["hash"]
        legacy = not keyed and stored_hash(m, None) == m["hash"]
        marks: int | None = None
        if keyed and m["action"] == KEYED_ACTION and m["actor"] == SYSTEM_ACTOR:
            count = json.loads(m["detail"]).get("legacy_entries")
            marks = count if isinstance(count, int) else None
        kinds.append((seq, keyed, legacy, marks))
        walk.hashes[seq] = m["hash"]
        prev_hash, expected = m["hash"], seq + 1
    walk.keyed_from, walk.legacy_entries, chain_problems = _judge_keys(kinds)
    walk.problems.extend(chain_problems)
    walk.last_seq, walk.last_hash = expected - 1, prev_hash
    if len(head) != 1:
        walk.problems.append(AuditProblem(None, "the audit head record is missing or repeated"))
    else:
        head_seq, head_hash = head[0]
        if head_seq != walk.last_seq or (head_seq and walk.hashes.get(head_seq) != head_hash):
            walk.problems.append(
                AuditProblem(
                    None,
                    f"the log ends at entry {walk.last_seq} but its head records entry "
                    f"{head_seq} (entries removed from the end, or the head edited)",
                )
            )
    return walk


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first} to {last}"


def _judge_keys(kinds: list[_Kind]) -> tuple[int | None, int, list[AuditProblem]]:
    """Where the chain is keyed from, how many legacy entries come before that, and the
    entries whose hash is wrong for their place: before the keying entry a legacy (plain
    SHA-256) hash is accepted; from it on, only the keyed hash is."""
    problems: list[AuditProblem] = []
    if not kinds:
        return 1, 0, problems
    marker = next(
        (i for i, (seq, _, _, marks) in enumerate(kinds) if marks is not None and marks == seq - 1),
        None,
    )
    if marker is None and kinds[0][2] and all(legacy for _, _, legacy, _ in kinds):
        first, last = kinds[0][0], kinds[-1][0]
        problems.append(
            AuditProblem(
                first,
                f"{_span(first, last)} have unkeyed (plain SHA-256) hashes and no entry keys "
                "the chain after them: written by an older joinedup and not keyed yet "
                "(`joinedup audit verify` keys it), or rewritten by someone with database "
                "access",
            )
        )
        return None, 0, problems
    legacy_part = kinds[:marker] if marker is not None else []
    keyed_part = kinds[marker:] if marker is not None else kinds
    for seq, keyed, legacy, _ in legacy_part:
        if not (keyed or legacy):
            problems.append(AuditProblem(seq, "was changed after it was written (hash mismatch)"))
    for seq, keyed, legacy, _ in keyed_part:
        if keyed:
            continue
        if legacy:
            problems.append(
                AuditProblem(
                    seq,
                    "has an unkeyed hash where the chain is keyed: forged or rewritten by "
                    "someone without the partnership's secret",
                )
            )
        else:
            problems.append(AuditProblem(seq, "was changed after it was written (hash mismatch)"))
    keyed_from = keyed_part[0][0] if keyed_part else None
    return keyed_from, len(legacy_part), problems
