"""Reading the app state never queues behind a write (issue 16): on SQLite every
transaction of ``State.session`` holds the write lock, so a busy server's reads (who is
signed in, their roles, decisions, the audit log) go through ``State.read``, which reads
while a write is in progress and refuses to write.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from joinedup.access import create_user, get_user, list_users
from joinedup.state import open_state
from joinedup.state.tables import user_account


def test_reads_go_on_while_a_write_holds_the_lock(tmp_path: Path) -> None:
    state = open_state(tmp_path)
    try:
        create_user(
            state, username="reader", display_name="R", agency="police", roles=["analyst"],
            actor="test",
        )  # fmt: skip
        holding, release = threading.Event(), threading.Event()

        def writer() -> None:
            with state.session() as s:
                s.execute(
                    update(user_account)
                    .where(user_account.c.username == "reader")
                    .values(display_name="Renamed")
                )
                holding.set()
                release.wait(10)

        t = threading.Thread(target=writer)
        t.start()
        assert holding.wait(10)
        start = time.perf_counter()
        user = get_user(state, "reader")
        users = list_users(state)
        waited = time.perf_counter() - start
        release.set()
        t.join()
        # read while the writer held the lock, and saw the state before its commit
        assert waited < 2
        assert user is not None and user.display_name == "R"
        assert [u.username for u in users] == ["reader"]
        after = get_user(state, "reader")
        assert after is not None and after.display_name == "Renamed"
        # a read session refuses to write
        with pytest.raises(OperationalError), state.read() as s:
            s.execute(update(user_account).values(display_name="Nope"))
        with state.read() as s:
            names = s.execute(select(user_account.c.display_name)).scalars().all()
        assert names == ["Renamed"]
    finally:
        state.close()


def test_a_pooled_connection_a_reader_used_can_write_again(tmp_path: Path) -> None:
    """Connections are pooled (issue 16): the one a read made read-only is writable in
    the next write, and each reads what the last wrote."""
    state = open_state(tmp_path)
    try:
        create_user(
            state, username="pooled", display_name="P", agency="police", roles=["analyst"],
            actor="test",
        )  # fmt: skip
        for name in ("First", "Second", "Third"):
            with state.read() as s:  # query_only on this connection
                s.execute(select(user_account.c.id)).all()
            with state.session() as s:  # the same pooled connection, writing
                s.execute(
                    update(user_account)
                    .where(user_account.c.username == "pooled")
                    .values(display_name=name)
                )
            with state.read() as s:
                got = s.execute(select(user_account.c.display_name)).scalar_one()
            assert got == name
        assert state.engine.pool.checkedin() >= 1  # kept, not closed after each use
    finally:
        state.close()
