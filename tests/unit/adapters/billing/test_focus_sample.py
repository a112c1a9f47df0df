"""The FinOps Foundation's real FOCUS 1.0 sample: read whole, exactly."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest

from adapters.billing import (
    BILL_COLUMNS,
    BillFormat,
    bill_dtypes,
    bill_format,
    read_bill,
    summarize_bill,
)
from tests.unit.adapters.billing.bills import SAMPLE, read_text_rows


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return read_bill(SAMPLE)


@pytest.fixture(scope="module")
def text_rows() -> list[dict[str, str]]:
    return read_text_rows(SAMPLE)


def by_id(frame: pd.DataFrame, text_rows: list[dict[str, str]], row_id: str) -> pd.Series:
    """The frame row of the text row whose ``Id`` is ``row_id`` (via x_SourceRow)."""
    index = next(i for i, r in enumerate(text_rows) if r["Id"] == row_id)
    match = frame[frame["x_SourceRow"] == index + 2]
    assert len(match) == 1
    return match.iloc[0]


def test_the_sample_is_focus_1_0_with_the_frame_contract(frame: pd.DataFrame) -> None:
    assert bill_format(SAMPLE) is BillFormat.FOCUS_1_0
    assert len(frame) == 1000
    assert tuple(frame.columns) == BILL_COLUMNS
    assert {c: str(t) for c, t in frame.dtypes.items()} == bill_dtypes()
    assert frame["x_SourceRow"].tolist() == list(range(2, 1002))
    assert frame.index.tolist() == list(range(1000))


def test_money_is_the_exact_text_of_the_file(
    frame: pd.DataFrame, text_rows: list[dict[str, str]]
) -> None:
    row = by_id(frame, text_rows, "19384")
    assert row["BilledCost"] == Decimal("0.00001605990")
    # Same digits, same scale: Decimal keeps the trailing zeros of the text.
    assert format(row["BilledCost"], "f") == "0.00001605990"
    for column in ("BilledCost", "EffectiveCost", "ListCost"):
        texts = [r[column] for r in text_rows]
        assert [format(v, "f") for v in frame[column]] == texts
        assert all(isinstance(v, Decimal) for v in frame[column])
    total = sum((Decimal(r["BilledCost"]) for r in text_rows), Decimal(0))
    assert summarize_bill(SAMPLE).billed_cost == total


def test_null_becomes_none_or_nan(frame: pd.DataFrame, text_rows: list[dict[str, str]]) -> None:
    credit = by_id(frame, text_rows, "2555992")  # ConsumedQuantity NULL, ResourceId NULL
    assert math.isnan(credit["ConsumedQuantity"])
    assert credit["ConsumedUnit"] is None
    assert credit["ResourceId"] is None
    assert credit["AvailabilityZone"] is None
    assert credit["PricingQuantity"] == 0.0
    assert credit["Tags"] == {}
    # Oracle rows leave ContractedCost NULL and RegionId NULL; 1.0 is read leniently.
    oracle = frame[frame["ProviderName"] == "Oracle"]
    assert len(oracle) == 7
    assert oracle["ContractedCost"].isna().all()
    assert oracle["RegionId"].isna().all()
    # An empty field is null too (BillingAccountName is empty on Oracle rows; not kept,
    # but ResourceName is).
    assert oracle["ResourceName"].isna().all()


def test_tags_are_dicts(frame: pd.DataFrame, text_rows: list[dict[str, str]]) -> None:
    row = by_id(frame, text_rows, "19384")
    assert row["Tags"] == {
        "application": "BrightLensMatrix",
        "environment": "dev",
        "business_unit": "ViennaAI",
    }
    assert all(isinstance(t, dict) for t in frame["Tags"])
    assert sum(1 for t in frame["Tags"] if not t) == 289  # the NULL tags
    # Every row has its own dict.
    assert len({id(t) for t in frame["Tags"]}) == 1000


def test_timestamps_are_utc(frame: pd.DataFrame, text_rows: list[dict[str, str]]) -> None:
    row = by_id(frame, text_rows, "11472")
    assert row["ChargePeriodStart"] == pd.Timestamp("2024-09-18 22:00:00", tz="UTC")
    assert row["ChargePeriodEnd"] == pd.Timestamp("2024-09-18 23:00:00", tz="UTC")
    assert row["BillingPeriodStart"] == pd.Timestamp("2024-09-01", tz="UTC")


def test_summary(frame: pd.DataFrame) -> None:
    summary = summarize_bill(SAMPLE)
    assert summary.format is BillFormat.FOCUS_1_0
    assert summary.rows == 1000
    assert summary.currency == "USD"
    assert summary.charge_period_start == frame["ChargePeriodStart"].min().to_pydatetime()
    assert summary.charge_period_end == frame["ChargePeriodEnd"].max().to_pydatetime()
    assert summary.charge_period_start.tzinfo is not None
    assert summary.charge_period_start >= datetime(2024, 9, 1, tzinfo=UTC)
    assert summary.effective_cost == sum(frame["EffectiveCost"], Decimal(0))


def test_small_chunks_give_the_same_frame(frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(read_bill(SAMPLE, chunk_rows=7), frame)
