"""``open_state``: the partnership's application state, migrated to the newest schema."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from joinedup.errors import JoinedupError
from joinedup.state.audit import AuditLog
from joinedup.state.decisions import LinkDecisions
from joinedup.state.engine import READ_ONLY, STATE_DIR, make_engine, state_url
from joinedup.state.keys import audit_key
from joinedup.state.migrate import current_revision, migrate_to_head
from joinedup.state.purposes import SessionPurposes

__all__ = ["HEAD_FILE", "State", "StateError", "open_state"]

HEAD_FILE = "audit-head.json"


class StateError(JoinedupError):
    """The application state database cannot be reached or migrated."""


class State:
    """The application state of one partnership: users, sessions, review decisions and
    the audit log, in SQLite or PostgreSQL.

    Small namespaces hold the parts: ``link_decisions``, ``audit`` and
    ``session_purposes`` (why a user opened identifying data, per web session) here;
    ``joinedup.access`` adds users and sessions on top through :meth:`session`.
    """

    def __init__(self, partnership_dir: Path, engine: Engine) -> None:
        self.partnership_dir = Path(partnership_dir)
        self.engine = engine
        # the pooled connections are closed when this State is closed or forgotten
        self._closer = weakref.finalize(self, engine.dispose)
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._readers = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        # SQLite: every transaction begins IMMEDIATE (holds the write lock), so this
        # process's threads take their turn at a lock of ours: they wake as soon as it is
        # free, where SQLite's busy handler makes a waiting thread sleep and retry (up to
        # 100 ms a time), which under load left requests queueing for seconds (issue 16).
        # Reentrant: a session opened inside another on the same thread waits as before.
        self._turn = threading.RLock() if engine.dialect.name == "sqlite" else None
        self.link_decisions = LinkDecisions(self.session, read=self.read)
        self.session_purposes = SessionPurposes(self.session)
        folder = self.partnership_dir
        self.audit = AuditLog(
            self.session,
            folder / STATE_DIR / HEAD_FILE,
            key=lambda: audit_key(folder),
            read=self.read,
        )

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on leaving, rolled back on an error."""
        with self._turn or nullcontext(), self._sessions() as s, s.begin():
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session that only reads (a write in it fails on SQLite): on SQLite it
        neither waits for nor holds the write lock, so the many reads of a busy server
        (who is signed in, their roles, decisions, the log) never queue behind writes."""
        with self._readers() as s, s.begin():
            yield s

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> State:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_state(partnership_dir: Path, *, url: str | None = None) -> State:
    """Open (creating or migrating to the newest schema) a partnership's app state.

    ``url`` defaults to partnership.yaml's ``app_state`` setting, else the SQLite file
    ``DIR/state/joinedup.sqlite``.
    """
    engine = make_engine(state_url(Path(partnership_dir), url))
    try:
        created = current_revision(engine) is None
        migrate_to_head(engine)
    except ModuleNotFoundError as exc:
        engine.dispose()
        raise StateError(
            f"The app state database needs the Python package {exc.name}; install it with "
            "`pip install 'joinedup[postgres]'`."
        ) from exc
    except OperationalError as exc:
        engine.dispose()
        raise StateError(
            f"The app state database cannot be opened ({type(exc.orig).__name__}); check "
            "app_state in partnership.yaml and that the database server is running."
        ) from exc
    state = State(Path(partnership_dir), engine)
    if created:
        # from now on a missing head file means someone removed it (docs/governance.md)
        state.audit.start_head_file()
    return state
