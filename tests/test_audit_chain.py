"""The keyed audit chain (issue 11, item 5): a log that cannot be rewritten quietly.

Each attack is made as someone with the database owner's rights (guards dropped) who
cannot read the partnership's secret; on SQLite and PostgreSQL (the ``state`` fixture).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from joinedup.access import verify_audit
from joinedup.cli import cli
from joinedup.state import HEAD_FILE, STATE_DIR, STATE_FILE, open_state
from joinedup.state.audit import KEYED_ACTION, entry_hash
from joinedup.state.keys import audit_key, key_fingerprint, secret_path


def _drop_guards(state) -> None:
    with state.session() as s:
        if state.dialect == "sqlite":
            s.execute(text("DROP TRIGGER audit_log_no_update"))
            s.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            s.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def _three(state) -> list:
    return [
        state.audit.append(actor="cli", action="build", target="r1"),
        state.audit.append(actor="ann", action="view_person", target="P-1", agencies=["police"]),
        state.audit.append(actor="bob", action="export", target="r1", purpose="board paper"),
    ]


def _head_file(folder: Path) -> Path:
    return folder / STATE_DIR / HEAD_FILE


def _rows(state) -> list[dict]:
    with state.session() as s:
        return [dict(r) for r in s.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings()]


def _forge_append(state, *, actor: str, action: str, key: bytes | None = None) -> str:
    """Append an entry by SQL with a correct plain SHA-256 (or ``key``ed) hash, moving
    the head row on: all someone with database access can do."""
    last = _rows(state)[-1]
    fields = {
        "seq": last["seq"] + 1,
        "at": last["at"],
        "actor": actor,
        "action": action,
        "target": None,
        "purpose": None,
        "detail": "{}",
        "agencies": "",
        "prev_hash": last["hash"],
    }
    digest = entry_hash(**fields, key=key)
    with state.session() as s:
        s.execute(
            text(
                "INSERT INTO audit_log (seq, at, actor, action, target, purpose, detail, "
                "agencies, prev_hash, hash) VALUES (:seq, :at, :actor, :action, :target, "
                ":purpose, :detail, :agencies, :prev_hash, :hash)"
            ),
            {**fields, "hash": digest},
        )
        s.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
            {"s": fields["seq"], "h": digest},
        )
    return digest


def _make_legacy(state, folder: Path) -> None:
    """Turn the chain into what an older joinedup wrote: plain SHA-256 hashes and a head
    file of its format ({"seq", "hash"} only)."""
    _drop_guards(state)
    prev = "0" * 64
    with state.session() as s:
        for row in _rows(state):
            fields = {k: row[k] for k in row if k != "hash"}
            fields["prev_hash"] = prev
            digest = entry_hash(**fields)
            s.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": row["seq"]},
            )
            prev = digest
            last = row["seq"]
        s.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": last, "h": prev})
    _head_file(folder).write_text(json.dumps({"seq": last, "hash": prev}) + "\n")


# --- the attacks ---------------------------------------------------------------------


def test_truncating_and_deleting_the_head_file_fails_verification(state, tmp_path) -> None:
    entries = _three(state)
    _drop_guards(state)
    with state.session() as s:
        s.execute(text("DELETE FROM audit_log WHERE seq = 3"))
        s.execute(
            text("UPDATE audit_head SET seq = 2, hash = :h WHERE id = 1"), {"h": entries[1].hash}
        )
    _head_file(tmp_path).unlink()
    result = state.audit.verify()
    assert not result.ok
    assert [str(p) for p in result.problems] == [
        f"the head file {_head_file(tmp_path)} is missing: it is made with the database and "
        "never removed, so entries may have been removed from the end of the log; restore "
        "it from a backup"
    ]
    assert result.head_file_status == "MISSING"
    # the next append does not make the head file again: the evidence stays
    state.audit.append(actor="ann", action="view_person", target="P-2")
    assert not _head_file(tmp_path).exists()
    assert not state.audit.verify().ok


def test_cli_verify_fails_on_truncation_with_the_head_file_deleted(tmp_path: Path) -> None:
    with open_state(tmp_path) as st:
        entries = _three(st)
    con_path = tmp_path / STATE_DIR / STATE_FILE
    import sqlite3

    con = sqlite3.connect(con_path)
    con.execute("DROP TRIGGER audit_log_no_delete")
    con.execute("DELETE FROM audit_log WHERE seq = 3")
    con.execute("UPDATE audit_head SET seq = 2, hash = ?", (entries[1].hash,))
    con.commit()
    con.close()
    _head_file(tmp_path).unlink()
    out = CliRunner().invoke(cli, ["audit", "verify", str(tmp_path)])
    assert out.exit_code == 1, out.output
    assert "Audit log intact" not in out.stdout
    assert f"the head file {_head_file(tmp_path)} is missing" in out.stderr
    assert "The audit log has been tampered with: 1 problem(s)" in out.stderr
    assert f"Head file {_head_file(tmp_path)}: MISSING." in out.stdout


def test_an_entry_forged_with_a_correct_unkeyed_hash_fails(state) -> None:
    _three(state)
    _drop_guards(state)
    _forge_append(state, actor="someone", action="view_person")
    result = state.audit.verify()
    assert not result.ok
    assert [str(p) for p in result.problems] == [
        "entry 4: has an unkeyed hash where the chain is keyed: forged or rewritten by "
        "someone without the partnership's secret"
    ]


def test_an_entry_forged_with_another_key_fails(state) -> None:
    _three(state)
    _drop_guards(state)
    _forge_append(state, actor="someone", action="view_person", key=b"k" * 32)
    problems = [str(p) for p in state.audit.verify().problems]
    assert problems == ["entry 4: was changed after it was written (hash mismatch)"]


def test_a_chain_rewritten_unkeyed_with_the_head_file_deleted_is_never_keyed(
    state, tmp_path
) -> None:
    """Rewriting every entry with plain SHA-256 and deleting the head file must not let
    the chain pass as an older joinedup's: it is not keyed, and verification fails."""
    _three(state)
    _make_legacy(state, tmp_path)
    _head_file(tmp_path).unlink()
    assert state.audit.key_chain() is None
    state.audit.append(actor="ann", action="view_person", target="P-9")
    result = state.audit.verify()
    assert not result.ok
    messages = [str(p) for p in result.problems]
    assert messages[:3] == [
        f"entry {n}: has an unkeyed hash where the chain is keyed: forged or rewritten by "
        "someone without the partnership's secret"
        for n in (1, 2, 3)
    ]
    assert any("is missing" in m for m in messages)


# --- what passes, and what verify says --------------------------------------------------


def test_an_intact_chain_passes_and_is_keyed(state, tmp_path) -> None:
    entries = _three(state)
    key = audit_key(tmp_path)
    for e, row in zip(entries, _rows(state), strict=True):
        fields = {k: row[k] for k in row if k != "hash"}
        assert row["hash"] == e.hash == entry_hash(**fields, key=key)
        assert row["hash"] != entry_hash(**fields)  # not the plain SHA-256
    result = state.audit.verify()
    assert result.ok, result.problems
    assert (result.entries, result.first_seq, result.last_seq) == (3, 1, 3)
    assert (result.legacy_entries, result.keyed_from) == (0, 1)
    assert result.key_fingerprint == key_fingerprint(key)
    assert result.head_file_status == "matches the last entry (3)"


def test_cli_verify_reports_what_it_checked(tmp_path: Path) -> None:
    with open_state(tmp_path) as st:
        _three(st)
        fingerprint = st.audit.key_fingerprint
    out = CliRunner().invoke(cli, ["audit", "verify", str(tmp_path)])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Audit log intact: 3 entries; head hash ")
    assert lines[1:] == [
        "  Checked 3 entries (entries 1 to 3).",
        f"  Entries from 1 on checked with HMAC-SHA256, key fingerprint {fingerprint} "
        "(derived from the partnership's secret).",
        f"  Head file {_head_file(tmp_path)}: matches the last entry (3).",
    ]
    secret = secret_path(tmp_path).read_text().strip()
    assert secret not in out.output and audit_key(tmp_path).hex() not in out.output


def test_concurrent_appends_from_threads_still_verify(state) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                state.audit.append(actor=f"user{n}", action="view", target=str(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = state.audit.verify()
    assert result.ok, result.problems
    assert (result.entries, result.keyed_from, result.legacy_entries) == (20, 1, 0)
    assert result.head_file_status == "matches the last entry (20)"


# --- a chain written by an older joinedup ----------------------------------------------


def test_an_older_unkeyed_chain_is_keyed_from_the_next_entry_and_reported_as_legacy(
    state, tmp_path
) -> None:
    _three(state)
    _make_legacy(state, tmp_path)
    before = state.audit.verify()
    assert not before.ok  # never silently intact
    assert [str(p) for p in before.problems] == [
        "entry 1: entries 1 to 3 have unkeyed (plain SHA-256) hashes and no entry keys the "
        "chain after them: written by an older joinedup and not keyed yet (`joinedup audit "
        "verify` keys it), or rewritten by someone with database access"
    ]
    marker = state.audit.key_chain()
    assert marker is not None and marker.seq == 4 and marker.action == KEYED_ACTION
    assert marker.detail == {
        "legacy_entries": 3,
        "scheme": "hmac-sha256",
        "key": state.audit.key_fingerprint,
    }
    assert state.audit.key_chain() is None  # once
    state.audit.append(actor="ann", action="view_person", target="P-5")
    result = state.audit.verify()
    assert result.ok, result.problems
    assert (result.entries, result.legacy_entries, result.keyed_from) == (5, 3, 4)
    assert result.summary_lines()[1] == (
        "Entries 1 to 3 were written before the chain was keyed: checked with plain SHA-256 "
        "(legacy), which someone with database access could have rewritten."
    )
    assert json.loads(_head_file(tmp_path).read_text())["keyed_from"] == 4
    # and an unkeyed entry after the keying is still a forgery
    _forge_append(state, actor="someone", action="export")
    assert [p.seq for p in state.audit.verify().problems] == [6]


def test_an_older_chain_is_keyed_by_the_first_append(tmp_path: Path) -> None:
    with open_state(tmp_path) as st:
        _three(st)
        _make_legacy(st, tmp_path)
    with open_state(tmp_path) as st:
        entry = st.audit.append(actor="ann", action="view_person", target="P-5")
        assert entry.seq == 5
        assert [e.action for e in st.audit.entries(newest_first=False)][3] == KEYED_ACTION
    result = verify_audit(tmp_path)
    assert result.ok and result.legacy_entries == 3


def test_a_legacy_entry_edited_before_the_keying_is_still_caught(state, tmp_path) -> None:
    _three(state)
    _make_legacy(state, tmp_path)
    state.audit.key_chain()
    with state.session() as s:
        s.execute(text("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 2"))
    assert [str(p) for p in state.audit.verify().problems] == [
        "entry 2: was changed after it was written (hash mismatch)"
    ]


def test_state_files_are_owner_only(tmp_path: Path) -> None:
    with open_state(tmp_path) as st:
        st.audit.append(actor="t", action="x")
    for path, mode in (
        (tmp_path / STATE_DIR, 0o700),
        (tmp_path / STATE_DIR / STATE_FILE, 0o600),
        (_head_file(tmp_path), 0o600),
        (secret_path(tmp_path), 0o600),
    ):
        assert path.stat().st_mode & 0o777 == mode, path
