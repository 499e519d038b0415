"""The audit head file: the last entry's number and hash, outside the database.

``DIR/state/audit-head.json`` is made with the database (entry 0, keyed from entry 1)
and moved forward by every append, so removing entries from the end of the log needs
two places edited, one of them a file beside the database. A missing head file is a
verification failure; it is never made again by an append (docs/governance.md).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from joinedup.state.audit_entry import GENESIS
from joinedup.state.audit_verify import AuditProblem

__all__ = ["HeadFile"]

_HEAD_FILE_LOCK = threading.Lock()
log = logging.getLogger(__name__)


class HeadFile:
    """The head file at ``path`` (None: a state without one, which checks nothing)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def read(self) -> dict[str, Any] | None:
        """Its record; None when it is missing, ``seq`` -1 when it cannot be read."""
        if self.path is None or not self.path.is_file():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"seq": -1, "hash": ""}
        return data if isinstance(data, dict) else {"seq": -1, "hash": ""}

    def start(self) -> None:
        """Make the head file of a database just made (entry 0, keyed from entry 1),
        unless one is there: from then on a missing head file is a failure."""
        if self.path is None:
            return
        with _HEAD_FILE_LOCK:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            body = json.dumps({"seq": 0, "hash": GENESIS, "keyed_from": 1}) + "\n"
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return  # left by an earlier database: verify compares it with this one
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)

    def advance(self, seq: int, digest: str, *, keyed_from: int | None) -> None:
        """Record entry ``seq`` (hash ``digest``) as the last, unless a later one is."""
        if self.path is None:
            return
        # Threads of one server append at once: one at a time here, so a later entry's
        # head is never overwritten by an earlier one, and a temporary file of its own
        # per thread, so one thread's rename cannot take another's file away.
        with _HEAD_FILE_LOCK:
            current = self.read()
            if current is None:
                # Made with the database: gone now means removed. Never made again here,
                # so `audit verify` keeps failing until someone looks (docs/governance.md).
                log.warning("The audit head file %s is missing; not recreating it.", self.path)
                return
            if not isinstance(current.get("seq"), int) or current["seq"] < 0:
                return  # unreadable: left as it is for `audit verify` to report
            record = dict(current)
            if not isinstance(record.get("keyed_from"), int) and keyed_from is not None:
                record["keyed_from"] = keyed_from
            if current["seq"] < seq:
                record["seq"], record["hash"] = seq, digest
            if record == current:
                return
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
            os.replace(tmp, self.path)

    def check(
        self, hashes: dict[int, str], last_seq: int, keyed_from: int | None
    ) -> tuple[list[AuditProblem], str]:
        """The problems the head file shows against the chain (``hashes``: entry number
        -> stored hash), and what became of the check, in words."""
        if self.path is None:
            return [], ""
        data = self.read()
        if data is None:
            return [
                AuditProblem(
                    None,
                    f"the head file {self.path} is missing: it is made with the "
                    "database and never removed, so entries may have been removed from the "
                    "end of the log; restore it from a backup",
                )
            ], "MISSING"
        seq, digest = data.get("seq"), data.get("hash")
        if not isinstance(seq, int) or seq < 0 or not isinstance(digest, str):
            return [AuditProblem(None, f"the head file {self.path} is not readable")], (
                "NOT READABLE"
            )
        problems: list[AuditProblem] = []
        file_keyed_from = data.get("keyed_from")
        if (
            isinstance(file_keyed_from, int)
            and keyed_from is not None
            and file_keyed_from != keyed_from
            and seq > 0
        ):
            problems.append(
                AuditProblem(
                    None,
                    f"the head file records the chain keyed from entry {file_keyed_from} but "
                    f"the log is keyed from entry {keyed_from} (entries rewritten)",
                )
            )
        if seq > last_seq:
            problems.append(
                AuditProblem(
                    None,
                    f"the head file records entry {seq} but the log ends at entry {last_seq} "
                    "(entries removed from the end)",
                )
            )
            return problems, f"records entry {seq}, past the end of the log: MISMATCH"
        if seq and hashes.get(seq) != digest:
            problems.append(AuditProblem(seq, "does not match the hash recorded in the head file"))
            return problems, f"records entry {seq} with another hash: MISMATCH"
        if problems:
            return problems, "MISMATCH"
        if seq == last_seq:
            return [], f"matches the last entry ({seq})" if seq else "matches (no entries)"
        behind = f"written before the last {last_seq - seq} entries"
        return [], f"matches entry {seq} ({behind})" if seq else f"records no entries ({behind})"
