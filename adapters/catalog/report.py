"""What each catalog source yielded: rows read, offerings produced, rows skipped and why.

Real price lists are dirty (a price of 0, spot above on-demand, a row with one field too
many). A loader never fails on a bad row: it skips what it cannot trust, keeps the
rest, and counts each decision under a :class:`Skip` reason in a :class:`LoadReport`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Skip(StrEnum):
    """Why a row, or one of the offerings it would have made, was left out."""

    #: A GCP accelerator priced on its own (no instance type): a price component only.
    ACCELERATOR_ONLY = "accelerator-only row"
    MALFORMED_ROW = "malformed row"
    TYPE_OR_REGION_MISSING = "instance type/region missing"
    PRICE_MISSING = "price missing"
    PRICE_NOT_NUMERIC = "price non-numeric"
    PRICE_NOT_POSITIVE = "price<=0"
    #: The next three drop the spot offering only; the on-demand one is kept.
    SPOT_NOT_NUMERIC = "spot non-numeric"
    SPOT_NOT_POSITIVE = "spot<=0"
    SPOT_ABOVE_ON_DEMAND = "spot>on-demand"
    SIZE_MISSING = "vcpus/memory missing"
    SIZE_INVALID = "vcpus/memory invalid"
    GPU_COUNT_INVALID = "gpu count invalid"
    #: A slice of a GPU (Azure NVadsA10 v5: 1/6, 1/3, 1/2); offerings hold whole GPUs.
    FRACTIONAL_GPU = "fractional gpu"
    #: An accelerator count with no name (Azure FPGA sizes): not a GPU we can match.
    UNNAMED_ACCELERATOR = "accelerator without name"
    #: A GCP machine type that carries GPUs but is not in the host -> GPU table.
    GPU_HOST_UNMAPPED = "gpu host: unmapped type"
    #: A GCP GPU machine type whose GPUs have no price row in its zone.
    GPU_HOST_NO_ACCELERATOR_PRICE = "gpu host: no accelerator price"
    #: An AWS type with GPUs whose family is not in the family -> GPU table.
    GPU_TYPE_UNKNOWN = "gpu type unknown"
    #: An AWS type of a GPU family whose size is known but not its GPU count.
    GPU_COUNT_UNKNOWN = "gpu count unknown"
    #: Same offering id as an earlier row, same values: the first is kept.
    DUPLICATE = "duplicate"
    #: Same offering id as an earlier row, different values: the first is kept.
    CONFLICTING_DUPLICATE = "duplicate id, different values"
    #: An AWS spot advisor entry with no usable on-demand price to discount.
    SPOT_NO_ON_DEMAND = "spot: no on-demand price"
    #: An AWS spot advisor entry whose savings or band is not a valid number.
    SPOT_ADVISOR_INVALID = "spot advisor entry invalid"
    LOCATION_MALFORMED = "location malformed"
    COST_NOT_NUMERIC = "cost non-numeric"
    COST_NEGATIVE = "cost<0"


class Repair(StrEnum):
    """A row that was kept after a fix-up."""

    #: More fields than the header, e.g. Azure's unquoted ``Generation`` value ``V1,V2``.
    EXTRA_FIELDS_MERGED = "extra fields merged into last column"
    #: Skyplane names a GCP zone (``gcp:us-central1-a``) where we use its region.
    GCP_ZONE_AS_REGION = "gcp zone read as its region"


@dataclass(frozen=True)
class LoadReport:
    """One source's load.

    ``rows_read`` counts data rows (or JSON entries); ``filtered`` of them were left out
    by the caller's cloud/region/instance filters (not an error); ``produced`` is the
    number of offerings made (for the egress table: price pairs). A row can make two
    offerings (on-demand and spot). ``skipped`` counts decisions, not only rows: a row
    whose spot price is dropped (``spot>on-demand``, ``spot<=0``, ``spot non-numeric``)
    is counted there and still makes its on-demand offering.
    """

    source: str
    rows_read: int = 0
    filtered: int = 0
    produced: int = 0
    skipped: Mapping[str, int] = field(default_factory=dict)
    repaired: Mapping[str, int] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class Tally:
    """The mutable counterpart of :class:`LoadReport`, filled in while loading."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.rows_read = 0
        self.filtered = 0
        self.produced = 0
        self.skipped: Counter[str] = Counter()
        self.repaired: Counter[str] = Counter()

    def skip(self, reason: Skip) -> None:
        self.skipped[reason] += 1

    def report(self) -> LoadReport:
        return LoadReport(
            source=self.source,
            rows_read=self.rows_read,
            filtered=self.filtered,
            produced=self.produced,
            skipped=MappingProxyType({str(k): v for k, v in sorted(self.skipped.items())}),
            repaired=MappingProxyType({str(k): v for k, v in sorted(self.repaired.items())}),
        )
