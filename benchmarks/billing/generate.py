"""Synthetic cloud bills: FOCUS 1.2 and AWS CUR files of any size, for tests and benchmarks.

    .venv/bin/python -m benchmarks.billing.generate --rows N --format focus|cur [--seed S] OUT

``OUT`` ending in ``.csv``, ``.csv.gz`` or ``.parquet`` picks the container. The rows
look like one AWS payer account's month (September 2024): mostly compute node-hours
of a few instance types in a few regions, on demand, spot or covered by a savings
plan, each belonging to an "attempt" (one node's life, the same instance id and tags
for all its hours; about 60% tagged ``skybatch-attempt``/``skybatch-job``), plus S3
storage, data transfer, CloudWatch, tax and a credit. Nulls are written ``NULL`` in
FOCUS CSV (as real exports do) and left empty in CUR CSV (as AWS does).

Money is generated as integers of 1e-10 dollars and written as text with ten
decimals, so the totals the writers return are exact and a reader can be checked
against them to the last digit. Everything is vectorised (numpy draws, pyarrow
string kernels): a million rows take a few seconds. A seed gives the same file.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

#: Money is generated in these units (1e-10 USD), quantities in 1e-6.
MONEY_SCALE = 10
QUANTITY_SCALE = 6

_PAYER = "123456789012"
_ACCOUNTS = ("210987654321", "345678901234", "456789012345")
_ACCOUNT_NAMES = ("batch-prod", "batch-dev", "research")
_HOURS = 720  # September 2024
_PERIOD_START = "2024-09-01T00:00:00Z"
_PERIOD_END = "2024-10-01T00:00:00Z"

# (instance type, on-demand $/h in 1e-4 units in us-east-1, vCPUs)
_INSTANCE_TYPES: tuple[tuple[str, int, int], ...] = (
    ("m5.large", 960, 2),
    ("m5.xlarge", 1920, 4),
    ("c5.2xlarge", 3400, 8),
    ("r5.xlarge", 2520, 4),
    ("g4dn.xlarge", 5260, 4),
    ("p3.2xlarge", 30600, 8),
)
# (region, name, zone letters, price factor in percent)
_REGIONS: tuple[tuple[str, str, str, int], ...] = (
    ("us-east-1", "US East (N. Virginia)", "abcdf", 100),
    ("us-west-2", "US West (Oregon)", "abc", 100),
    ("eu-west-1", "Europe (Ireland)", "abc", 111),
    ("ap-northeast-1", "Asia Pacific (Tokyo)", "acd", 129),
)
_TEAMS = ("ml", "genomics", "render", "etl")
_APPS = ("BrightLensMatrix", "QuickNavigatorDrive", "SafeGridVault")


@dataclass(frozen=True)
class _Kind:
    """What rows of one kind say, in FOCUS and in CUR terms."""

    share: float
    charge_category: str
    service_name: str
    service_category: str
    service_subcategory: str
    pricing_unit: str | None
    resource_type: str | None
    sku: str | None  # compute appends the instance type
    sku_meter: str | None
    description: str  # compute appends the instance type
    cur_line_item_type: str
    cur_product_code: str
    cur_usage_type: str | None
    cur_unit: str | None


# Row kinds, indexed by the _COMPUTE... constants below.
_KINDS: tuple[_Kind, ...] = (
    _Kind(0.80, "Usage", "Amazon Elastic Compute Cloud", "Compute", "Virtual Machines",
          "Hours", "Instance", "SKU-EC2-", "BoxUsage", "On Demand Linux ",
          "Usage", "AmazonEC2", "BoxUsage", "Hrs"),
    _Kind(0.08, "Usage", "Amazon Simple Storage Service", "Storage", "Object Storage",
          "GB-Mo", "Bucket", "SKU-S3-STD", "TimedStorage", "GB-Mo of Standard storage",
          "Usage", "AmazonS3", "TimedStorage-ByteHrs", "GB-Mo"),
    _Kind(0.06, "Usage", "AWS Data Transfer", "Networking", "Network Traffic",
          "GB", None, "SKU-DT-OUT", "DataTransfer-Out", "GB of data transfer out",
          "Usage", "AWSDataTransfer", "DataTransfer-Out-Bytes", "GB"),
    _Kind(0.03, "Usage", "Amazon CloudWatch", "Management and Governance", "Observability",
          "Metrics", None, "SKU-CW-MET", "Metrics", "metric-month of monitoring",
          "Usage", "AmazonCloudWatch", "CW:MetricMonitorUsage", "Metrics"),
    _Kind(0.02, "Tax", "Amazon Elastic Compute Cloud", "Compute", "Virtual Machines",
          None, None, None, None, "Tax for September 2024",
          "Tax", "AmazonEC2", None, None),
    _Kind(0.01, "Credit", "Amazon Elastic Compute Cloud", "Compute", "Virtual Machines",
          None, None, None, None, "AWS Promotional Credit",
          "Credit", "AmazonEC2", None, None),
)  # fmt: skip
_COMPUTE, _STORAGE, _TRANSFER, _MONITORING, _TAX, _CREDIT = range(len(_KINDS))
_SPOT_SHARE = 0.35
_SAVINGS_PLAN_SHARE = 0.15  # of the on-demand compute rows
_SAVINGS_PLAN_RATE_PERCENT = 72
_SAVINGS_PLAN_ARN = (
    "arn:aws:savingsplans::123456789012:savingsplan/5f0e7d8c-0000-4000-8000-000000000001"
)

FOCUS_1_2_COLUMNS: tuple[str, ...] = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName",
    "BillingAccountType", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
    "CapacityReservationId", "CapacityReservationStatus", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
    "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
    "CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost",
    "ListUnitPrice", "PricingCategory", "PricingCurrency",
    "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName",
    "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
    "ServiceCategory", "ServiceName", "ServiceSubcategory", "SkuId", "SkuMeter",
    "SkuPriceDetails", "SkuPriceId", "SubAccountId", "SubAccountName", "SubAccountType",
    "Tags", "x_InstanceType",
)  # fmt: skip

_FOCUS_TIMESTAMPS = (
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
)
_CUR_TIMESTAMPS = (
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
)

#: The user tag keys :func:`write_cur` writes as ``resourceTags/user:KEY`` columns.
CUR_TAG_KEYS = ("skybatch-attempt", "skybatch-job", "team", "application")


@dataclass(frozen=True)
class GeneratedBill:
    """What a writer wrote: the totals a reader must find, exactly."""

    path: Path
    rows: int
    billed_cost: Decimal
    effective_cost: Decimal


@dataclass
class _Draws:
    """Everything random about a bill; the FOCUS and CUR writers format the same draws."""

    kind: npt.NDArray[np.int64]
    hour: npt.NDArray[np.int64]
    account: npt.NDArray[np.int64]
    attempt: npt.NDArray[np.int64]
    instance: npt.NDArray[np.int64]  # per attempt
    region: npt.NDArray[np.int64]  # per attempt
    zone: list[str]  # per attempt
    spot: npt.NDArray[np.bool_]  # per attempt
    covered: npt.NDArray[np.bool_]  # per row: savings plan
    quantity: npt.NDArray[np.int64]  # 1e-6 units of the pricing unit
    list_price: npt.NDArray[np.int64]  # 1e-4 $ per unit
    paid_price: npt.NDArray[np.int64]  # 1e-4 $ per unit
    list_cost: npt.NDArray[np.int64]  # 1e-10 $
    billed_cost: npt.NDArray[np.int64]  # 1e-10 $
    effective_cost: npt.NDArray[np.int64]  # 1e-10 $
    attempt_tags: list[dict[str, str] | None]


def _draw(rows: int, seed: int) -> _Draws:
    rng = np.random.default_rng(seed)
    shares = [k.share for k in _KINDS]
    kind = rng.choice(len(_KINDS), size=rows, p=shares).astype(np.int64)
    hour = rng.integers(0, _HOURS, size=rows)
    account = rng.integers(0, len(_ACCOUNTS), size=rows)
    attempts = max(1, rows // 24)
    attempt = rng.integers(0, attempts, size=rows)
    instance = rng.integers(0, len(_INSTANCE_TYPES), size=attempts)
    region = rng.integers(0, len(_REGIONS), size=attempts)
    zone_pick = rng.integers(0, 5, size=attempts)
    zone = [
        _REGIONS[r][0] + _REGIONS[r][2][z % len(_REGIONS[r][2])]
        for r, z in zip(region.tolist(), zone_pick.tolist(), strict=True)
    ]
    spot = rng.random(attempts) < _SPOT_SHARE
    tagged = rng.random(attempts)
    attempt_tags: list[dict[str, str] | None] = []
    for a, t in enumerate(tagged.tolist()):
        if t < 0.6:
            attempt_tags.append(
                {
                    "skybatch-attempt": f"att-{a:07d}",
                    "skybatch-job": f"job-{a // 3:06d}",
                    "team": _TEAMS[a % len(_TEAMS)],
                }
            )
        elif t < 0.8:
            attempt_tags.append({"application": _APPS[a % len(_APPS)], "environment": "dev"})
        else:
            attempt_tags.append(None)

    compute = kind == _COMPUTE
    row_spot = compute & spot[attempt]
    covered = compute & ~row_spot & (rng.random(rows) < _SAVINGS_PLAN_SHARE)
    # Compute: whole hours, 15% a partial last hour (whole seconds).
    quantity = np.full(rows, 10**QUANTITY_SCALE, dtype=np.int64)
    partial = compute & (rng.random(rows) < 0.15)
    quantity[partial] = rng.integers(1, 3600, size=int(partial.sum())) * 10**QUANTITY_SCALE // 3600
    # Storage GB-month, transfer GB, CloudWatch metrics: amounts with six decimals.
    for k, high in ((_STORAGE, 5_000), (_TRANSFER, 500), (_MONITORING, 50)):
        mask = kind == k
        quantity[mask] = rng.integers(1, high * 10**QUANTITY_SCALE, size=int(mask.sum()))
    od_base = np.array([t[1] for t in _INSTANCE_TYPES], dtype=np.int64)
    factor = np.array([r[3] for r in _REGIONS], dtype=np.int64)
    od = od_base[instance[attempt]] * factor[region[attempt]] // 100
    list_price = np.select(
        [compute, kind == _STORAGE, kind == _TRANSFER, kind == _MONITORING],
        [od, np.full(rows, 230), np.full(rows, 900), np.full(rows, 3000)],
        0,
    ).astype(np.int64)
    spot_percent = rng.integers(25, 46, size=rows)
    paid_price = np.where(row_spot, list_price * spot_percent // 100, list_price)
    # price (1e-4) x quantity (1e-6) = cost in 1e-10: exact integer arithmetic.
    list_cost = list_price * quantity
    billed_cost = paid_price * quantity
    effective_cost = billed_cost.copy()
    effective_cost[covered] = list_cost[covered] * _SAVINGS_PLAN_RATE_PERCENT // 100
    billed_cost[covered] = 0
    tax = kind == _TAX
    billed_cost[tax] = rng.integers(1, 50 * 10**MONEY_SCALE, size=int(tax.sum()))
    credit = kind == _CREDIT
    billed_cost[credit] = -rng.integers(1, 20 * 10**MONEY_SCALE, size=int(credit.sum()))
    effective_cost[tax | credit] = billed_cost[tax | credit]
    list_cost[tax | credit] = billed_cost[tax | credit]
    return _Draws(
        kind=kind,
        hour=hour,
        account=account,
        attempt=attempt,
        instance=instance,
        region=region,
        zone=zone,
        spot=spot,
        covered=covered,
        quantity=quantity,
        list_price=list_price,
        paid_price=paid_price,
        list_cost=list_cost,
        billed_cost=billed_cost,
        effective_cost=effective_cost,
        attempt_tags=attempt_tags,
    )


def _fixed(values: npt.NDArray[np.int64], scale: int) -> pa.Array:
    """Integers of 10**-scale as exact decimals (``-0.0000012000``). Typed decimal, so
    CSV writes them unquoted and Parquet as decimal128, as real exports do."""
    magnitude = np.abs(values)
    whole = pa.array(magnitude // 10**scale).cast(pa.string())
    fraction = pc.utf8_lpad(pa.array(magnitude % 10**scale).cast(pa.string()), scale, "0")
    sign = pc.if_else(pa.array(values < 0), "-", "")
    text = pc.binary_join_element_wise(sign, whole, ".", fraction, "")
    return text.cast(pa.decimal128(38, scale))


def _pick(values: Sequence[str | None], index: npt.NDArray[np.int64]) -> pa.Array:
    return pc.take(pa.array(list(values), pa.string()), pa.array(index))


def _where(mask: npt.NDArray[np.bool_], when: pa.Array | str | None, other: pa.Array) -> pa.Array:
    """``when`` where ``mask``, else ``other``; a constant takes ``other``'s type."""
    if when is None or isinstance(when, str):
        chosen = pa.scalar(when, pa.string()).cast(other.type)
        return pc.if_else(pa.array(mask), chosen, other)
    return pc.if_else(pa.array(mask), when, other)


def _const(value: str | None, rows: int) -> pa.Array:
    return pa.nulls(rows, pa.string()) if value is None else pa.repeat(pa.scalar(value), rows)


def _hours(start_offset: int, fmt: str) -> list[str]:
    base = np.datetime64("2024-09-01T00:00:00")
    return [
        np.datetime_as_string(base + np.timedelta64(h + start_offset, "h"), unit="s") + fmt
        for h in range(_HOURS)
    ]


def _per_kind(d: _Draws, attribute: str) -> pa.Array:
    """Each row's kind's ``attribute`` (a field of :class:`_Kind`)."""
    return _pick([getattr(k, attribute) for k in _KINDS], d.kind)


def _instance_types(d: _Draws) -> pa.Array:
    names = [t[0] for t in _INSTANCE_TYPES]
    return _where(d.kind != _COMPUTE, None, _pick(names, d.instance[d.attempt]))


def _description(d: _Draws) -> pa.Array:
    """``$0.0960 per On Demand Linux m5.large hour``; tax and credit rows their own."""
    compute = d.kind == _COMPUTE
    text = pc.binary_join_element_wise(
        "$", _fixed(d.list_price, 4).cast(pa.string()), " per ", _per_kind(d, "description"),
        _where(~compute, "", pc.binary_join_element_wise(_instance_types(d), " hour", "")), "",
    )  # fmt: skip
    return _where(np.isin(d.kind, (_TAX, _CREDIT)), _per_kind(d, "description"), text)


def _sku(d: _Draws) -> pa.Array:
    sku = _per_kind(d, "sku")
    with_type = pc.binary_join_element_wise(sku, _instance_types(d), "")
    return _where(d.kind == _COMPUTE, with_type, sku)


def _focus_table(d: _Draws) -> dict[str, pa.Array]:
    rows = len(d.kind)
    compute = d.kind == _COMPUTE
    one_time = np.isin(d.kind, (_TAX, _CREDIT))
    has_quantity = ~one_time
    reg = d.region[d.attempt]
    instance_type = _instance_types(d)
    start = _where(one_time, _PERIOD_START, _pick(_hours(0, "Z"), d.hour))
    end = _where(one_time, _PERIOD_END, _pick(_hours(1, "Z"), d.hour))
    zone = _where(~compute, None, _pick(d.zone, d.attempt))
    region_id = _where(one_time, None, _pick([r[0] for r in _REGIONS], reg))
    region_name = _where(one_time, None, _pick([r[1] for r in _REGIONS], reg))
    row_spot = compute & d.spot[d.attempt]
    attempt_ids = [f"i-0{a:016x}" for a in range(len(d.zone))]
    resource = _where(d.kind == _STORAGE, "arn:aws:s3:::skybatch-checkpoints", _const(None, rows))
    resource = _where(compute, _pick(attempt_ids, d.attempt), resource)
    tag_json = [None if t is None else json.dumps(t) for t in d.attempt_tags]
    tags = _where(compute, _pick(tag_json, d.attempt), _const(None, rows))
    quantity = _where(~has_quantity, None, _fixed(d.quantity, QUANTITY_SCALE))
    list_unit = _where(~has_quantity, None, _fixed(d.list_price, 4))
    paid_unit = _where(~has_quantity, None, _fixed(d.paid_price, 4))
    covered_arn = _where(~d.covered, None, _const(_SAVINGS_PLAN_ARN, rows))
    sku = _sku(d)
    price_details = _where(
        ~compute,
        None,
        pc.binary_join_element_wise('{"InstanceType": "', instance_type, '"}', ""),
    )
    pricing_category = _where(
        row_spot, "Dynamic", _where(d.covered, "Committed", _const("Standard", rows))
    )
    pricing_category = _where(one_time, None, pricing_category)
    money = {
        "BilledCost": _fixed(d.billed_cost, MONEY_SCALE),
        "EffectiveCost": _fixed(d.effective_cost, MONEY_SCALE),
        "ListCost": _fixed(d.list_cost, MONEY_SCALE),
        "ContractedCost": _fixed(d.list_cost, MONEY_SCALE),
    }
    columns: dict[str, pa.Array] = {
        "AvailabilityZone": zone,
        "BillingAccountId": _const(_PAYER, rows),
        "BillingAccountName": _const("skybatch-payer", rows),
        "BillingAccountType": _const("Billing Account", rows),
        "BillingCurrency": _const("USD", rows),
        "BillingPeriodEnd": _const(_PERIOD_END, rows),
        "BillingPeriodStart": _const(_PERIOD_START, rows),
        "CapacityReservationId": _const(None, rows),
        "CapacityReservationStatus": _const(None, rows),
        "ChargeCategory": _per_kind(d, "charge_category"),
        "ChargeClass": _const(None, rows),
        "ChargeDescription": _description(d),
        "ChargeFrequency": _where(one_time, "One-Time", _const("Usage-Based", rows)),
        "ChargePeriodEnd": end,
        "ChargePeriodStart": start,
        "CommitmentDiscountCategory": _where(~d.covered, None, _const("Spend", rows)),
        "CommitmentDiscountId": covered_arn,
        "CommitmentDiscountName": _where(~d.covered, None, _const("compute-sp-1y", rows)),
        "CommitmentDiscountQuantity": _where(~d.covered, None, money["EffectiveCost"]),
        "CommitmentDiscountStatus": _where(~d.covered, None, _const("Used", rows)),
        "CommitmentDiscountType": _where(~d.covered, None, _const("Savings Plan", rows)),
        "CommitmentDiscountUnit": _where(~d.covered, None, _const("USD", rows)),
        "ConsumedQuantity": quantity,
        "ConsumedUnit": _per_kind(d, "pricing_unit"),
        "ContractedUnitPrice": list_unit,
        "InvoiceId": _const("INV-2024-09-0001", rows),
        "InvoiceIssuerName": _const("Amazon Web Services, Inc.", rows),
        "ListUnitPrice": list_unit,
        "PricingCategory": pricing_category,
        "PricingCurrency": _const("USD", rows),
        "PricingCurrencyContractedUnitPrice": list_unit,
        "PricingCurrencyEffectiveCost": money["EffectiveCost"],
        "PricingCurrencyListUnitPrice": paid_unit,
        "PricingQuantity": quantity,
        "PricingUnit": _per_kind(d, "pricing_unit"),
        "ProviderName": _const("AWS", rows),
        "PublisherName": _const("Amazon Web Services, Inc.", rows),
        "RegionId": region_id,
        "RegionName": region_name,
        "ResourceId": resource,
        "ResourceName": _const(None, rows),
        "ResourceType": _per_kind(d, "resource_type"),
        "ServiceCategory": _per_kind(d, "service_category"),
        "ServiceName": _per_kind(d, "service_name"),
        "ServiceSubcategory": _per_kind(d, "service_subcategory"),
        "SkuId": sku,
        "SkuMeter": _per_kind(d, "sku_meter"),
        "SkuPriceDetails": price_details,
        "SkuPriceId": sku,
        "SubAccountId": _pick(_ACCOUNTS, d.account),
        "SubAccountName": _pick(_ACCOUNT_NAMES, d.account),
        "SubAccountType": _const("Account", rows),
        "Tags": tags,
        "x_InstanceType": instance_type,
        **money,
    }
    return {name: columns[name] for name in FOCUS_1_2_COLUMNS}


def _cur_table(d: _Draws) -> dict[str, pa.Array]:
    rows = len(d.kind)
    compute = d.kind == _COMPUTE
    one_time = np.isin(d.kind, (_TAX, _CREDIT))
    reg = d.region[d.attempt]
    row_spot = compute & d.spot[d.attempt]
    line_type = _per_kind(d, "cur_line_item_type")
    line_type = _where(d.covered, "SavingsPlanCoveredUsage", line_type)
    start = _where(one_time, _PERIOD_START, _pick(_hours(0, "Z"), d.hour))
    end = _where(one_time, _PERIOD_END, _pick(_hours(1, "Z"), d.hour))
    attempt_ids = [f"i-0{a:016x}" for a in range(len(d.zone))]
    resource = _where(d.kind == _STORAGE, "skybatch-checkpoints", _const(None, rows))
    resource = _where(compute, _pick(attempt_ids, d.attempt), resource)
    # Transfer and CloudWatch rows have a region but no zone: the reader derives
    # RegionId from product/region. Some compute rows lose product/region (as
    # marketplace rows do) so that the zone fallback is exercised.
    region = _where(one_time, None, _pick([r[0] for r in _REGIONS], reg))
    region = _where(compute & (d.hour % 7 == 0), None, region)
    columns: dict[str, pa.Array] = {
        "identity/LineItemId": pc.binary_join_element_wise(
            "li-", pa.array(np.arange(rows)).cast(pa.string()), ""
        ),
        "identity/TimeInterval": pc.binary_join_element_wise(start, "/", end, ""),
        "bill/InvoiceId": _const("EUINUS24-0001", rows),
        "bill/BillingEntity": _const("AWS", rows),
        "bill/BillType": _const("Anniversary", rows),
        "bill/PayerAccountId": _const(_PAYER, rows),
        "bill/BillingPeriodStartDate": _const(_PERIOD_START, rows),
        "bill/BillingPeriodEndDate": _const(_PERIOD_END, rows),
        "lineItem/UsageAccountId": _pick(_ACCOUNTS, d.account),
        "lineItem/LineItemType": line_type,
        "lineItem/UsageStartDate": start,
        "lineItem/UsageEndDate": end,
        "lineItem/ProductCode": _per_kind(d, "cur_product_code"),
        "lineItem/UsageType": _where(row_spot, "SpotUsage", _per_kind(d, "cur_usage_type")),
        "lineItem/AvailabilityZone": _where(~compute, None, _pick(d.zone, d.attempt)),
        "lineItem/ResourceId": resource,
        "lineItem/UsageAmount": _where(one_time, "0", _fixed(d.quantity, QUANTITY_SCALE)),
        "lineItem/CurrencyCode": _const("USD", rows),
        "lineItem/UnblendedRate": _fixed(d.paid_price, 4),
        "lineItem/UnblendedCost": _fixed(d.billed_cost, MONEY_SCALE),
        "lineItem/NetUnblendedCost": _fixed(d.effective_cost, MONEY_SCALE),
        "lineItem/LineItemDescription": _description(d),
        "product/ProductName": _per_kind(d, "service_name"),
        "product/instanceType": _instance_types(d),
        "product/region": region,
        "product/sku": _sku(d),
        "pricing/publicOnDemandCost": _where(one_time, None, _fixed(d.list_cost, MONEY_SCALE)),
        "pricing/publicOnDemandRate": _fixed(d.list_price, 4),
        "pricing/term": _where(row_spot, "Spot", _const("OnDemand", rows)),
        "pricing/unit": _per_kind(d, "cur_unit"),
    }
    for key in CUR_TAG_KEYS:
        values = [None if t is None else t.get(key) for t in d.attempt_tags]
        columns[f"resourceTags/user:{key}"] = _where(~compute, None, _pick(values, d.attempt))
    return columns


def _write(path: Path, columns: dict[str, pa.Array], null: str, timestamps: Iterable[str]) -> None:
    name = path.name.lower()
    if name.endswith(".parquet"):
        # Real Parquet exports type their timestamps (AWS: timestamp[ms]).
        typed = dict(columns)
        for column in timestamps:
            if column in typed:
                typed[column] = typed[column].cast(pa.timestamp("ms", "UTC"))
        pq.write_table(pa.table(typed), path, row_group_size=100_000)
        return
    table = pa.table(columns)
    options = pa_csv.WriteOptions(null_string=null)
    if name.endswith(".gz"):
        with pa.CompressedOutputStream(str(path), "gzip") as out:
            pa_csv.write_csv(table, out, options)
    else:
        pa_csv.write_csv(table, str(path), options)


def _totals(path: Path, d: _Draws) -> GeneratedBill:
    def total(v: npt.NDArray[np.int64]) -> Decimal:
        return Decimal(int(v.sum(dtype=np.int64))).scaleb(-MONEY_SCALE)

    return GeneratedBill(path, len(d.kind), total(d.billed_cost), total(d.effective_cost))


def write_focus(
    path: Path | str, rows: int, *, seed: int = 0, drop: Iterable[str] = ()
) -> GeneratedBill:
    """Write a FOCUS 1.2 bill of ``rows`` rows (container from the suffix). ``drop``
    leaves columns out (an older version, or a broken file for a test)."""
    out = Path(path)
    d = _draw(rows, seed)
    columns = _focus_table(d)
    for name in drop:
        columns.pop(name)
    _write(out, columns, "NULL", _FOCUS_TIMESTAMPS)
    return _totals(out, d)


def write_cur(path: Path | str, rows: int, seed: int = 0) -> GeneratedBill:
    """Write a legacy AWS CUR bill (``lineItem/...`` columns, empty for null, a
    ``resourceTags/user:KEY`` column per tag key)."""
    out = Path(path)
    d = _draw(rows, seed)
    _write(out, _cur_table(d), "", _CUR_TIMESTAMPS)
    return _totals(out, d)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--format", choices=("focus", "cur"), default="focus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    writer = write_focus if args.format == "focus" else write_cur
    bill = writer(args.out, args.rows, seed=args.seed)
    print(f"{bill.path}: {bill.rows} rows, BilledCost {bill.billed_cost} USD")


if __name__ == "__main__":
    main()
