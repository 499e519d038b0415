"""``open_state``: the partnership's application state, migrated to the newest schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from joinedup.errors import JoinedupError
from joinedup.state.audit import AuditLog
from joinedup.state.decisions import LinkDecisions
from joinedup.state.engine import STATE_DIR, make_engine, state_url
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
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.link_decisions = LinkDecisions(self.session)
        self.session_purposes = SessionPurposes(self.session)
        folder = self.partnership_dir
        self.audit = AuditLog(
            self.session, folder / STATE_DIR / HEAD_FILE, key=lambda: audit_key(folder)
        )

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on leaving, rolled back on an error."""
        with self._sessions() as s, s.begin():
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
