"""Database engine: SQLite (WAL, default under the user's data dir) or PostgreSQL by URL.

Writers are serialized on both backends, so every read-check-write transaction of the
store sees the latest committed state and event sequence numbers commit in order (the
``WatchJobs`` cursor relies on it):

- SQLite: write transactions start with ``BEGIN IMMEDIATE``, so two writers queue on
  the busy timeout instead of failing on a lock upgrade; reads stay deferred.
- PostgreSQL (``postgresql+psycopg://``, READ COMMITTED): a write transaction first takes
  a transaction-scoped advisory lock, which every replica sharing the database honours.

The schema is brought to the newest migration on creation (``migrations.runner``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from scheduler.store.migrations import runner

WRITE_OPTION = "skybatch_write"

#: ``pg_advisory_xact_lock`` key every write transaction takes ("skybatch-write").
WRITE_LOCK_KEY = 0x736B7962_77726974


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, migrate: bool = True) -> Engine:
    """Create the engine and, unless ``migrate=False``, upgrade the schema to head."""
    if is_sqlite(url):
        db_path = url.removeprefix("sqlite:///")
        memory = db_path in ("", ":memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # One connection for an in-memory database, or every session gets its own.
            **({"poolclass": StaticPool} if memory else {"pool_size": 16, "max_overflow": 16}),
        )
        _configure_sqlite(engine)
        if not memory:
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=24)
        if engine.dialect.name == "postgresql":
            _configure_postgresql(engine)
    if migrate:
        try:
            with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn, conn.begin():
                runner.upgrade(conn)
        except BaseException:
            engine.dispose()
            raise
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so "begin" below decides.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # 64 MiB of page cache (allocated as used): big ingests update large indexes.
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(WRITE_OPTION, False):
            # Held until commit or rollback: the replicas' writers take turns.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
