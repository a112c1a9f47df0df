"""Row keys: stable across reads, distinct for identical rows, blind to column order."""

from __future__ import annotations

import csv
from pathlib import Path

from adapters.billing import read_bill
from tests.unit.adapters.billing.bills import SAMPLE, write_rows


def test_keys_are_stable_across_reads_and_chunkings() -> None:
    first = read_bill(SAMPLE)["x_RowKey"].tolist()
    assert read_bill(SAMPLE)["x_RowKey"].tolist() == first
    assert read_bill(SAMPLE, chunk_rows=13)["x_RowKey"].tolist() == first
    assert len(set(first)) == 1000
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in first)


def test_identical_rows_get_distinct_keys_that_are_stable(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{}, {"BilledCost": "2"}, {}, {}])
    keys = read_bill(path)["x_RowKey"].tolist()
    assert len(set(keys)) == 4
    # Across a chunk boundary too: the repeats are counted over the whole file.
    assert read_bill(path, chunk_rows=1)["x_RowKey"].tolist() == keys
    # The first occurrence's key depends only on its content.
    single = write_rows(tmp_path / "single.csv", [{}])
    assert read_bill(single)["x_RowKey"].tolist() == keys[:1]


def test_a_changed_value_changes_the_key(tmp_path: Path) -> None:
    a = read_bill(write_rows(tmp_path / "a.csv", [{}]))["x_RowKey"][0]
    b = read_bill(write_rows(tmp_path / "b.csv", [{"ChargeDescription": "other"}]))["x_RowKey"][0]
    # A column skybatch does not keep still counts: the key covers the raw row.
    c = read_bill(write_rows(tmp_path / "c.csv", [{"PublisherName": "x"}]))["x_RowKey"][0]
    assert len({a, b, c}) == 3


def test_null_and_empty_are_the_same_raw_value(tmp_path: Path) -> None:
    a = read_bill(write_rows(tmp_path / "a.csv", [{"ChargeClass": "NULL"}]))["x_RowKey"][0]
    b = read_bill(write_rows(tmp_path / "b.csv", [{"ChargeClass": ""}]))["x_RowKey"][0]
    assert a == b


def test_column_order_does_not_matter(tmp_path: Path) -> None:
    with SAMPLE.open(newline="") as f:
        rows = list(csv.reader(f))
    shuffled = tmp_path / "reversed.csv"
    with shuffled.open("w", newline="") as f:
        csv.writer(f).writerows(row[::-1] for row in rows)
    assert read_bill(shuffled)["x_RowKey"].tolist() == read_bill(SAMPLE)["x_RowKey"].tolist()
