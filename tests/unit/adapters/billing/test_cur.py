"""AWS CUR (legacy and 2.0) mapped to the FOCUS-named frame."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from adapters.billing import BILL_COLUMNS, BillFormat, BillingFileError, bill_format, read_bill
from adapters.billing import summarize_bill as summarize
from benchmarks.billing.generate import CUR_TAG_KEYS, write_cur
from tests.unit.adapters.billing.bills import read_text_rows

ROWS = 400


@pytest.fixture(scope="module")
def cur_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cur") / "cur.csv"
    write_cur(path, ROWS, seed=3)
    return path


@pytest.fixture(scope="module")
def frame(cur_csv: Path) -> pd.DataFrame:
    return read_bill(cur_csv)


def test_cur_maps_every_row(cur_csv: Path, frame: pd.DataFrame) -> None:
    assert bill_format(cur_csv) is BillFormat.AWS_CUR
    assert tuple(frame.columns) == BILL_COLUMNS
    text = read_text_rows(cur_csv)
    assert len(frame) == len(text) == ROWS
    for row, t in zip(frame.to_dict("records"), text, strict=True):
        assert row["BilledCost"] == Decimal(t["lineItem/UnblendedCost"])
        assert row["EffectiveCost"] == Decimal(t["lineItem/NetUnblendedCost"])
        list_cost = t["pricing/publicOnDemandCost"]
        assert row["ListCost"] == (Decimal(list_cost) if list_cost else None)
        assert row["ContractedCost"] is None
        assert row["BillingAccountId"] == t["bill/PayerAccountId"]
        assert row["SubAccountId"] == t["lineItem/UsageAccountId"]
        assert row["ServiceName"] == t["lineItem/ProductCode"]
        assert row["ProviderName"] == "AWS"
        assert row["ChargePeriodStart"] == pd.Timestamp(t["lineItem/UsageStartDate"])
        assert row["BillingPeriodEnd"] == pd.Timestamp(t["bill/BillingPeriodEndDate"])
        assert row["PricingQuantity"] == row["ConsumedQuantity"] == float(t["lineItem/UsageAmount"])
        assert row["PricingUnit"] == (t["pricing/unit"] or None)
        assert row["x_InstanceType"] == (t["product/instanceType"] or None)
        zone = t["lineItem/AvailabilityZone"]
        assert row["AvailabilityZone"] == (zone or None)
        region = t["product/region"] or (zone[:-1] if zone else None)
        assert row["RegionId"] == region
        tags = {
            key: t[f"resourceTags/user:{key}"]
            for key in CUR_TAG_KEYS
            if t[f"resourceTags/user:{key}"]
        }
        assert row["Tags"] == tags
        expected = {
            "Usage": "Usage",
            "SavingsPlanCoveredUsage": "Usage",
            "Tax": "Tax",
            "Credit": "Credit",
        }[t["lineItem/LineItemType"]]
        assert row["ChargeCategory"] == expected


def test_zone_fallback_and_tags_are_exercised(frame: pd.DataFrame, cur_csv: Path) -> None:
    text = read_text_rows(cur_csv)
    assert any(not t["product/region"] and t["lineItem/AvailabilityZone"] for t in text)
    assert any("skybatch-attempt" in tags for tags in frame["Tags"])
    assert any(not tags for tags in frame["Tags"])
    assert "Usage" in set(frame["ChargeCategory"])


def test_cur_totals_are_exact(cur_csv: Path) -> None:
    bill = write_cur(cur_csv.with_name("again.csv"), ROWS, seed=3)
    summary = summarize(cur_csv)
    assert summary.format is BillFormat.AWS_CUR
    assert (summary.billed_cost, summary.effective_cost) == (bill.billed_cost, bill.effective_cost)


def test_without_net_cost_effective_is_unblended(tmp_path: Path, cur_csv: Path) -> None:
    rows = read_text_rows(cur_csv)[:20]
    path = tmp_path / "no_net.csv"
    names = [n for n in rows[0] if n != "lineItem/NetUnblendedCost"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    frame = read_bill(path)
    assert frame["EffectiveCost"].tolist() == frame["BilledCost"].tolist()


def test_unknown_line_item_types_are_adjustments(tmp_path: Path, cur_csv: Path) -> None:
    rows = read_text_rows(cur_csv)[:3]
    rows[0]["lineItem/LineItemType"] = "SavingsPlanNegation"
    rows[1]["lineItem/LineItemType"] = "SomethingNew"
    path = tmp_path / "types.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert read_bill(path)["ChargeCategory"].tolist()[:2] == ["Credit", "Adjustment"]


def test_cur_2_0_snake_case(tmp_path: Path) -> None:
    path = tmp_path / "cur2.csv"
    header = [
        "bill_payer_account_id",
        "bill_billing_period_start_date",
        "bill_billing_period_end_date",
        "line_item_usage_account_id",
        "line_item_line_item_type",
        "line_item_usage_start_date",
        "line_item_usage_end_date",
        "line_item_product_code",
        "line_item_availability_zone",
        "line_item_usage_amount",
        "line_item_currency_code",
        "line_item_unblended_cost",
        "product_instance_type",
        "product_region_code",
        "pricing_unit",
        "resource_tags",
    ]
    tags = json.dumps({"user_team": "ml", "user_skybatch-attempt": "att-9", "aws_created": "x"})
    row = [
        "123456789012",
        "2024-09-01T00:00:00Z",
        "2024-10-01T00:00:00Z",
        "210987654321",
        "DiscountedUsage",
        "2024-09-02T03:00:00Z",
        "2024-09-02T04:00:00Z",
        "AmazonEC2",
        "us-west-2b",
        "1.0",
        "USD",
        "0.0312500000",
        "m5.large",
        "",
        "Hrs",
        tags,
    ]
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, row])
    assert bill_format(path) is BillFormat.AWS_CUR
    frame = read_bill(path)
    got = frame.iloc[0]
    assert got["BilledCost"] == got["EffectiveCost"] == Decimal("0.0312500000")
    assert got["RegionId"] == "us-west-2"
    assert got["x_InstanceType"] == "m5.large"
    assert got["ChargeCategory"] == "Usage"
    assert got["Tags"] == {"team": "ml", "skybatch-attempt": "att-9"}


def test_a_cur_without_its_required_columns_names_them(tmp_path: Path, cur_csv: Path) -> None:
    rows = read_text_rows(cur_csv)[:2]
    gone = ("lineItem/UnblendedCost", "bill/PayerAccountId")
    names = [n for n in rows[0] if n not in gone]
    path = tmp_path / "broken.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(BillingFileError) as caught:
        bill_format(path)
    assert [(p.column, p.row) for p in caught.value.problems] == [(c, None) for c in gone]
    assert "broken.csv: lineItem/UnblendedCost: mandatory AWS CUR column is missing" in str(
        caught.value
    )


def test_a_bad_cur_cost_names_the_cur_column(tmp_path: Path, cur_csv: Path) -> None:
    rows = read_text_rows(cur_csv)[:5]
    rows[3]["lineItem/UnblendedCost"] = "12,50"
    del rows[3]["lineItem/NetUnblendedCost"]
    names = [n for n in rows[0] if n != "lineItem/NetUnblendedCost"]
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(BillingFileError) as caught:
        read_bill(path)
    # Read for BilledCost and EffectiveCost, reported once.
    assert str(caught.value) == (
        "bad.csv: lineItem/UnblendedCost row 5: '12,50' is not a decimal number"
    )
