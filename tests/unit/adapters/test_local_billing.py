"""The local cloud's bill: FOCUS 1.2 rows per node-hour at hidden true prices (pure)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.local.billing import (
    FOCUS_COLUMNS,
    LocalBilling,
    PriceRule,
    bill_csv,
    focus_rows,
    node_hours,
)
from adapters.local.state import PENDING, RUNNING, TERMINATED, NodeRecord

T = datetime(2025, 6, 3, 10, 45, tzinfo=UTC)
LIST = Decimal("0.097118")
DISCOUNT = LocalBilling(
    price_rules=(
        PriceRule("europe-west4", "n2-*", "on-demand", Decimal("0.7")),
        PriceRule("*", "*", "spot", Decimal("1.05")),
    )
)

#: The 21 columns FOCUS 1.2 says MUST be in every cost-and-usage dataset.
MANDATORY = {
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
}


def record(
    node_id: str = "ln-000000000001",
    *,
    start: datetime | None = T,
    end: datetime | None = None,
    region: str = "europe-west4",
    instance_type: str = "n2-standard-2",
    market: str = "on-demand",
    price: Decimal = LIST,
    tags: dict[str, str] | None = None,
    name: str = "worker",
) -> NodeRecord:
    status = PENDING if start is None else (TERMINATED if end is not None else RUNNING)
    return NodeRecord(
        node_id=node_id,
        name=name,
        client_token="",
        region=region,
        zone=f"{region}-a",
        instance_type=instance_type,
        market=market,
        vcpus=2.0,
        memory_gib=8.0,
        price_per_hour=price,
        tags={"skybatch-attempt": "j1/1"} if tags is None else tags,
        status=status,
        created_at=(start or T) - timedelta(seconds=1),
        launcher_pid=1,
        launcher_start_time=None,
        started_at=start,
        terminated_at=end,
    )


def test_a_node_spanning_three_clock_hours_gets_three_prorated_rows() -> None:
    node = record(end=T + timedelta(hours=1, minutes=30))  # 10:45 -> 12:15
    rows = focus_rows([node], until=T + timedelta(days=1), billing=DISCOUNT)
    assert [(r["ChargePeriodStart"], r["ChargePeriodEnd"], r["PricingQuantity"]) for r in rows] == [
        ("2025-06-03T10:00:00Z", "2025-06-03T11:00:00Z", "0.25"),
        ("2025-06-03T11:00:00Z", "2025-06-03T12:00:00Z", "1"),
        ("2025-06-03T12:00:00Z", "2025-06-03T13:00:00Z", "0.25"),
    ]
    for row in rows:
        quantity = Decimal(row["PricingQuantity"] or "")
        assert row["ConsumedQuantity"] == row["PricingQuantity"]
        assert row["ListUnitPrice"] == "0.097118"
        assert row["ContractedUnitPrice"] == "0.0679826"  # the hidden 30% discount
        assert Decimal(row["ListCost"] or "") == LIST * quantity
        for cost in ("ContractedCost", "EffectiveCost", "BilledCost"):
            assert Decimal(row[cost] or "") == LIST * Decimal("0.7") * quantity
        assert row["BillingPeriodStart"] == "2025-06-01T00:00:00Z"
        assert row["BillingPeriodEnd"] == "2025-07-01T00:00:00Z"
    assert rows[0]["ListCost"] == "0.0242795" and rows[0]["BilledCost"] == "0.01699565"


def test_a_node_still_running_is_billed_for_the_hours_closed_by_until() -> None:
    running = record(end=None)
    rows = focus_rows([running], until=T + timedelta(minutes=105), billing=LocalBilling())
    # 10:45 to 12:30: the hours that closed (10:00, 11:00); 12:00 is billed once over.
    assert [(r["ChargePeriodStart"], r["PricingQuantity"]) for r in rows] == [
        ("2025-06-03T10:00:00Z", "0.25"),
        ("2025-06-03T11:00:00Z", "1"),
    ]
    # At list price by default, so all four costs agree.
    assert {r["ListCost"] == r["BilledCost"] == r["EffectiveCost"] for r in rows} == {True}
    # A node that ended after ``until`` is billed as one still running.
    later = replace(running, status=TERMINATED, terminated_at=T + timedelta(hours=5))
    assert focus_rows([later], until=T + timedelta(minutes=105), billing=LocalBilling()) == rows
    # Rows are final: a later bill repeats them unchanged and adds the hours since.
    more = focus_rows([running], until=T + timedelta(minutes=170), billing=LocalBilling())
    assert more[:2] == rows and len(more) == 3


def test_a_node_that_never_started_has_no_rows() -> None:
    assert focus_rows([record(start=None)], until=T, billing=DISCOUNT) == []
    # Nor one that starts after the bill's end, nor one that ran for no time.
    assert focus_rows([record()], until=T - timedelta(minutes=1), billing=DISCOUNT) == []
    assert focus_rows([record(end=T)], until=T + timedelta(hours=1), billing=DISCOUNT) == []


def test_hours_are_rounded_to_the_quantum_and_costs_stay_exact() -> None:
    one_second = record(end=T + timedelta(seconds=1))
    (row,) = focus_rows([one_second], until=T + timedelta(hours=1), billing=DISCOUNT)
    assert row["PricingQuantity"] == "0.000278"  # 1/3600 h, to a millionth of an hour
    assert Decimal(row["ListCost"] or "") == LIST * Decimal("0.000278")
    assert node_hours(T, T + timedelta(milliseconds=1)) == []  # rounds to 0: no row


def test_billing_periods_are_calendar_months() -> None:
    new_year = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    node = record(start=new_year, end=new_year + timedelta(hours=1))
    first, second = focus_rows([node], until=new_year + timedelta(days=1), billing=DISCOUNT)
    assert (first["BillingPeriodStart"], first["BillingPeriodEnd"]) == (
        "2025-12-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
    )
    assert (second["BillingPeriodStart"], second["BillingPeriodEnd"]) == (
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    )
    assert first["InvoiceId"] != second["InvoiceId"]


def test_times_in_other_zones_are_billed_in_utc_and_naive_ones_are_refused() -> None:
    cest = timezone(timedelta(hours=2))
    node = record(start=T.astimezone(cest), end=(T + timedelta(minutes=15)).astimezone(cest))
    (row,) = focus_rows([node], until=T + timedelta(hours=1), billing=DISCOUNT)
    assert row["ChargePeriodStart"] == "2025-06-03T10:00:00Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        focus_rows([record()], until=datetime(2025, 6, 3, 12), billing=DISCOUNT)


def test_first_matching_rule_wins_and_the_default_is_list_price() -> None:
    billing = LocalBilling(
        price_rules=(
            PriceRule(region="europe-*", market="spot", multiplier=Decimal("0.5")),
            PriceRule(region="europe-west4", multiplier=Decimal("0.9")),
        )
    )
    assert billing.multiplier("europe-west4", "e2-standard-2", "spot") == Decimal("0.5")
    assert billing.multiplier("europe-west4", "e2-standard-2", "on-demand") == Decimal("0.9")
    assert billing.multiplier("us-central1", "e2-standard-2", "spot") == 1
    assert LocalBilling().true_price(LIST, "us-central1", "n2-standard-2", "spot") == LIST


@pytest.mark.parametrize("multiplier", [Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
def test_bad_multipliers_are_rejected(multiplier: Decimal) -> None:
    with pytest.raises(ValueError):
        PriceRule(multiplier=multiplier)


def test_a_float_multiplier_is_rejected() -> None:
    with pytest.raises(TypeError):
        PriceRule(multiplier=0.7)  # type: ignore[arg-type]


def test_the_row_describes_the_node() -> None:
    spot = record(
        "ln-00000000000b",
        end=T + timedelta(minutes=6),
        region="us-central1",
        instance_type="e2-standard-2",
        market="spot",
        tags={"skybatch-attempt": "j9/2", "managed-by": "skybatch"},
    )
    (row,) = focus_rows([spot], until=T + timedelta(minutes=6), billing=DISCOUNT)
    assert row["ResourceId"] == "ln-00000000000b" and row["ResourceName"] == "worker"
    assert (row["RegionId"], row["RegionName"], row["AvailabilityZone"]) == (
        "us-central1",
        "Iowa",
        "us-central1-a",
    )
    assert row["PricingCategory"] == "Dynamic"
    assert row["ContractedUnitPrice"] == "0.1019739"  # the drift (x1.05) shows on the bill
    assert json.loads(row["Tags"] or "") == {"skybatch-attempt": "j9/2", "managed-by": "skybatch"}
    assert json.loads(row["SkuPriceDetails"] or "") == {
        "CoreCount": 2,
        "InstanceSeries": "e2",
        "InstanceType": "e2-standard-2",
        "MemorySize": 8,
        "OperatingSystem": "Linux",
    }
    assert row["SkuId"] == "local-vm-e2-standard-2-spot"
    assert row["SkuPriceId"] == "local-vm-e2-standard-2-spot-us-central1"
    assert (row["ChargeCategory"], row["ChargeClass"], row["ChargeFrequency"]) == (
        "Usage",
        None,
        "Usage-Based",
    )
    assert (row["ServiceCategory"], row["ServiceSubcategory"]) == ("Compute", "Virtual Machines")
    assert row["ResourceType"] == "Virtual Machine"
    assert row["ProviderName"] == row["PublisherName"] == row["InvoiceIssuerName"]
    assert all(v is None for k, v in row.items() if k.startswith("CommitmentDiscount"))
    on_demand = record(tags={}, name="", end=T + timedelta(minutes=6))
    (bare,) = focus_rows([on_demand], until=T + timedelta(minutes=6), billing=DISCOUNT)
    assert bare["PricingCategory"] == "Standard"
    assert bare["Tags"] is None and bare["ResourceName"] is None  # null, not "" or "{}"


def test_every_mandatory_column_is_there_and_nothing_custom() -> None:
    assert set(FOCUS_COLUMNS) >= MANDATORY
    assert len(set(FOCUS_COLUMNS)) == len(FOCUS_COLUMNS)
    assert not [c for c in FOCUS_COLUMNS if c.startswith("x_")]
    (row,) = focus_rows(
        [record(end=T + timedelta(minutes=1))], until=T + timedelta(minutes=1), billing=DISCOUNT
    )
    assert set(row) == set(FOCUS_COLUMNS)
    assert all(row[c] for c in MANDATORY if c != "ChargeClass")


def test_rows_are_sorted_whatever_the_input_order_and_the_csv_is_stable() -> None:
    a = record("ln-00000000000a", end=T + timedelta(hours=2))
    b = record("ln-00000000000b", start=T + timedelta(minutes=20), end=T + timedelta(hours=1))
    until = T + timedelta(hours=3)
    rows = focus_rows([b, a], until=until, billing=DISCOUNT)
    assert rows == focus_rows([a, b], until=until, billing=DISCOUNT)
    keys = [(r["ChargePeriodStart"], r["ResourceId"]) for r in rows]
    assert keys == sorted(keys)
    text = bill_csv(rows)
    assert text == bill_csv(focus_rows([a, b], until=until, billing=DISCOUNT))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == list(FOCUS_COLUMNS)
    assert len(parsed) == len(rows) == 3 + 1
    assert parsed[0]["ChargeClass"] == ""  # null is an empty field
    assert json.loads(parsed[0]["Tags"]) == {"skybatch-attempt": "j1/1"}
