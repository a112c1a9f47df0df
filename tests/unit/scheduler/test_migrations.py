"""Migrations on real SQLite and real PostgreSQL: head equals the code's tables, a store
made before migrations is adopted, replicas starting at once do not race."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

from scheduler.store import Database, HistoryStore
from scheduler.store.engine import make_engine
from scheduler.store.migrations import runner


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_migrations_produce_exactly_the_code_tables(fresh_url: str) -> None:
    Database(fresh_url).close()
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, SQLModel.metadata) == []
            assert runner.current(conn) == runner.head()
    finally:
        engine.dispose()


def test_replicas_starting_at_once_migrate_once(fresh_url: str) -> None:
    start = threading.Barrier(4)

    def open_store(_: int) -> str | None:
        start.wait()
        db = Database(fresh_url)
        try:
            with db.engine.connect() as conn:
                return runner.current(conn)
        finally:
            db.close()

    with ThreadPoolExecutor(4) as pool:
        revisions = list(pool.map(open_store, range(4)))
    assert revisions == [runner.head()] * 4


def test_a_store_from_before_migrations_is_adopted_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}", migrate=False)
    with engine.connect() as conn, conn.begin():
        runner.upgrade(conn, "0001_baseline")
    engine.dispose()
    with sqlite3.connect(path) as conn:  # as an older skybatch left it: no alembic_version,
        conn.execute("DROP TABLE alembic_version")  # no cost_models table yet, an index
        conn.execute("DROP TABLE cost_models")  # and a column missing
        conn.execute("DROP INDEX ix_jobs_state_n")
        conn.execute("ALTER TABLE attempts DROP COLUMN start_progress")
        conn.execute(
            "INSERT INTO attempts (id, job_id, number, cloud, region, zone, instance_type,"
            " market, price_micros_per_hour, state, node_id, created_at, preempted, progress,"
            " end_reason, cost_micros) VALUES ('a-1', 'j', 1, 'local', 'r', 'z', 't', 'spot',"
            " 1, 'SUCCEEDED', '', '2026-11-26 12:00:00', 0, 1.0, '', 0)"
        )
    db = Database(f"sqlite:///{path}")
    try:
        frame = HistoryStore(db).attempts_frame()
        assert frame["attempt_id"].tolist() == ["a-1"]
        assert frame["start_progress"].tolist() == [0.0]
        with db.engine.connect() as conn:
            assert runner.current(conn) == runner.head()
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, SQLModel.metadata) == []
            assert conn.execute(text("SELECT count(*) FROM cost_models")).scalar() == 0
            assert "ix_jobs_state_n" in {ix["name"] for ix in inspect(conn).get_indexes("jobs")}
    finally:
        db.close()


def test_a_failed_upgrade_on_postgresql_leaves_the_store_as_it_was(pg_url: str) -> None:
    """PostgreSQL's DDL is transactional: the baseline is all there or not at all."""
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE secrets (name text)"))  # in the baseline's way
        with pytest.raises(Exception, match="secrets"):
            Database(pg_url)
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"secrets"}
    finally:
        engine.dispose()
