"""Alembic's entry point: runs the revisions on the connection the runner hands over in
``config.attributes["connection"]`` (already in a transaction, which the caller commits).

``target_metadata`` is the code's tables, for ``revision --autogenerate`` and the
migration tests only; revisions themselves never read it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

from scheduler.store import tables  # noqa: F401  (registers the tables)


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError(
        "run migrations through scheduler.store.migrations (python -m "
        "scheduler.store.migrations --db-url URL upgrade), which hands over a connection"
    )
run(_connection)
