"""Opening the application state: where it lives, and one engine per database.

The state is a SQLite file in the partnership folder (``DIR/state/joinedup.sqlite``) unless
``partnership.yaml`` names a database URL (``app_state.url``, or the environment variable
named by ``app_state.url_env``), for a deployment shared by several servers.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import QueuePool

from joinedup.errors import ConfigError

__all__ = ["READ_ONLY", "STATE_DIR", "STATE_FILE", "make_engine", "state_url"]

STATE_DIR = "state"
STATE_FILE = "joinedup.sqlite"


def _app_state_section(partnership_dir: Path) -> dict[str, Any]:
    """``app_state`` from partnership.yaml, read on its own so a state can open even while
    another part of the file is being fixed (the full file is validated by every build)."""
    path = Path(partnership_dir) / "partnership.yaml"
    if not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read as YAML; run `joinedup check`.") from exc
    section = raw.get("app_state") if isinstance(raw, dict) else None
    if section is None:
        return {}
    from joinedup.config.model import AppStateConfig

    return AppStateConfig.model_validate(section).model_dump()


def state_url(partnership_dir: Path, url: str | None = None) -> str:
    """The database URL of a partnership's state: ``url``, else partnership.yaml, else the
    SQLite file ``DIR/state/joinedup.sqlite``."""
    if url:
        return url
    section = _app_state_section(partnership_dir)
    if section.get("url"):
        return str(section["url"])
    env = section.get("url_env")
    if env:
        value = os.environ.get(str(env))
        if not value:
            raise ConfigError(
                f"app_state.url_env names the environment variable {env}, which is not set; "
                "set it to the database URL (e.g. postgresql+psycopg://user@host/joinedup)."
            )
        return value
    folder = Path(partnership_dir) / STATE_DIR
    return f"sqlite:///{folder / STATE_FILE}"


def _sqlite_pragmas(dbapi_con: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy's "begin" event start every transaction (see below), not pysqlite.
    dbapi_con.isolation_level = None
    cur = dbapi_con.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


#: Execution option of the sessions ``State.read`` gives: read only (issue 16).
READ_ONLY = "joinedup_read_only"


def _sqlite_begin(con: Any) -> None:
    if con.get_execution_options().get(READ_ONLY):
        # A reader: in WAL mode it reads while a writer writes, so it neither takes nor
        # waits for the write lock; SQLite refuses any write it attempts.
        con.exec_driver_sql("PRAGMA query_only=ON")
        con.exec_driver_sql("BEGIN")
        return
    # Connections are pooled: one a reader used is writable again here.
    con.exec_driver_sql("PRAGMA query_only=OFF")
    # BEGIN IMMEDIATE: a writer takes the lock when its transaction starts, so the
    # read-then-append of the audit chain cannot interleave with another process's.
    con.exec_driver_sql("BEGIN IMMEDIATE")


def _owner_only(db: Path) -> None:
    """The SQLite file made 0600 before SQLite writes to it (SQLite gives its -wal and
    -shm files the same mode), and an older state's file brought to 0600: the state holds
    password hashes, sessions and the audit log."""
    try:
        fd = os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            st = db.stat()
            if st.st_mode & 0o777 != 0o600 and st.st_uid == os.getuid():
                db.chmod(0o600)
        except OSError:
            pass  # not ours to change: the deployment's choice
    else:
        os.close(fd)


def make_engine(url: str) -> Engine:
    """An engine for a state URL: SQLite (folder created, owner-only) or PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            "The app state URL is not a database URL; write it as "
            "postgresql+psycopg://USER@HOST:PORT/DATABASE or sqlite:///PATH."
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            _owner_only(Path(parsed.database))
        # Pooled (a few connections per process, each opened once with its pragmas):
        # opening a connection for every read was about 0.5 ms, and a page reads the state
        # several times (issue 16). State.close() and a State no longer referenced close
        # them (joinedup.state.database).
        engine = create_engine(parsed, poolclass=QueuePool, pool_size=4, max_overflow=16)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(
        f"App state needs SQLite or PostgreSQL, not {parsed.get_backend_name()}; "
        "set app_state.url to a postgresql+psycopg:// URL or leave it out for SQLite."
    )
