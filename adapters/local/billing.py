"""The local cloud's bill: FOCUS 1.2 cost-and-usage rows, one per node-hour.

A real cloud's bill is where the scheduler learns what it actually paid, which is
not always what the price list said: a negotiated discount nobody told the
scheduler about, or a price that drifted. :class:`LocalBilling` is that hidden
truth. Its :class:`PriceRule` list multiplies the list price of matching
(region, instance type, market) triples; the catalog and the offerings stay at
list price, only the bill shows the true one.

:func:`focus_rows` turns node records into rows of the FinOps Open Cost and Usage
Specification (FOCUS) 1.2, shaped like the hourly rows of AWS's or Google's exports:

- for every node that started, one row per clock hour ``[h, h+1)`` that overlaps
  the time it ran and is final by ``until``: every hour of a node terminated by
  then, and the hours that closed by then of one still running (like a real
  cloud's export, an hour is billed once it is over). Rows are never revised, so
  bills written at different times agree on every row they share, and ingesting
  them all counts each node-hour once; ChargePeriodStart/End
  are the hour's bounds and a partial hour is prorated: PricingQuantity and
  ConsumedQuantity are the hours run within it (``"0.25"``), rounded to
  :data:`QUANTITY_QUANTUM` hours (3.6 ms); a slice that rounds to zero is no row;
- BillingPeriodStart/End is the calendar month (UTC) of the hour;
- ListUnitPrice is the list price per hour (the price the node was launched at),
  ContractedUnitPrice the true one (list x multiplier: a negotiated price), and
  every cost is quantity x unit price, computed exactly in :class:`~decimal.Decimal`
  (a rounding would raise) and written without exponent or trailing zeros;
  EffectiveCost = BilledCost = ContractedCost (no commitments, no credits);
- PricingCategory is "Standard" on demand and "Dynamic" for spot;
- Tags is the node's tags as a JSON object (the scheduler's own included).

Columns (51 of FOCUS 1.2's 57) are the 21 Mandatory ones; the Recommended
AvailabilityZone, ChargeFrequency, ServiceSubcategory and InvoiceId (one
provisional invoice per billing account and month); and the Conditional ones whose
condition this cloud meets: regions, zones, resources and their type, usage
measurement, public and negotiated unit prices (SkuId, SkuPriceId, SkuMeter,
SkuPriceDetails), several pricing categories, tags. Also written although optional
here, because the official validator (focus-validator 2.x) needs them to evaluate
other rules: the CommitmentDiscount* columns, all null (no commitments; its
ConsumedQuantity rules read CommitmentDiscountStatus), and PricingCurrency* equal
to the billing currency's values (it demands them whenever a public price list is
declared). Left out, because this cloud has no such thing: billing account types,
sub accounts and their types, capacity reservations. Nulls are ``None`` here and
empty fields in the CSV.

Everything here is pure; :meth:`LocalNodeDriver.ex_write_bill` writes the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, Inexact, localcontext
from fnmatch import fnmatchcase

from adapters.local.state import NodeRecord

#: Quantities are kept to a millionth of an hour (3.6 ms).
QUANTITY_QUANTUM = Decimal("0.000001")

FOCUS_VERSION = "1.2"

#: The bill's columns, in the order they are written (alphabetical; FOCUS columns
#: only, so no custom ``x_`` column).
FOCUS_COLUMNS: tuple[str, ...] = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "Tags",
)

#: A FOCUS row: column id -> value as written, None for null.
FocusRow = dict[str, str | None]

SERVICE_NAME = "Local Compute Engine"
_MARKETS = {"on-demand": "Standard", "spot": "Dynamic"}
#: Display names of the Google regions the local cloud borrows its prices from.
_REGION_NAMES = {
    "us-central1": "Iowa",
    "us-east1": "South Carolina",
    "us-west1": "Oregon",
    "europe-west1": "Belgium",
    "europe-west4": "Netherlands",
    "asia-east1": "Taiwan",
}
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class PriceRule:
    """Nodes whose region, instance type and market match these globs
    (:func:`fnmatch.fnmatchcase`) are billed at ``multiplier`` x list price.

    ``market`` is ``"on-demand"``, ``"spot"`` or a glob. A 0.7 models a negotiated
    30% discount, 1.05 a price that drifted up since the catalog was made.
    """

    region: str = "*"
    instance_type: str = "*"
    market: str = "*"
    multiplier: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if not isinstance(self.multiplier, Decimal):
            raise TypeError(f"multiplier must be a Decimal, got {self.multiplier!r}")
        if not (self.multiplier.is_finite() and self.multiplier >= 0):
            raise ValueError(f"multiplier must be a finite Decimal >= 0, got {self.multiplier}")

    def matches(self, region: str, instance_type: str, market: str) -> bool:
        return (
            fnmatchcase(region, self.region)
            and fnmatchcase(instance_type, self.instance_type)
            and fnmatchcase(market, self.market)
        )


@dataclass(frozen=True)
class LocalBilling:
    """What the local cloud really charges, and who it says charges it.

    The default bills at list price. ``provider_name`` is the ProviderName,
    PublisherName and InvoiceIssuerName of every row (the cloud sells its own
    service and invoices it itself).
    """

    price_rules: tuple[PriceRule, ...] = ()
    billing_account_id: str = "skybatch-local-billing-account"
    billing_account_name: str = "skybatch local billing account"
    provider_name: str = "skybatch local cloud"
    currency: str = "USD"

    def __post_init__(self) -> None:
        for name in ("billing_account_id", "billing_account_name", "provider_name"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name} must not be empty")
        if not (len(self.currency) == 3 and self.currency.isalpha() and self.currency.isupper()):
            raise ValueError(f"currency must be an ISO 4217 code, got {self.currency!r}")

    def multiplier(self, region: str, instance_type: str, market: str) -> Decimal:
        """The first matching rule's multiplier, else 1."""
        for rule in self.price_rules:
            if rule.matches(region, instance_type, market):
                return rule.multiplier
        return Decimal(1)

    def true_price(
        self, list_price: Decimal, region: str, instance_type: str, market: str
    ) -> Decimal:
        """The hourly price the bill charges for a node launched at ``list_price``."""
        with _exact():
            return list_price * self.multiplier(region, instance_type, market)


def focus_rows(
    records: Iterable[NodeRecord], *, until: datetime, billing: LocalBilling
) -> list[FocusRow]:
    """FOCUS 1.2 rows for every node-hour of ``records`` up to ``until`` (see the
    module docstring), sorted by charge period then resource id."""
    until = _utc(until, "until")
    rows = [row for record in records for row in _node_rows(record, until, billing)]
    rows.sort(key=lambda r: (r["ChargePeriodStart"] or "", r["ResourceId"] or ""))
    return rows


def bill_csv(rows: Iterable[Mapping[str, str | None]]) -> str:
    """``rows`` as CSV text with a header of :data:`FOCUS_COLUMNS`; nulls are empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FOCUS_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in FOCUS_COLUMNS])
    return out.getvalue()


def _hour_floor(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def node_hours(start: datetime, end: datetime) -> list[tuple[datetime, Decimal]]:
    """The clock hours overlapping ``[start, end)``: each hour's start and the hours
    run within it, rounded to :data:`QUANTITY_QUANTUM`; slices that round to 0 are
    left out."""
    start, end = _utc(start, "start"), _utc(end, "end")
    out: list[tuple[datetime, Decimal]] = []
    if end <= start:
        return out
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        overlap = min(end, hour + _HOUR) - max(start, hour)
        quantity = _hours(overlap)
        if quantity > 0:
            out.append((hour, quantity))
        hour += _HOUR
    return out


def _node_rows(record: NodeRecord, until: datetime, billing: LocalBilling) -> list[FocusRow]:
    if record.started_at is None:
        return []
    ended = _utc(record.terminated_at, "terminated_at") if record.terminated_at else None
    # Still running at ``until`` (or ended after it): only the hours closed by then.
    end = ended if ended is not None and ended <= until else _hour_floor(until)
    list_price = record.price_per_hour
    true_price = billing.true_price(list_price, record.region, record.instance_type, record.market)
    sku_id = f"local-vm-{record.instance_type}-{record.market}"
    common: FocusRow = {
        "AvailabilityZone": record.zone or None,
        "BillingAccountId": billing.billing_account_id,
        "BillingAccountName": billing.billing_account_name,
        "BillingCurrency": billing.currency,
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": (
            f"{record.instance_type} {record.market} virtual machine in "
            f"{record.zone or record.region}, per hour"
        ),
        "ChargeFrequency": "Usage-Based",
        "CommitmentDiscountCategory": None,
        "CommitmentDiscountId": None,
        "CommitmentDiscountName": None,
        "CommitmentDiscountQuantity": None,
        "CommitmentDiscountStatus": None,
        "CommitmentDiscountType": None,
        "CommitmentDiscountUnit": None,
        "ConsumedUnit": "Hours",
        "ContractedUnitPrice": _fmt(true_price),
        "InvoiceIssuerName": billing.provider_name,
        "ListUnitPrice": _fmt(list_price),
        "PricingCategory": _MARKETS.get(record.market, "Other"),
        "PricingCurrency": billing.currency,
        "PricingCurrencyContractedUnitPrice": _fmt(true_price),
        "PricingCurrencyListUnitPrice": _fmt(list_price),
        "PricingUnit": "Hours",
        "ProviderName": billing.provider_name,
        "PublisherName": billing.provider_name,
        "RegionId": record.region,
        "RegionName": _REGION_NAMES.get(record.region, record.region),
        "ResourceId": record.node_id,
        "ResourceName": record.name or None,
        "ResourceType": "Virtual Machine",
        "ServiceCategory": "Compute",
        "ServiceName": SERVICE_NAME,
        "ServiceSubcategory": "Virtual Machines",
        "SkuId": sku_id,
        "SkuMeter": "Compute Usage",
        "SkuPriceDetails": _sku_price_details(record),
        # A price varies by region; the SKU (what is sold) does not.
        "SkuPriceId": f"{sku_id}-{record.region}",
        "Tags": json.dumps(dict(record.tags), sort_keys=True) if record.tags else None,
    }
    rows: list[FocusRow] = []
    for hour, quantity in node_hours(record.started_at, end):
        month_start, month_end = _month(hour)
        with _exact():
            list_cost = list_price * quantity
            true_cost = true_price * quantity
        rows.append(
            {
                **common,
                "BillingPeriodStart": _iso(month_start),
                "BillingPeriodEnd": _iso(month_end),
                "ChargePeriodStart": _iso(hour),
                "ChargePeriodEnd": _iso(hour + _HOUR),
                # One provisional invoice per billing account and month.
                "InvoiceId": f"{billing.billing_account_id}-{month_start:%Y-%m}",
                "PricingQuantity": _fmt(quantity),
                "ConsumedQuantity": _fmt(quantity),
                "ListCost": _fmt(list_cost),
                "ContractedCost": _fmt(true_cost),
                "EffectiveCost": _fmt(true_cost),
                "PricingCurrencyEffectiveCost": _fmt(true_cost),
                "BilledCost": _fmt(true_cost),
            }
        )
    return rows


def _sku_price_details(record: NodeRecord) -> str:
    # FOCUS-defined SKU price properties (1.2 spelling); numbers are per PricingUnit.
    details: dict[str, object] = {
        "CoreCount": _json_number(record.vcpus),
        "InstanceSeries": record.instance_type.split("-")[0],
        "InstanceType": record.instance_type,
        "MemorySize": _json_number(record.memory_gib),
        "OperatingSystem": "Linux",
    }
    return json.dumps(details, sort_keys=True)


def _json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


@contextmanager
def _exact() -> Iterator[None]:
    """A decimal context in which any rounding raises: costs are exact or fail."""
    with localcontext() as ctx:
        ctx.prec = 60  # far more digits than a price times a quantity needs
        ctx.traps[Inexact] = True
        yield


def _hours(delta: timedelta) -> Decimal:
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return (Decimal(micros) / Decimal(3_600_000_000)).quantize(
        QUANTITY_QUANTUM, rounding=ROUND_HALF_UP
    )


def _month(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt(value: Decimal) -> str:
    """A FOCUS numeric value: plain decimal notation, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
