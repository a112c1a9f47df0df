"""Data transfer prices between cloud regions, in $/GB.

Locations are ``cloud:region`` (``aws:us-east-1``), the form the solver uses for a
job's data and an offering's location. :func:`load_egress` reads Skyplane's
``intercloud_egress_cost.csv`` (columns ``src,dest,cost``); :meth:`EgressTable.price_per_gb`
answers any pair: the table's price if it has one, else a default by kind of move
(same place: free; same cloud; another cloud) and source cloud, from
:mod:`adapters.catalog.defaults`.

Skyplane names one zone per GCP region (``gcp:us-central1-a``); egress is priced per
region, so a GCP zone is read as its region (``gcp:us-central1``), in the table and in
lookups alike.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from adapters.catalog.defaults import EGRESS_DEFAULT_PER_GB, EGRESS_UNKNOWN_CLOUD_PER_GB
from adapters.catalog.report import LoadReport, Repair, Skip, Tally
from adapters.catalog.sources import CatalogError, EgressSource

_COLUMNS = ("src", "dest", "cost")
_GCP_ZONE = re.compile(r"[a-z]+-[a-z]+[0-9]+-[a-z]")


def _cloud(location: str) -> str:
    return location.split(":", 1)[0]


def normalize_location(location: str) -> str:
    """``cloud:region``, with a GCP zone replaced by its region; other text unchanged."""
    cloud, sep, region = location.strip().partition(":")
    if cloud == "gcp" and _GCP_ZONE.fullmatch(region):
        region = region.rsplit("-", 1)[0]
    return f"{cloud}{sep}{region}"


def default_egress_per_gb(src: str, dst: str) -> Decimal:
    """The assumed $/GB from ``src`` to ``dst`` when no table has the pair."""
    src, dst = normalize_location(src), normalize_location(dst)
    if src == dst:
        return Decimal(0)
    same_cloud, other_cloud = EGRESS_DEFAULT_PER_GB.get(_cloud(src), EGRESS_UNKNOWN_CLOUD_PER_GB)
    return same_cloud if _cloud(src) == _cloud(dst) else other_cloud


@dataclass(frozen=True)
class EgressTable:
    """Known $/GB per (src, dst) location pair; any other pair gets a default."""

    prices: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    source: str = ""
    source_date: str = ""

    def price_per_gb(self, src: str, dst: str) -> Decimal:
        src, dst = normalize_location(src), normalize_location(dst)
        if src == dst:
            return Decimal(0)
        known = self.prices.get((src, dst))
        return known if known is not None else default_egress_per_gb(src, dst)


def _location(text: str) -> str | None:
    cloud, sep, region = text.strip().partition(":")
    return f"{cloud}:{region}" if sep and cloud and region else None


def load_egress(src: EgressSource) -> tuple[EgressTable, LoadReport]:
    """The table in ``src``; bad rows are counted and skipped. ``produced`` is pairs."""
    tally = Tally("egress")
    prices: dict[tuple[str, str], Decimal] = {}
    try:
        with src.path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise CatalogError(f"{src.path}: no column(s) {', '.join(missing)}")
            for row in reader:
                tally.rows_read += 1
                a, b = _location(row["src"] or ""), _location(row["dest"] or "")
                if a is None or b is None:
                    tally.skip(Skip.LOCATION_MALFORMED)
                    continue
                if (normalize_location(a), normalize_location(b)) != (a, b):
                    a, b = normalize_location(a), normalize_location(b)
                    tally.repaired[Repair.GCP_ZONE_AS_REGION] += 1
                try:
                    cost = Decimal((row["cost"] or "").strip())
                except InvalidOperation:
                    cost = Decimal("NaN")
                if not cost.is_finite():
                    tally.skip(Skip.COST_NOT_NUMERIC)
                    continue
                if cost < 0:
                    tally.skip(Skip.COST_NEGATIVE)
                    continue
                first = prices.get((a, b))
                if first is not None:
                    tally.skip(Skip.DUPLICATE if first == cost else Skip.CONFLICTING_DUPLICATE)
                    continue
                prices[(a, b)] = cost
    except OSError as e:
        raise CatalogError(f"cannot read {src.path}: {e}") from e
    except (csv.Error, UnicodeDecodeError) as e:
        raise CatalogError(f"{src.path} is not a readable CSV file: {e}") from e
    tally.produced = len(prices)
    table = EgressTable(MappingProxyType(prices), src.source, src.source_date)
    return table, tally.report()
