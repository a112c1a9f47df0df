"""The FOCUS columns, which version introduced each, and how a file's version is told.

The table is FOCUS 1.2's column list (feature level, data type, whether nulls are
allowed, the version that introduced the column), as published by the FinOps
Foundation; earlier versions are the rows introduced at or before them.

Files carry no version column, so the version is read off the columns present:
a column introduced in 1.2 makes a 1.2 file, one introduced in 1.1 a 1.1 file, and
anything else with the 1.0 mandatory columns is 1.0. Two 1.2 columns are not taken
as proof on their own: Microsoft's FOCUS 1.0 exports already carry
``BillingAccountType`` and ``SubAccountType`` (added there before FOCUS adopted
them), so they count only next to a 1.1 column. A minimal 1.2 file (mandatory
columns only) reads as 1.0, which differs only in :func:`allows_nulls`.

The mandatory columns of 1.0, 1.1 and 1.2 are the same 21, so the version decides
what a file must contain only in principle; in practice it decides nullability.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class FocusVersion(Enum):
    """A FOCUS release; ``value`` sorts them."""

    V0_5 = (0, 5, 0)
    V1_0_PREVIEW = (1, 0, -1)
    V1_0 = (1, 0, 0)
    V1_1 = (1, 1, 0)
    V1_2 = (1, 2, 0)

    @property
    def label(self) -> str:
        major, minor, pre = self.value
        return f"{major}.{minor}" + ("-preview" if pre < 0 else "")


_VERSIONS = {v.label: v for v in FocusVersion}


@dataclass(frozen=True, slots=True)
class FocusColumn:
    """One row of the FOCUS column table."""

    name: str
    feature_level: str  # Mandatory, Recommended or Conditional
    data_type: str  # String, Decimal, Date/Time or JSON
    allows_nulls: bool
    introduced: FocusVersion


# (ColumnId, FeatureLevel, DataType, AllowsNulls, IntroducedVersion) from
# focus_spec_v1.2_columns.csv.
_TABLE: tuple[tuple[str, str, str, bool, str], ...] = (
    ("BilledCost", "Mandatory", "Decimal", False, "0.5"),
    ("BillingAccountId", "Mandatory", "String", False, "0.5"),
    ("BillingAccountName", "Mandatory", "String", True, "0.5"),
    ("BillingCurrency", "Mandatory", "String", False, "0.5"),
    ("BillingPeriodEnd", "Mandatory", "Date/Time", False, "0.5"),
    ("BillingPeriodStart", "Mandatory", "Date/Time", False, "0.5"),
    ("ChargeCategory", "Mandatory", "String", False, "0.5"),
    ("ChargeClass", "Mandatory", "String", True, "1.0"),
    ("ChargeDescription", "Mandatory", "String", True, "1.0-preview"),
    ("ChargePeriodEnd", "Mandatory", "Date/Time", False, "0.5"),
    ("ChargePeriodStart", "Mandatory", "Date/Time", False, "0.5"),
    ("ContractedCost", "Mandatory", "Decimal", False, "1.0"),
    ("EffectiveCost", "Mandatory", "Decimal", False, "0.5"),
    ("InvoiceIssuerName", "Mandatory", "String", False, "0.5"),
    ("ListCost", "Mandatory", "Decimal", False, "1.0-preview"),
    ("PricingQuantity", "Mandatory", "Decimal", True, "1.0-preview"),
    ("PricingUnit", "Mandatory", "String", True, "1.0-preview"),
    ("ProviderName", "Mandatory", "String", False, "0.5"),
    ("PublisherName", "Mandatory", "String", False, "0.5"),
    ("ServiceCategory", "Mandatory", "String", False, "0.5"),
    ("ServiceName", "Mandatory", "String", False, "0.5"),
    ("AvailabilityZone", "Recommended", "String", True, "0.5"),
    ("ChargeFrequency", "Recommended", "String", False, "1.0-preview"),
    ("InvoiceId", "Recommended", "String", True, "1.2"),
    ("ServiceSubcategory", "Recommended", "String", False, "1.1"),
    ("BillingAccountType", "Conditional", "String", False, "1.2"),
    ("CapacityReservationId", "Conditional", "String", True, "1.1"),
    ("CapacityReservationStatus", "Conditional", "String", True, "1.1"),
    ("CommitmentDiscountCategory", "Conditional", "String", True, "1.0-preview"),
    ("CommitmentDiscountId", "Conditional", "String", True, "1.0-preview"),
    ("CommitmentDiscountName", "Conditional", "String", True, "1.0-preview"),
    ("CommitmentDiscountQuantity", "Conditional", "Decimal", True, "1.1"),
    ("CommitmentDiscountStatus", "Conditional", "String", True, "1.0"),
    ("CommitmentDiscountType", "Conditional", "String", True, "1.0-preview"),
    ("CommitmentDiscountUnit", "Conditional", "String", True, "1.1"),
    ("ConsumedQuantity", "Conditional", "Decimal", True, "1.0"),
    ("ConsumedUnit", "Conditional", "String", True, "1.0"),
    ("ContractedUnitPrice", "Conditional", "Decimal", True, "1.0"),
    ("ListUnitPrice", "Conditional", "Decimal", True, "1.0-preview"),
    ("PricingCategory", "Conditional", "String", True, "1.0-preview"),
    ("PricingCurrency", "Conditional", "String", True, "1.2"),
    ("PricingCurrencyContractedUnitPrice", "Conditional", "Decimal", True, "1.2"),
    ("PricingCurrencyEffectiveCost", "Conditional", "Decimal", True, "1.2"),
    ("PricingCurrencyListUnitPrice", "Conditional", "Decimal", True, "1.2"),
    ("RegionId", "Conditional", "String", True, "1.0"),
    ("RegionName", "Conditional", "String", True, "1.0"),
    ("ResourceId", "Conditional", "String", True, "0.5"),
    ("ResourceName", "Conditional", "String", True, "0.5"),
    ("ResourceType", "Conditional", "String", True, "1.0-preview"),
    ("SkuId", "Conditional", "String", True, "1.0-preview"),
    ("SkuMeter", "Conditional", "String", True, "1.1"),
    ("SkuPriceDetails", "Conditional", "JSON", True, "1.1"),
    ("SkuPriceId", "Conditional", "String", True, "1.0-preview"),
    ("SubAccountId", "Conditional", "String", True, "0.5"),
    ("SubAccountName", "Conditional", "String", True, "0.5"),
    ("SubAccountType", "Conditional", "String", True, "1.2"),
    ("Tags", "Conditional", "JSON", True, "1.0-preview"),
)

COLUMNS: dict[str, FocusColumn] = {
    name: FocusColumn(name, level, dtype, nulls, _VERSIONS[version])
    for name, level, dtype, nulls, version in _TABLE
}

#: Columns a 1.0 file may leave null although the spec says MUST NOT: real 1.0
#: exports do (the FinOps Foundation's own 1.0 sample has Oracle rows with a null
#: ContractedCost). From 1.1 on the spec is enforced.
_NULLABLE_IN_1_0 = frozenset({"ContractedCost", "ListCost"})

# 1.2 columns that Microsoft's 1.0 exports already carry (see the module docstring).
_WEAK_1_2_MARKERS = frozenset({"BillingAccountType", "SubAccountType"})


def mandatory_columns(version: FocusVersion) -> tuple[str, ...]:
    """The columns a file of ``version`` must have, in table order."""
    return tuple(
        c.name
        for c in COLUMNS.values()
        if c.feature_level == "Mandatory" and c.introduced.value <= version.value
    )


def allows_nulls(column: str, version: FocusVersion) -> bool:
    """Whether ``column`` may be null in a file of ``version``; a column the table does
    not know (or one newer than the file) may."""
    spec = COLUMNS.get(column)
    if spec is None or spec.introduced.value > version.value:
        return True
    if version.value <= FocusVersion.V1_0.value and column in _NULLABLE_IN_1_0:
        return True
    return spec.allows_nulls


def introduced_in(version: FocusVersion) -> frozenset[str]:
    return frozenset(c.name for c in COLUMNS.values() if c.introduced is version)


def detect_version(columns: Iterable[str]) -> FocusVersion:
    """The FOCUS version a file with these columns looks like (1.0, 1.1 or 1.2); the
    caller checks the mandatory columns separately."""
    present = set(columns)
    has_1_1 = bool(present & introduced_in(FocusVersion.V1_1))
    new_1_2 = present & introduced_in(FocusVersion.V1_2)
    if new_1_2 - _WEAK_1_2_MARKERS or (new_1_2 and has_1_1):
        return FocusVersion.V1_2
    if has_1_1:
        return FocusVersion.V1_1
    return FocusVersion.V1_0
