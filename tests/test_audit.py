"""The audit log: tampering of every kind is detected, by the library and by
`joinedup audit verify`; builds and sign-ins are logged; who may read the log."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from joinedup.access import Forbidden, create_user, visible_audit
from joinedup.cli import cli
from joinedup.state import HEAD_FILE, STATE_DIR, open_state
from joinedup.state.audit import entry_hash


def _drop_guards(state) -> None:
    """What someone with the database owner's rights could do first."""
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


def _sql(state, *statements: str) -> None:
    _drop_guards(state)
    with state.session() as s:
        for sql in statements:
            s.execute(text(sql))


def test_editing_an_entry_is_detected(state) -> None:
    _three(state)
    _sql(state, "UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 2")
    result = state.audit.verify()
    assert not result.ok
    assert [(p.seq, "changed" in p.message) for p in result.problems] == [(2, True)]


def test_deleting_an_entry_is_detected(state) -> None:
    _three(state)
    _sql(state, "DELETE FROM audit_log WHERE seq = 2")
    problems = state.audit.verify().problems
    assert {p.seq for p in problems} == {3}
    assert any("missing" in p.message for p in problems)


def test_reordering_entries_is_detected(state) -> None:
    _three(state)
    _sql(
        state,
        "UPDATE audit_log SET seq = -1 WHERE seq = 1",
        "UPDATE audit_log SET seq = 1 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = -1",
    )
    problems = state.audit.verify().problems
    assert {p.seq for p in problems} >= {1, 2}


def test_removing_the_last_entry_and_fixing_the_head_is_caught_by_the_head_file(state) -> None:
    entries = _three(state)
    _sql(
        state,
        "DELETE FROM audit_log WHERE seq = 3",
        f"UPDATE audit_head SET seq = 2, hash = '{entries[1].hash}'",
    )
    problems = state.audit.verify().problems
    assert len(problems) == 1 and problems[0].seq is None
    assert "head file records entry 3 but the log ends at entry 2" in str(problems[0])


def test_rewriting_the_chain_from_an_entry_on_is_caught_by_the_head_file(state) -> None:
    """Even someone holding the audit key (the partnership's secret) who rewrites the
    chain is caught by the head file; without the key, see tests/test_audit_chain.py."""
    _three(state)
    _drop_guards(state)
    with state.session() as s:
        rows = s.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
        prev = rows[0]["hash"]
        for row in rows[1:]:
            fields = dict(row)
            if fields["seq"] == 2:
                fields["actor"] = "someone-else"
            fields["prev_hash"] = prev
            fields["hash"] = entry_hash(
                **{k: fields[k] for k in fields if k != "hash"}, key=state.audit.key
            )
            s.execute(
                text("UPDATE audit_log SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"a": fields["actor"], "p": prev, "h": fields["hash"], "s": fields["seq"]},
            )
            prev = fields["hash"]
        s.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    problems = state.audit.verify().problems
    assert [p.seq for p in problems] == [3]
    assert "head file" in problems[0].message


def test_cli_build_is_audited_and_verify_exit_codes(mini: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(mini)]).exit_code == 0
    with open_state(mini) as st:
        (entry,) = st.audit.entries(actions=["build"])
        assert entry.actor.startswith("cli")
        assert entry.detail == {"sources": 2, "records": 7, "persons": 5, "quarantined": 3}
    ok = runner.invoke(cli, ["audit", "verify", str(mini)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("Audit log intact: 1 entries; head hash ")

    db = mini / STATE_DIR / "joinedup.sqlite"
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("UPDATE audit_log SET detail = '{}'")
    con.commit()
    con.close()
    bad = runner.invoke(cli, ["audit", "verify", str(mini)])
    assert bad.exit_code == 1
    assert "entry 1: was changed after it was written" in bad.stderr
    assert "The audit log has been tampered with: 1 problem(s)" in bad.stderr
    head = json.loads((mini / STATE_DIR / HEAD_FILE).read_text())
    assert head["seq"] == 1


def test_who_may_read_the_log(tmp_path: Path) -> None:
    with open_state(tmp_path) as st:
        admin = create_user(
            st, username="admin", display_name="A", agency="la", roles=["admin"], actor="t"
        )
        lead = create_user(
            st, username="lead", display_name="L", agency="police", roles=["data_lead"], actor="t"
        )
        analyst = create_user(
            st, username="an", display_name="N", agency="police", roles=["analyst"], actor="t"
        )
        st.audit.append(actor="pm", action="view_person", target="P-1", agencies=["police"])
        st.audit.append(actor="pm", action="view_person", target="P-2", agencies=["health"])
        assert len(visible_audit(st, admin)) == 5
        assert [e.target for e in visible_audit(st, lead)] == ["P-1"]
        with pytest.raises(Forbidden, match="own agency"):
            visible_audit(st, lead, agency="health")
        with pytest.raises(Forbidden):
            visible_audit(st, analyst)


def test_many_entries_in_one_write_chain_like_single_appends(state) -> None:
    first = state.audit.append(actor="cli", action="build", target="r1")
    many = state.audit.append_many(
        [
            {"actor": "ann", "action": "view_person", "target": f"P-{i}", "agencies": ["police"]}
            for i in range(3)
        ]
    )
    last = state.audit.append(actor="bob", action="export", target="r1")
    assert [e.seq for e in many] == [first.seq + 1, first.seq + 2, first.seq + 3]
    assert many[0].prev_hash == first.hash and last.prev_hash == many[-1].hash
    assert all(b.prev_hash == a.hash for a, b in zip(many, many[1:], strict=False))
    assert state.audit.verify().ok
    stored = state.audit.entries(actions=["view_person"], newest_first=False)
    assert [e.target for e in stored] == ["P-0", "P-1", "P-2"]
    with pytest.raises(ValueError):
        state.audit.append_many([{"actor": "", "action": "view_person"}])
    assert state.audit.append_many([]) == []
