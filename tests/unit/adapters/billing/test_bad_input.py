"""Bad bills are refused whole, and the error names the column and the row of every problem."""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.billing import (
    BillingFileError,
    BillingProblem,
    bill_format,
    iter_bill,
    read_bill,
    summarize_bill,
)
from benchmarks.billing.generate import write_focus
from tests.unit.adapters.billing.bills import VALID_ROW, write_rows

Reader = Callable[[Path], object]
READERS: list[Reader] = [read_bill, summarize_bill, lambda p: list(iter_bill(p, chunk_rows=2))]


def refused(path: Path, read: Reader = read_bill) -> BillingFileError:
    with pytest.raises(BillingFileError) as caught:
        read(path)
    assert caught.value.path == path
    return caught.value


def problems(error: BillingFileError) -> list[tuple[str, int | None]]:
    return [(p.column, p.row) for p in error.problems]


@pytest.mark.parametrize("read", READERS)
def test_a_bad_decimal_names_column_row_and_value(tmp_path: Path, read: Reader) -> None:
    changes: list[dict[str, str]] = [{}] * 15 + [{"BilledCost": "abc"}]
    path = write_rows(tmp_path / "bill.csv", changes)
    error = refused(path, read)
    assert str(error) == "bill.csv: BilledCost row 17: 'abc' is not a decimal number"
    assert error.problems == [BillingProblem("BilledCost", 17, "'abc' is not a decimal number")]


def test_every_problem_of_the_file_is_reported(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "bill.csv",
        [
            {},
            {"ChargePeriodStart": "2024-13-45T00:00:00Z"},
            {"PricingQuantity": "lots"},
            {"BilledCost": "NULL", "ServiceName": ""},
            {"ChargePeriodEnd": "2024-08-31T23:00:00Z"},
            {"Tags": "[1, 2]"},
            {"ListCost": "NaN", "EffectiveCost": "1,50"},
        ],
    )
    error = refused(path)
    assert sorted(problems(error), key=str) == sorted(
        [
            ("ChargePeriodStart", 3),
            ("PricingQuantity", 4),
            ("BilledCost", 5),
            ("ServiceName", 5),
            ("ChargePeriodEnd", 6),
            ("Tags", 7),
            ("ListCost", 8),
            ("EffectiveCost", 8),
        ],
        key=str,
    )
    text = str(error)
    assert "bill.csv: ChargePeriodStart row 3: '2024-13-45T00:00:00Z' is not an ISO 8601" in text
    assert "bill.csv: PricingQuantity row 4: 'lots' is not a number" in text
    assert "bill.csv: BilledCost row 5: is null (NULL or empty) but must not be" in text
    assert (
        "bill.csv: ChargePeriodEnd row 6: 2024-08-31T23:00:00Z is before "
        "ChargePeriodStart 2024-09-01T00:00:00Z" in text
    )
    assert "bill.csv: Tags row 7: '[1, 2]' is not a JSON object" in text
    assert "bill.csv: ListCost row 8: 'NaN' is not a decimal number" in text


def test_missing_mandatory_columns_are_all_named(tmp_path: Path) -> None:
    columns = [c for c in VALID_ROW if c not in ("BilledCost", "ChargePeriodStart")]
    path = write_rows(tmp_path / "bill.csv", [{}], columns=columns)
    for read in (bill_format, read_bill, summarize_bill, iter_bill):
        error = refused(path, read)
        assert problems(error) == [("BilledCost", None), ("ChargePeriodStart", None)]
    assert str(error).splitlines() == [
        "bill.csv: BilledCost: mandatory FOCUS 1.0 column is missing",
        "bill.csv: ChargePeriodStart: mandatory FOCUS 1.0 column is missing",
    ]


def test_list_cost_may_be_null_in_1_0_but_not_in_1_2(tmp_path: Path) -> None:
    lenient = write_rows(tmp_path / "v1_0.csv", [{"ListCost": "NULL", "ContractedCost": ""}])
    frame = read_bill(lenient)
    assert frame["ListCost"].tolist() == [None]
    assert frame["ContractedCost"].tolist() == [None]
    strict = write_rows(
        tmp_path / "v1_2.csv",
        [{"ListCost": "NULL", "InvoiceId": "INV-1"}],
        columns=[*VALID_ROW, "InvoiceId"],
    )
    assert problems(refused(strict)) == [("ListCost", 2)]


@pytest.mark.parametrize(
    ("currency", "message"),
    [
        ("XYZ", "'XYZ' is not an ISO 4217 currency code"),
        ("usd", "'usd' is not an ISO 4217 currency code"),
        ("EUR", "'EUR': skybatch accounts in USD only and converts no currency"),
    ],
)
def test_unknown_or_foreign_currency(tmp_path: Path, currency: str, message: str) -> None:
    path = write_rows(tmp_path / "bill.csv", [{"BillingCurrency": currency}])
    error = refused(path, summarize_bill)
    assert str(error) == f"bill.csv: BillingCurrency row 2: {message}"


def test_mixed_currencies_in_one_chunk(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{}, {}, {"BillingCurrency": "EUR"}])
    error = refused(path)
    assert (
        "bill.csv: BillingCurrency row 4: 'EUR' differs from 'USD' in row 2: "
        "a bill must be in one currency"
    ) in str(error)


def test_mixed_currencies_across_chunks(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{}] * 5 + [{"BillingCurrency": "GBP"}])
    chunks = iter_bill(path, chunk_rows=2)
    assert len(next(chunks)) == 2
    assert len(next(chunks)) == 2
    # Row 7 is in the third chunk: found only when that chunk is read, which is why
    # callers check the whole file with summarize_bill before storing anything.
    with pytest.raises(BillingFileError, match="row 7: 'GBP' differs from 'USD' in row 2"):
        next(chunks)
    error = refused(path, lambda p: summarize_bill(p, chunk_rows=2))
    assert problems(error) == [("BillingCurrency", 7), ("BillingCurrency", 7)]


def test_problems_past_twenty_are_counted(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{"EffectiveCost": f"x{i}"} for i in range(30)])
    error = refused(path)
    assert error.problem_count == 30
    assert len(error.problems) == 30
    lines = str(error).splitlines()
    assert len(lines) == 21
    assert lines[0] == "bill.csv: EffectiveCost row 2: 'x0' is not a decimal number"
    assert lines[-1] == "bill.csv: ... and 10 more"


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert str(refused(empty)) == "empty.csv: is empty (no header, no rows)"
    header_only = write_rows(tmp_path / "header.csv", [])
    for read in READERS:
        assert str(refused(header_only, read)) == "header.csv: has a header but no data rows"


def test_neither_focus_nor_cur_says_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("date,amount,memo\n2024-09-01,1.00,coffee\n")
    error = refused(path, bill_format)
    assert "is neither a FOCUS nor an AWS CUR bill" in str(error)
    assert "BilledCost" in str(error)
    assert "lineItem/UsageStartDate" in str(error)
    assert "found date, amount, memo" in str(error)


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("random.csv", bytes(range(256)) * 64, "not a CSV file"),
        ("fake.parquet", b"PAR1" + b"\x00garbage" * 100, "not a readable Parquet file"),
        ("broken.csv.gz", b"\x1f\x8b\x08\x00" + b"not really gzip" * 10, "not a readable"),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 100, "zip archive"),
    ],
)
def test_files_that_are_not_csv_or_parquet(
    tmp_path: Path, name: str, content: bytes, fragment: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert fragment in str(refused(path))


def test_a_truncated_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "bill.parquet"
    write_focus(path, 50)
    path.write_bytes(path.read_bytes()[:-100])
    assert "not a readable Parquet file" in str(refused(path))


def test_a_truncated_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "bill.csv.gz"
    write_focus(path, 3000)
    path.write_bytes(path.read_bytes()[:-2000])
    assert "not a readable gzip-compressed CSV file" in str(refused(path))


def test_rows_with_the_wrong_number_of_fields(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{}, {}, {}])
    lines = path.read_text().splitlines()
    lines[2] += ",extra"
    lines[3] = lines[3].rsplit(",", 3)[0]
    path.write_text("\n".join(lines) + "\n")
    error = refused(path)
    assert problems(error) == [("", 3), ("", 4)]
    assert str(error).splitlines() == [
        f"bill.csv: row 3: has {len(VALID_ROW) + 1} fields, the header has {len(VALID_ROW)}",
        f"bill.csv: row 4: has {len(VALID_ROW) - 3} fields, the header has {len(VALID_ROW)}",
    ]


def test_rows_are_counted_as_records_not_lines(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "bill.csv", [{"ChargeDescription": "two\nlines"}, {"BilledCost": "?"}]
    )
    assert problems(refused(path)) == [("BilledCost", 3)]


def test_bad_utf8_in_the_rows(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{}, {"ChargeDescription": "XX"}])
    path.write_bytes(path.read_bytes().replace(b"XX", b"\xff\xfe"))
    assert str(refused(path)) == "bill.csv: ChargeDescription row 3: is not UTF-8 text"


def test_a_repeated_column_is_refused(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{}], columns=[*VALID_ROW, "BilledCost"])
    assert str(refused(path, bill_format)) == "bill.csv: BilledCost: appears twice in the header"


def test_gzip_header_is_read(tmp_path: Path) -> None:
    plain = write_rows(tmp_path / "bill.csv", [{"BilledCost": "bad"}])
    packed = tmp_path / "bill.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert problems(refused(packed)) == [("BilledCost", 2)]


def test_a_total_that_cannot_be_exact_is_refused_not_rounded(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{"BilledCost": "1e999999"}, {"BilledCost": "0.01"}])
    assert len(read_bill(path)) == 2  # each value is fine on its own
    error = refused(path, summarize_bill)
    assert problems(error) == [("BilledCost", None)]
    assert "cannot be kept exact" in str(error)


def test_the_error_survives_pickling(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "bill.csv", [{"BilledCost": "abc"}])
    error = refused(path)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.problems, copy.problem_count, str(copy)) == (
        error.path,
        error.problems,
        error.problem_count,
        str(error),
    )
