"""Alembic environment: migrations run on the connection ``joinedup.state`` hands in.

There is no ``alembic.ini``: ``joinedup.state.migrate`` builds the configuration in code
and passes an open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from joinedup.state.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Two processes starting at once must not both migrate: the first to take the
        # lock migrates, the second then finds the database at head.
        connection.execute(text("SELECT pg_advisory_xact_lock(7263541)"))
    context.run_migrations()
