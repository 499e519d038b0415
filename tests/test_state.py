"""App state: migrations, review decisions, audit appends; on SQLite and PostgreSQL.

Tests that take the ``state`` fixture run once per engine (marker ``postgres``).
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from joinedup.errors import ConfigError
from joinedup.state import (
    STATE_DIR,
    STATE_FILE,
    LinkDecision,
    current_revision,
    head_revision,
    open_state,
    state_url,
)
from joinedup.state.tables import metadata


def test_migrated_schema_is_the_model(state) -> None:
    assert current_revision(state.engine) == head_revision()
    with state.engine.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con), metadata)
    assert diff == []


def test_sqlite_file_is_in_the_partnership_folder(tmp_path: Path) -> None:
    with open_state(tmp_path) as st:
        assert st.dialect == "sqlite"
    db = tmp_path / STATE_DIR / STATE_FILE
    assert db.is_file()
    assert (db.parent.stat().st_mode & 0o777) == 0o700
    # opening again is a no-op migration and keeps the data
    with open_state(tmp_path) as st:
        st.audit.append(actor="t", action="x")
    with open_state(tmp_path) as st:
        assert st.audit.count() == 1


def test_link_decisions_pair_is_canonical_and_latest_wins(state) -> None:
    police, health = ("police_crimes", "17"), ("health_ae", "A3")
    t0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
    state.link_decisions.record(
        left=police, right=health, decision="match", decided_by="ann", decided_at=t0
    )
    state.link_decisions.record(
        left=health, right=police, decision="non_match", decided_by="bob", reason="twins"
    )
    state.link_decisions.record(
        left=("a", "1"), right=("a", "2"), decision="match", decided_by="ann"
    )
    got = state.link_decisions.all()
    assert len(got) == 2
    assert [d.left for d in got] == [("a", "1"), ("health_ae", "A3")]
    latest = got[1]
    assert isinstance(latest, LinkDecision)
    assert (latest.left, latest.right) == (health, police)
    assert (latest.decision, latest.decided_by, latest.reason) == ("non_match", "bob", "twins")
    assert latest.decided_at.tzinfo is not None and latest.decided_at.utcoffset() == dt.timedelta(0)
    history = state.link_decisions.history(police, health)
    assert [h.decision for h in history] == ["match", "non_match"]
    assert history[0].decided_at == t0
    with pytest.raises(AttributeError):
        latest.decision = "match"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("left", "right", "decision", "by", "message"),
    [
        (("a", "1"), ("a", "1"), "match", "ann", "itself"),
        (("a", "1"), ("b", "1"), "maybe", "ann", "match' or 'non_match"),
        (("a", ""), ("b", "1"), "match", "ann", "non-empty"),
        (("a", "1"), ("b", "1"), "match", "", "who decided"),
    ],
)
def test_link_decisions_refuse_bad_input(tmp_path, left, right, decision, by, message) -> None:
    with open_state(tmp_path) as st:
        with pytest.raises(ValueError, match=message):
            st.link_decisions.record(left=left, right=right, decision=decision, decided_by=by)
        assert st.link_decisions.all() == []


def test_audit_append_chains_and_verifies(state) -> None:
    first = state.audit.append(actor="cli", action="build", target="20261031T120000Z-aaaaaa")
    second = state.audit.append(
        actor="ann",
        action="view_person",
        target="P-7F3A",
        purpose="panel preparation",
        detail={"page": "timeline", "sources": ["police_crimes"]},
        agencies=["police", "health", "police"],
    )
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == "0" * 64 and second.prev_hash == first.hash
    assert second.agencies == ("health", "police")
    assert second.at.tzinfo is not None
    result = state.audit.verify()
    assert result.ok and result.entries == 2 and result.head_hash == second.hash
    assert [e.seq for e in state.audit.entries()] == [2, 1]
    assert [e.seq for e in state.audit.entries(agency="health")] == [2]
    assert state.audit.entries(agency="heal") == []
    assert state.audit.entries(actions=["build"])[0].target == "20261031T120000Z-aaaaaa"
    assert state.audit.entries(actor="ann")[0].detail == {
        "page": "timeline",
        "sources": ["police_crimes"],
    }


def test_database_refuses_changes_to_the_log(state) -> None:
    state.audit.append(actor="cli", action="build")
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), state.session() as s:
            s.execute(text(sql))
    assert state.audit.verify().ok


def test_audit_refuses_identifying_detail(tmp_path) -> None:
    with open_state(tmp_path) as st:
        with pytest.raises(ValueError, match="never holds a person's identifying data"):
            st.audit.append(actor="a", action="export", detail={"rows": [{"dob": "x"}]})
        assert st.audit.count() == 0


def test_concurrent_appends_make_one_chain(state) -> None:
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
    assert result.entries == 20


def test_url_comes_from_partnership_yaml(tmp_path, monkeypatch) -> None:
    assert state_url(tmp_path) == f"sqlite:///{tmp_path / 'state' / 'joinedup.sqlite'}"
    cfg = tmp_path / "partnership.yaml"
    cfg.write_text("app_state:\n  url: sqlite:///" + str(tmp_path / "other.db") + "\n")
    assert state_url(tmp_path).endswith("other.db")
    assert state_url(tmp_path, "postgresql://h/db") == "postgresql://h/db"
    cfg.write_text("app_state:\n  url_env: JOINEDUP_TEST_STATE_URL\n")
    monkeypatch.delenv("JOINEDUP_TEST_STATE_URL", raising=False)
    with pytest.raises(ConfigError, match="JOINEDUP_TEST_STATE_URL, which is not set"):
        state_url(tmp_path)
    monkeypatch.setenv("JOINEDUP_TEST_STATE_URL", "sqlite:///" + str(tmp_path / "env.db"))
    with open_state(tmp_path) as st:
        st.audit.append(actor="t", action="x")
    assert (tmp_path / "env.db").is_file()


def test_unsupported_or_bad_url_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="SQLite or PostgreSQL"):
        open_state(tmp_path, url="mysql://u@h/db")
    with pytest.raises(ConfigError, match="not a database URL"):
        open_state(tmp_path, url="not a url")


# --- the partnership's secret, made by many processes at once (issue 11) ---------------


_THREADS = 4


def _make_secret_in_rounds(folders, barrier, results) -> None:  # runs in a child process
    """In each folder in turn, once every process is ready: four threads of this process
    ask for the secret at once (a server's threads do), and each says what it read."""
    from joinedup.state.keys import partnership_secret

    def ask(folder: str, start: threading.Barrier) -> None:
        start.wait(timeout=60)
        try:
            results.put((folder, partnership_secret(Path(folder)).decode()))
        except Exception as exc:  # reported by the parent
            results.put((folder, f"error: {type(exc).__name__}: {exc}"))

    for folder in folders:
        barrier.wait(timeout=60)
        start = threading.Barrier(_THREADS)
        threads = [threading.Thread(target=ask, args=(folder, start)) for _ in range(_THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def test_processes_making_the_secret_at_once_all_read_one_full_key(tmp_path) -> None:
    """Eight processes of four threads each ask for the secret of the same new partnership
    at the same moment, in twenty fresh folders in turn: every one reads the same complete
    key (none sees a file half written, which once failed as "too short"), and no
    temporary file is left."""
    import multiprocessing

    from joinedup.state.keys import DEFAULT_SECRET_FILE

    ctx = multiprocessing.get_context("spawn")
    workers, rounds = 8, 20
    folders = [str(tmp_path / f"p{i}") for i in range(rounds)]
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_make_secret_in_rounds, args=(folders, barrier, results))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in range(workers * rounds * _THREADS)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    by_folder: dict[str, set[str]] = {}
    for folder, key in got:
        by_folder.setdefault(folder, set()).add(key)
    for folder in folders:
        keys = by_folder[folder]
        assert not any(k.startswith("error") for k in keys), keys
        assert len(keys) == 1
        (key,) = keys
        assert len(key) == 64 and int(key, 16) >= 0
        secret = Path(folder) / DEFAULT_SECRET_FILE
        assert secret.read_text().strip() == key
        assert secret.stat().st_mode & 0o777 == 0o600
        assert sorted(p.name for p in Path(folder).iterdir()) == [DEFAULT_SECRET_FILE]


def test_a_secret_still_being_written_is_waited_for(tmp_path) -> None:
    """A secret file made a moment ago and still short (another process, or an older
    joinedup, is writing it in place) is read again until it is whole."""
    from joinedup.state.keys import partnership_secret, secret_path

    path = secret_path(tmp_path)
    path.write_text("")
    path.chmod(0o600)
    whole = "ab" * 32

    def finish() -> None:
        path.write_text(whole + "\n")

    timer = threading.Timer(0.3, finish)
    timer.start()
    try:
        assert partnership_secret(tmp_path) == whole.encode()
    finally:
        timer.join()


def test_an_old_short_secret_is_refused_at_once(tmp_path) -> None:
    import os
    import time

    from joinedup.errors import BuildError, JoinedupError
    from joinedup.pipeline.context import load_secret
    from joinedup.state.keys import partnership_secret, secret_path

    path = secret_path(tmp_path)
    path.write_text("short\n")
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    started = time.monotonic()
    with pytest.raises(JoinedupError, match="too short to be the partnership's secret"):
        partnership_secret(tmp_path)
    assert time.monotonic() - started < 1.0
    cfg = type("Cfg", (), {"secret_file": path.name})()
    with pytest.raises(BuildError, match="too short to be the partnership's pseudonymisation"):
        load_secret(tmp_path, cfg)  # type: ignore[arg-type]
    assert path.read_text() == "short\n"  # never replaced
