"""Adopt a store made before migrations existed (its tables, no ``alembic_version``).

Such a store has the baseline's tables as they were when it was created: tables and
columns added since are missing. Adopting creates the missing tables and indexes as the
baseline revision writes them and adds missing columns with the code's default (the old
``add_missing_columns``); the runner then stamps it ``0001_baseline``.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, create_engine, inspect
from sqlalchemy.schema import CreateColumn
from sqlmodel import SQLModel

from scheduler.store import tables  # noqa: F401  (registers the tables)

BASELINE = "0001_baseline"


def needs_adoption(conn: Connection) -> bool:
    names = set(inspect(conn).get_table_names())
    return "alembic_version" not in names and "jobs" in names


@dataclass(frozen=True)
class _Index:
    name: str
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class _Table:
    columns: tuple[str, ...]
    indexes: tuple[_Index, ...]


def adopt(conn: Connection) -> None:
    """Bring the store to the baseline, in the caller's transaction."""
    baseline = _baseline()
    reference = _reference()  # first: it sets and clears ``op`` itself
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    with Operations.context(MigrationContext.configure(conn)) as op:
        for name, create in baseline.TABLES.items():
            if name not in existing:
                create()
                continue
            want = reference[name]
            have = {c["name"] for c in inspector.get_columns(name)}
            for column in want.columns:
                if column not in have:
                    conn.exec_driver_sql(_add_column_ddl(conn, name, column))
            have_indexes = {ix["name"] for ix in inspector.get_indexes(name)}
            for ix in want.indexes:
                if ix.name not in have_indexes:
                    op.create_index(ix.name, name, list(ix.columns), unique=ix.unique)


def _add_column_ddl(conn: Connection, table: str, name: str) -> str:
    column = SQLModel.metadata.tables[table].columns[name]
    default = getattr(column.default, "arg", None)
    if default is None and not column.nullable:
        raise RuntimeError(
            f"table {table} lacks column {name}, which has no default: this store is too old"
            " to adopt; dump and reload it"
        )
    ddl = CreateColumn(column).compile(dialect=conn.dialect)
    literal = "" if default is None else f" DEFAULT {_sql_literal(default)}"
    return f"ALTER TABLE {table} ADD COLUMN {ddl}{literal}"


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _baseline() -> ModuleType:
    return importlib.import_module(f"scheduler.store.migrations.versions.{BASELINE}")


@functools.cache
def _reference() -> dict[str, _Table]:
    """The baseline's tables as its revision creates them (built in memory)."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            with Operations.context(MigrationContext.configure(conn)):
                _baseline().upgrade()
            inspector = inspect(conn)
            return {
                name: _Table(
                    columns=tuple(c["name"] for c in inspector.get_columns(name)),
                    indexes=tuple(
                        _Index(str(ix["name"]), tuple(map(str, ix["column_names"])), ix["unique"])
                        for ix in inspector.get_indexes(name)
                    ),
                )
                for name in _baseline().TABLES
            }
    finally:
        engine.dispose()
