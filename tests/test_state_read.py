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
