"""AWS Cost and Usage Reports mapped to FOCUS names, after AWS's own CUR-to-FOCUS mapping.

Legacy CUR (``lineItem/UsageStartDate``) and CUR 2.0 (``line_item_usage_start_date``)
differ only in spelling, so each frame column lists both spellings of its source:

===================  ==========================================================
frame column         CUR column
===================  ==========================================================
ChargePeriodStart    lineItem/UsageStartDate
ChargePeriodEnd      lineItem/UsageEndDate
BillingPeriodStart   bill/BillingPeriodStartDate
BillingPeriodEnd     bill/BillingPeriodEndDate
BilledCost           lineItem/UnblendedCost
EffectiveCost        lineItem/NetUnblendedCost, else lineItem/UnblendedCost
ListCost             pricing/publicOnDemandCost
ContractedCost       (none: null)
BillingCurrency      lineItem/CurrencyCode
RegionId             product/region (CUR 2.0: product_region_code), else the
                     zone without its letter (``us-east-1a`` -> ``us-east-1``)
AvailabilityZone     lineItem/AvailabilityZone
ResourceId           lineItem/ResourceId
ConsumedQuantity     lineItem/UsageAmount
PricingQuantity      lineItem/UsageAmount
PricingUnit          pricing/unit
ConsumedUnit         pricing/unit (the unit UsageAmount is counted in)
ChargeCategory       lineItem/LineItemType, see :data:`CHARGE_CATEGORIES`
ChargeDescription    lineItem/LineItemDescription
ServiceName          lineItem/ProductCode
SkuId                product/sku
BillingAccountId     bill/PayerAccountId
SubAccountId         lineItem/UsageAccountId
x_InstanceType       product/instanceType
Tags                 resourceTags/user:KEY -> {"KEY": value}, non-empty only
                     (CUR 2.0: the ``resource_tags`` map, ``user_KEY`` keys)
ProviderName         "AWS"
===================  ==========================================================

ServiceCategory and ResourceName have no CUR source and are null. A line item type
AWS adds later (they do) is kept as an ``Adjustment``, not refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adapters.billing.errors import Problems
from adapters.billing.sources import RawChunk
from adapters.billing.validate import Mapped, Sources
from adapters.billing.values import Cells, Column, Encoded, tag_value

#: lineItem/LineItemType -> FOCUS ChargeCategory.
CHARGE_CATEGORIES: dict[str, str] = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "Tax": "Tax",
    "Credit": "Credit",
    "Refund": "Credit",
    "Discount": "Credit",
    "BundledDiscount": "Credit",
    "EdpDiscount": "Credit",
    "PrivateRateDiscount": "Credit",
    "SavingsPlanNegation": "Credit",
}
UNKNOWN_CHARGE_CATEGORY = "Adjustment"

# Frame column -> (legacy CUR name, CUR 2.0 name), for plain one-to-one columns.
_DIRECT: dict[str, tuple[str, str]] = {
    "ChargePeriodStart": ("lineItem/UsageStartDate", "line_item_usage_start_date"),
    "ChargePeriodEnd": ("lineItem/UsageEndDate", "line_item_usage_end_date"),
    "BillingPeriodStart": ("bill/BillingPeriodStartDate", "bill_billing_period_start_date"),
    "BillingPeriodEnd": ("bill/BillingPeriodEndDate", "bill_billing_period_end_date"),
    "BilledCost": ("lineItem/UnblendedCost", "line_item_unblended_cost"),
    "ListCost": ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost"),
    "BillingCurrency": ("lineItem/CurrencyCode", "line_item_currency_code"),
    "AvailabilityZone": ("lineItem/AvailabilityZone", "line_item_availability_zone"),
    "ResourceId": ("lineItem/ResourceId", "line_item_resource_id"),
    "ConsumedQuantity": ("lineItem/UsageAmount", "line_item_usage_amount"),
    "PricingQuantity": ("lineItem/UsageAmount", "line_item_usage_amount"),
    "PricingUnit": ("pricing/unit", "pricing_unit"),
    "ConsumedUnit": ("pricing/unit", "pricing_unit"),
    "ChargeDescription": ("lineItem/LineItemDescription", "line_item_line_item_description"),
    "ServiceName": ("lineItem/ProductCode", "line_item_product_code"),
    "SkuId": ("product/sku", "product_sku"),
    "BillingAccountId": ("bill/PayerAccountId", "bill_payer_account_id"),
    "SubAccountId": ("lineItem/UsageAccountId", "line_item_usage_account_id"),
    "x_InstanceType": ("product/instanceType", "product_instance_type"),
}
_NET_COST = ("lineItem/NetUnblendedCost", "line_item_net_unblended_cost")
_LINE_ITEM_TYPE = ("lineItem/LineItemType", "line_item_line_item_type")
_REGION = ("product/region", "product_region_code")
_ZONE = _DIRECT["AvailabilityZone"]
_TAG_PREFIX = ("resourceTags/user:", "")
_TAG_MAP = ("", "resource_tags")
_CUR2_USER_TAG = "user_"

#: What a CUR must have to be read at all (legacy spelling).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/UnblendedCost",
    "lineItem/CurrencyCode",
    "lineItem/LineItemType",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
)
_REQUIRED_CUR2 = tuple(
    next(pair[1] for pair in (*_DIRECT.values(), _LINE_ITEM_TYPE) if pair[0] == legacy)
    for legacy in REQUIRED_COLUMNS
)

#: Frame columns that must have a value in every CUR row.
REQUIRED_FRAME_COLUMNS = frozenset(
    {
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "BilledCost",
        "EffectiveCost",
        "BillingCurrency",
        "ChargeCategory",
        "BillingAccountId",
    }
)


def looks_like_cur(columns: frozenset[str]) -> bool:
    return any(c.startswith(("lineItem/", "line_item_")) for c in columns)


@dataclass(frozen=True)
class CurLayout:
    """How to read the chunks of one CUR file."""

    columns: frozenset[str]

    @property
    def cur2(self) -> bool:
        """CUR 2.0 spelling (``line_item_...``) rather than legacy (``lineItem/...``)."""
        return not any(c.startswith("lineItem/") for c in self.columns)

    def _name(self, pair: tuple[str, str]) -> str | None:
        name = pair[1] if self.cur2 else pair[0]
        return name if name and name in self.columns else None

    def missing_columns(self) -> list[str]:
        names = _REQUIRED_CUR2 if self.cur2 else REQUIRED_COLUMNS
        return [c for c in names if c not in self.columns]

    def map(self, chunk: RawChunk, problems: Problems) -> Mapped:
        def source(pair: tuple[str, str]) -> Sources:
            name = self._name(pair)
            return ((name, chunk.column(name)),) if name else ()

        sources: dict[str, Sources] = {name: source(pair) for name, pair in _DIRECT.items()}
        sources["EffectiveCost"] = source(_NET_COST) + sources["BilledCost"]
        sources["RegionId"] = source(_REGION) + tuple(
            (label, pc.replace_substring_regex(zone, pattern="[a-z]$", replacement=""))
            for label, zone in source(_ZONE)
        )
        sources["ChargeCategory"] = tuple(
            (label, _charge_categories(kinds)) for label, kinds in source(_LINE_ITEM_TYPE)
        )
        sources["ProviderName"] = (("ProviderName", pa.repeat(pa.scalar("AWS"), chunk.num_rows)),)
        return Mapped(
            chunk.num_rows,
            chunk.first_row,
            sources,
            REQUIRED_FRAME_COLUMNS,
            built={"Tags": self._tags(chunk, problems)},
        )

    def _tags(self, chunk: RawChunk, problems: Problems) -> Column:
        rows: list[dict[str, str]] = [{} for _ in range(chunk.num_rows)]
        if self.cur2:
            if _TAG_MAP[1] in self.columns:
                bad = np.zeros(chunk.num_rows, dtype=np.bool_)
                texts = chunk.column(_TAG_MAP[1]).to_pylist()
                for i, text in enumerate(texts):
                    if text is not None:
                        tags = _cur2_user_tags(text)
                        if tags is None:
                            bad[i] = True
                        else:
                            rows[i].update(tags)
                Cells(_TAG_MAP[1], chunk.first_row, problems).report(
                    bad, lambda i: f"{texts[i][:60]!r} is not a JSON object"
                )
        else:
            for name in sorted(c for c in self.columns if c.startswith(_TAG_PREFIX[0])):
                key = name.removeprefix(_TAG_PREFIX[0])
                tag_values = chunk.column(name)
                valid = np.flatnonzero(tag_values.is_valid().to_numpy(zero_copy_only=False))
                for i, value in zip(
                    valid.tolist(), tag_values.drop_null().to_pylist(), strict=True
                ):
                    rows[i][key] = value
        values = np.empty(chunk.num_rows, dtype=object)
        values[:] = rows
        return Column(values, np.array([not r for r in rows], dtype=np.bool_))


def _charge_categories(kinds: pa.ChunkedArray) -> pa.Array:
    encoded = Encoded.of(kinds)
    categories = np.array(
        [CHARGE_CATEGORIES.get(k, UNKNOWN_CHARGE_CATEGORY) for k in encoded.distinct.to_pylist()],
        dtype=object,
    )
    return pa.array(encoded.take(categories, None), pa.string())


def _cur2_user_tags(text: str) -> dict[str, str] | None:
    """CUR 2.0 ``resource_tags``: a JSON object (or map) with ``user_KEY`` keys; None
    if it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {
        str(k).removeprefix(_CUR2_USER_TAG): tag_value(v)
        for k, v in value.items()
        if str(k).startswith(_CUR2_USER_TAG) and v not in (None, "")
    }
