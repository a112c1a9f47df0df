"""Apply the migrations: under a lock, adopting a pre-migration store first.

Replicas starting at once must not race: on PostgreSQL the upgrade holds a
transaction-scoped advisory lock; on SQLite the caller's ``BEGIN IMMEDIATE`` already
serializes it. Everything happens in the caller's transaction (PostgreSQL's DDL is
transactional: a failed upgrade leaves the store as it was).
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from scheduler.store.migrations import legacy

#: ``pg_advisory_xact_lock`` key of the migration (arbitrary, fixed: "skybatch-migrate").
MIGRATION_LOCK_KEY = 0x736B7962_6D696772


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's config without an ini file; ``env.py`` runs on ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.set_main_option("file_template", "%%(rev)s")  # versions/0002_tenants.py
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise RuntimeError("no migration revisions found (is the package data installed?)")
    return revision


def current(conn: Connection) -> str | None:
    """The store's revision (None: empty, or made before migrations)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Bring the store to ``revision`` in the caller's transaction (which it commits)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    if revision == "head" and current(conn) == head():
        return
    cfg = alembic_config(conn)
    if legacy.needs_adoption(conn):
        legacy.adopt(conn)
        command.stamp(cfg, legacy.BASELINE)
    command.upgrade(cfg, revision)
