"""FOCUS files (1.0, 1.1, 1.2): which version a file is, what it must contain, how it maps.

FOCUS column names are the frame's names, so the mapping is the identity; a column
the file lacks is null throughout. FOCUS has no instance type column: ``x_InstanceType``
is read from an ``x_InstanceType`` column if the file has one (our generator adds
it), else from the ``InstanceType`` property of ``SkuPriceDetails`` (FOCUS 1.1+, a
JSON object; the local cloud's bill and real 1.2 exports fill it). A
``SkuPriceDetails`` that is not such an object gives no instance type; it is not an
error, since that column is not otherwise kept.

A file is accepted when it has the 1.0 mandatory columns (the same 21 in 1.1 and
1.2); its version is then read off the other columns present
(:func:`~adapters.billing.focus_spec.detect_version`) and decides which frame
columns must not be null (:func:`~adapters.billing.focus_spec.allows_nulls`). Only
the columns skybatch keeps are checked; a quirk of a column it drops (a null
``PublisherName``, which AWS documents as a known gap) does not refuse a bill.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from adapters.billing.errors import Problems
from adapters.billing.focus_spec import FocusVersion, allows_nulls, mandatory_columns
from adapters.billing.frame import DATA_COLUMNS
from adapters.billing.sources import RawChunk
from adapters.billing.validate import Mapped, Sources
from adapters.billing.values import Encoded

_INSTANCE_TYPE = "x_InstanceType"
_SKU_PRICE_DETAILS = "SkuPriceDetails"


@dataclass(frozen=True)
class FocusLayout:
    """How to read the chunks of one FOCUS file."""

    version: FocusVersion
    columns: frozenset[str]

    def missing_columns(self) -> list[str]:
        return [c for c in mandatory_columns(self.version) if c not in self.columns]

    @property
    def required(self) -> frozenset[str]:
        return frozenset(c for c in DATA_COLUMNS if not allows_nulls(c, self.version))

    def map(self, chunk: RawChunk, problems: Problems) -> Mapped:
        del problems  # every FOCUS check is a shared one (adapters.billing.validate)
        sources: dict[str, Sources] = {
            name: ((name, chunk.column(name)),) for name in DATA_COLUMNS if name in self.columns
        }
        if _INSTANCE_TYPE not in self.columns and _SKU_PRICE_DETAILS in self.columns:
            details = chunk.column(_SKU_PRICE_DETAILS)
            sources[_INSTANCE_TYPE] = ((_SKU_PRICE_DETAILS, _instance_types(details)),)
        return Mapped(chunk.num_rows, chunk.first_row, sources, self.required)


def _instance_types(details: pa.ChunkedArray) -> pa.Array:
    """The ``InstanceType`` property of each row's SkuPriceDetails, or null."""
    encoded = Encoded.of(details)
    per_value = np.array(
        [_instance_type(text) for text in encoded.distinct.to_pylist()], dtype=object
    )
    return pa.array(encoded.take(per_value, None), pa.string())


def _instance_type(details: str) -> str | None:
    try:
        value = json.loads(details)
    except ValueError:
        return None
    found = value.get("InstanceType") if isinstance(value, dict) else None
    return found if isinstance(found, str) and found else None
