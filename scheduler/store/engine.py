"""Database engine: SQLite (WAL, default under the user's data dir) or any SQLAlchemy URL.

On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so two writers queue
on the busy timeout instead of failing on a lock upgrade; reads stay deferred.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateColumn
from sqlmodel import SQLModel

from scheduler.store import tables  # noqa: F401  (registers the tables)

WRITE_OPTION = "skybatch_write"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """Create the engine and the schema (idempotent)."""
    if url.startswith("sqlite"):
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
        engine = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine)
    return engine


def add_missing_columns(engine: Engine) -> None:
    """Add columns that newer code defines to tables an older version created.

    Only additive changes with a default are handled (``ALTER TABLE ... ADD COLUMN``),
    which is all the schema has needed so far; anything else needs a real migration.
    """
    with engine.begin() as conn:
        inspector = inspect(conn)
        existing_tables = set(inspector.get_table_names())
        for table in SQLModel.metadata.sorted_tables:
            if table.name not in existing_tables:
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                default = getattr(column.default, "arg", None)
                if default is None and not column.nullable:
                    raise RuntimeError(
                        f"table {table.name} lacks column {column.name}, which has no default:"
                        " this database needs a migration"
                    )
                ddl = CreateColumn(column).compile(dialect=engine.dialect)
                literal = "" if default is None else f" DEFAULT {_sql_literal(default)}"
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}{literal}")


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


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
