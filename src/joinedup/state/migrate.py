"""Bringing a state database to the newest schema with the migrations in this package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

__all__ = ["current_revision", "head_revision", "migrate_to_head"]

_MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this version of joinedup."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration a database is at (None for an empty database)."""
    with engine.connect() as con:
        return MigrationContext.configure(con).get_current_revision()


def migrate_to_head(engine: Engine) -> None:
    """Create or upgrade the schema; a database already at head is left alone."""
    if current_revision(engine) == head_revision():
        return
    cfg = _config()
    with engine.begin() as con:
        cfg.attributes["connection"] = con
        command.upgrade(cfg, "head")
