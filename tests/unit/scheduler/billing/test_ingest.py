"""Ingest into a real SQLite store: one pass, and nothing of a bad file stays, even when
its bad row comes after chunks that were already stored."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.billing import BillingFileError
from scheduler.billing import ingest_file
from scheduler.store import BillingStore, Database
from scheduler.store.tables import BillingFileRow, BillingLineRow

SAMPLE = Path(__file__).parents[3] / "data" / "billing" / "focus_1.0_sample.csv"
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def counts(db: Database) -> tuple[int, int]:
    with db.read() as s:
        files = s.execute(select(func.count()).select_from(BillingFileRow)).scalar_one()
        lines = s.execute(select(func.count()).select_from(BillingLineRow)).scalar_one()
    return files, lines


def test_a_bad_row_in_a_late_chunk_takes_back_the_lines_already_stored(tmp_path: Path) -> None:
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[900][rows[0].index("EffectiveCost")] = "lots"
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    store = BillingStore(db)
    seen: list[int] = []
    with pytest.raises(BillingFileError) as err:
        ingest_file(store, bad, now=NOW, chunk_rows=100, progress=lambda n, _: seen.append(n))
    assert seen[-1] == 800  # eight chunks were stored before the bad one
    assert "EffectiveCost row 901" in str(err.value)
    assert counts(db) == (0, 0)
    # The good sample, in the same chunks, goes in whole with its exact total.
    report = ingest_file(store, SAMPLE, now=NOW, chunk_rows=100)
    assert (report.rows, report.added) == (1000, 1000)
    assert str(report.billed_cost) == "20.52022672899"
    assert counts(db) == (1, 1000)
