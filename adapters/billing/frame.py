"""The bill frame: the columns every reader yields, their dtypes, and how a chunk becomes one.

Other parts of skybatch build on these names and dtypes; they are the contract:

- text (``object``: ``str`` or None): :data:`TEXT_COLUMNS`
- ``datetime64[ns, UTC]``: :data:`TIMESTAMP_COLUMNS`
- ``float64`` (NaN for null): :data:`QUANTITY_COLUMNS`
- ``object`` holding ``decimal.Decimal`` exactly as written (None for null):
  :data:`MONEY_COLUMNS`
- ``Tags``: ``object``, a ``dict[str, str]`` per row (``{}`` for none)
- ``x_SourceRow``: ``int64``, the row number a person sees in the file
- ``x_RowKey``: ``object`` (``str``), see :mod:`adapters.billing.row_keys`
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from adapters.billing.values import Column

TEXT_COLUMNS: tuple[str, ...] = (
    "BillingAccountId",
    "SubAccountId",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "ChargeCategory",
    "ChargeDescription",
    "RegionId",
    "AvailabilityZone",
    "ResourceId",
    "ResourceName",
    "SkuId",
    "PricingUnit",
    "ConsumedUnit",
    "BillingCurrency",
    "x_InstanceType",
)
TIMESTAMP_COLUMNS: tuple[str, ...] = (
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
)
QUANTITY_COLUMNS: tuple[str, ...] = ("PricingQuantity", "ConsumedQuantity")
MONEY_COLUMNS: tuple[str, ...] = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
TAGS = "Tags"
SOURCE_ROW = "x_SourceRow"
ROW_KEY = "x_RowKey"

#: The columns read from a file, in frame order.
DATA_COLUMNS: tuple[str, ...] = (
    *TEXT_COLUMNS,
    *TIMESTAMP_COLUMNS,
    *QUANTITY_COLUMNS,
    *MONEY_COLUMNS,
    TAGS,
)
#: Every column of a bill frame, in order.
BILL_COLUMNS: tuple[str, ...] = (*DATA_COLUMNS, SOURCE_ROW, ROW_KEY)

_UTC = "datetime64[ns, UTC]"


def bill_dtypes() -> dict[str, str]:
    """Column name to dtype name, as ``str(frame[column].dtype)`` spells it."""
    dtypes = dict.fromkeys(BILL_COLUMNS, "object")
    dtypes.update(dict.fromkeys(TIMESTAMP_COLUMNS, _UTC))
    dtypes.update(dict.fromkeys(QUANTITY_COLUMNS, "float64"))
    dtypes[SOURCE_ROW] = "int64"
    return dtypes


def to_frame(
    columns: Mapping[str, Column],
    source_rows: npt.NDArray[np.int64],
    row_keys: list[str],
    index_start: int,
) -> pd.DataFrame:
    """A bill frame from parsed columns. The index continues across chunks
    (``index_start``) so chunks concatenate into one frame as they are."""
    n = len(source_rows)
    index = pd.RangeIndex(index_start, index_start + n)
    data: dict[str, pd.Series] = {}
    for name in TEXT_COLUMNS + MONEY_COLUMNS + (TAGS,):
        # dtype=object explicitly: pandas 3 would infer its own string dtype.
        data[name] = pd.Series(columns[name].values, index=index, dtype=object)
    for name in TIMESTAMP_COLUMNS:
        naive = pd.Series(columns[name].values, index=index, dtype="datetime64[ns]")
        data[name] = naive.dt.tz_localize("UTC")
    for name in QUANTITY_COLUMNS:
        data[name] = pd.Series(columns[name].values, index=index, dtype=np.float64)
    data[SOURCE_ROW] = pd.Series(source_rows, index=index, dtype=np.int64)
    data[ROW_KEY] = pd.Series(np.array(row_keys, dtype=object), index=index, dtype=object)
    return pd.DataFrame({name: data[name] for name in BILL_COLUMNS}, index=index)
