"""The billing store on PostgreSQL gives what it gives on SQLite (whose insert path is
the driver's own ``executemany``): same lines, same exact money, re-ingest adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from scheduler.billing import ingest_file
from scheduler.store import BillingStore, Database

SAMPLE = Path(__file__).parents[3] / "data" / "billing" / "focus_1.0_sample.csv"
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def ingest_twice(url: str) -> tuple[tuple[int, int, int], pd.DataFrame]:
    db = Database(url)
    try:
        store = BillingStore(db)
        first = ingest_file(store, SAMPLE, now=NOW, chunk_rows=300)
        # Forget the file but keep its lines: a second pass finds every line stored.
        again = store.add_lines({"key": [store.lines_frame()["key"].iloc[0]]} | _one_line(store))
        return (first.rows, first.added, again), store.lines_frame()
    finally:
        db.close()


def _one_line(store: BillingStore) -> dict[str, list[object]]:
    frame = store.lines_frame()
    row = frame.iloc[0]
    return {
        "file_sha256": ["x"],
        "source_row": [1],
        "provider": [row["provider"]],
        "billing_account": ["acct"],
        "charge_category": [row["charge_category"]],
        "charge_period_start": [row["ChargePeriodStart"].to_pydatetime()],
        "charge_period_end": [row["ChargePeriodEnd"].to_pydatetime()],
        "currency": ["USD"],
        "billed_cost": ["1"],
        "effective_cost": ["1"],
        "tags_json": ["{}"],
    }


def test_postgresql_stores_bills_as_sqlite_does(tmp_path: Path, pg_url: str) -> None:
    on_sqlite, lines_sqlite = ingest_twice(f"sqlite:///{tmp_path / 's.db'}")
    on_pg, lines_pg = ingest_twice(pg_url)
    assert on_sqlite == on_pg == (1000, 1000, 0)
    pd.testing.assert_frame_equal(lines_pg, lines_sqlite)
    assert lines_pg["BilledCost"].sum() == lines_sqlite["BilledCost"].sum()
    assert str(lines_pg["ChargePeriodStart"].dt.tz) == "UTC"
