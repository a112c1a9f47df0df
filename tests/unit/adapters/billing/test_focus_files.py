"""Generated FOCUS 1.2 bills: versions, containers (CSV, gzip, Parquet), chunking."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from adapters.billing import (
    BILL_COLUMNS,
    BillFormat,
    bill_dtypes,
    bill_format,
    iter_bill,
    read_bill,
    summarize_bill,
)
from adapters.billing.focus_spec import FocusVersion, introduced_in
from benchmarks.billing.generate import write_focus
from tests.unit.adapters.billing.bills import SAMPLE, VALID_ROW, read_text_rows, write_rows

ROWS = 300


@pytest.fixture(scope="module")
def focus_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("focus") / "bill.csv"
    write_focus(path, ROWS, seed=7)
    return path


def as_text_table(path: Path) -> pa.Table:
    """The CSV as the reader sees it: every column text, ``NULL`` and empty null."""
    names = read_text_rows(path)[0].keys()
    return pa_csv.read_csv(
        path,
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=["", "NULL"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def test_a_generated_1_2_bill_reads_exactly(focus_csv: Path) -> None:
    bill = write_focus(focus_csv.with_name("again.csv"), ROWS, seed=7)
    frame = read_bill(focus_csv)
    assert bill_format(focus_csv) is BillFormat.FOCUS_1_2
    assert tuple(frame.columns) == BILL_COLUMNS
    assert {c: str(t) for c, t in frame.dtypes.items()} == bill_dtypes()
    assert len(frame) == ROWS
    assert sum(frame["BilledCost"], Decimal(0)) == bill.billed_cost
    assert sum(frame["EffectiveCost"], Decimal(0)) == bill.effective_cost
    text = read_text_rows(focus_csv)
    assert [format(v, "f") for v in frame["ListCost"]] == [r["ListCost"] for r in text]
    # Compute rows carry their instance type and, on skybatch's nodes, attempt tags.
    compute = frame[frame["ServiceCategory"] == "Compute"].dropna(subset=["x_InstanceType"])
    assert len(compute) > ROWS // 2
    assert any("skybatch-attempt" in t for t in compute["Tags"])
    assert set(frame["ChargeCategory"]) <= {"Usage", "Tax", "Credit"}
    summary = summarize_bill(focus_csv)
    assert (summary.rows, summary.billed_cost, summary.effective_cost) == (
        ROWS,
        bill.billed_cost,
        bill.effective_cost,
    )


@pytest.mark.parametrize(
    ("dropped", "expected"),
    [
        ((), BillFormat.FOCUS_1_2),
        (introduced_in(FocusVersion.V1_2), BillFormat.FOCUS_1_1),
        (introduced_in(FocusVersion.V1_2) | introduced_in(FocusVersion.V1_1), BillFormat.FOCUS_1_0),
        # Microsoft's 1.0 exports carry BillingAccountType and SubAccountType already.
        (
            (introduced_in(FocusVersion.V1_2) | introduced_in(FocusVersion.V1_1))
            - {"BillingAccountType", "SubAccountType"},
            BillFormat.FOCUS_1_0,
        ),
    ],
)
def test_the_version_is_told_by_the_columns(
    tmp_path: Path, dropped: frozenset[str], expected: BillFormat
) -> None:
    path = tmp_path / "bill.csv"
    write_focus(path, 20, drop=dropped)
    assert bill_format(path) is expected
    assert len(read_bill(path)) == 20


def test_only_the_mandatory_columns_are_enough(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{}, {"Tags": "NULL"}])
    frame = read_bill(path)
    assert bill_format(path) is BillFormat.FOCUS_1_0
    assert frame["ConsumedQuantity"].isna().all()
    assert frame["x_InstanceType"].isna().all()
    assert frame["Tags"].tolist() == [{"skybatch-attempt": "att-1"}, {}]


def test_timestamps_naive_z_and_offset_are_all_utc(tmp_path: Path) -> None:
    starts = ["2024-09-18 22:00:00", "2024-09-18T22:00:00Z", "2024-09-19T00:00:00+02:00"]
    path = write_rows(
        tmp_path / "bill.csv",
        [{"ChargePeriodStart": s, "ChargePeriodEnd": "2024-09-18T23:00:00Z"} for s in starts],
    )
    frame = read_bill(path)
    assert (frame["ChargePeriodStart"] == pd.Timestamp("2024-09-18 22:00", tz="UTC")).all()


def test_decimal_text_forms_are_kept_exactly(tmp_path: Path) -> None:
    costs = ["1", "-0.5", "+2.50", ".25", "1e-7", "0.00000080000"]
    path = write_rows(tmp_path / "bill.csv", [{"BilledCost": c} for c in costs])
    frame = read_bill(path)
    assert frame["BilledCost"].tolist() == [Decimal(c) for c in costs]
    assert [str(v) for v in frame["BilledCost"]] == [str(Decimal(c)) for c in costs]


def test_gzip_and_parquet_read_like_csv(focus_csv: Path, tmp_path: Path) -> None:
    frame = read_bill(focus_csv)
    gz = tmp_path / "bill.csv.gz"
    write_focus(gz, ROWS, seed=7)
    pd.testing.assert_frame_equal(read_bill(gz), frame)
    # The same text as Parquet: same values, same keys; rows count from 1, not 2.
    parquet = tmp_path / "bill.parquet"
    pq.write_table(as_text_table(focus_csv), parquet)
    from_parquet = read_bill(parquet)
    assert bill_format(parquet) is BillFormat.FOCUS_1_2
    assert from_parquet["x_RowKey"].tolist() == frame["x_RowKey"].tolist()
    assert (from_parquet["x_SourceRow"] == frame["x_SourceRow"] - 1).all()
    pd.testing.assert_frame_equal(
        from_parquet.drop(columns="x_SourceRow"), frame.drop(columns="x_SourceRow")
    )


def test_typed_parquet_reads_to_the_same_values(focus_csv: Path, tmp_path: Path) -> None:
    """Real Parquet exports type their columns (decimal, timestamp[ms]); values come out
    the same. Keys follow the file's own text, so they differ from the CSV's."""
    parquet = tmp_path / "typed.parquet"
    bill = write_focus(parquet, ROWS, seed=7)
    schema = pq.read_schema(parquet)
    assert pa.types.is_decimal(schema.field("BilledCost").type)
    assert pa.types.is_timestamp(schema.field("ChargePeriodStart").type)
    typed = read_bill(parquet)
    frame = read_bill(focus_csv)
    data = [c for c in BILL_COLUMNS if c not in ("x_SourceRow", "x_RowKey")]
    pd.testing.assert_frame_equal(typed[data], frame[data])
    assert summarize_bill(parquet).billed_cost == bill.billed_cost


def test_parquet_doubles_are_read_by_their_shortest_text(tmp_path: Path) -> None:
    table = as_text_table(SAMPLE)
    index = table.schema.get_field_index("BilledCost")
    doubles = table.column("BilledCost").cast(pa.float64())
    path = tmp_path / "doubles.parquet"
    pq.write_table(table.set_column(index, "BilledCost", doubles), path)
    frame = read_bill(path)
    assert frame["BilledCost"].iloc[1] == Decimal("0.0000160599")
    assert frame["BilledCost"].iloc[0] == Decimal("8E-7")


def test_chunks_of_seven_rows_make_the_same_frame(focus_csv: Path) -> None:
    whole = read_bill(focus_csv)
    chunks = list(iter_bill(focus_csv, chunk_rows=7))
    assert [len(c) for c in chunks] == [7] * (ROWS // 7) + [ROWS % 7]
    assert chunks[1].index[0] == 7
    assert chunks[1]["x_SourceRow"].iloc[0] == 9
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)
    assert summarize_bill(focus_csv, chunk_rows=7) == summarize_bill(focus_csv)


def test_instance_type_from_sku_price_details(tmp_path: Path, focus_csv: Path) -> None:
    path = tmp_path / "bill.csv"
    write_focus(path, ROWS, seed=7, drop=["x_InstanceType"])
    derived = read_bill(path)["x_InstanceType"]
    assert derived.tolist() == read_bill(focus_csv)["x_InstanceType"].tolist()
    assert derived.notna().sum() > ROWS // 2
    # Not a JSON object: no instance type, and no error (the column is not kept).
    odd = write_rows(
        tmp_path / "odd.csv",
        [{"SkuPriceDetails": "not json"}, {"SkuPriceDetails": '{"InstanceType": "m5.large"}'}],
        columns=[*VALID_ROW, "SkuPriceDetails"],
    )
    assert read_bill(odd)["x_InstanceType"].tolist() == [None, "m5.large"]


def test_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{}, {"BilledCost": "2"}])
    data = path.read_bytes()
    assert b"\r\n" in data  # the csv module writes Windows line ends
    path.write_bytes(b"\xef\xbb\xbf" + data.replace(b"\r\n", b"\r\n\r\n", 2))
    frame = read_bill(path)
    assert frame.columns[0] == "BillingAccountId"
    assert frame["BilledCost"].tolist() == [Decimal("1.50"), Decimal("2")]
    # Blank lines are not rows: the second row is row 3 whatever the lines above it.
    assert frame["x_SourceRow"].tolist() == [2, 3]


def test_chunk_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        iter_bill(SAMPLE, chunk_rows=0)
