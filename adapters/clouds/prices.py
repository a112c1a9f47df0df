"""Where the GCE and Azure profiles get prices: libcloud's bundled list, or a catalog.

The profiles sell what the provider's API lists (GCE machine types, Azure VM sizes), at
prices from apache-libcloud's bundled ``libcloud/data/pricing.json``: no network call and
no data directory needed. A catalog from :mod:`adapters.catalog` (SkyPilot-format price
lists) may be given as well; where it has an offering for the same region, zone,
instance type and market, that offering's price, GPUs, preemption hazard and provenance
win. It is the only way to sell GPU machine types, which ``pricing.json`` does not price.

Money is :class:`~decimal.Decimal`: the JSON is parsed with ``parse_float=Decimal`` and
prices are kept to a millionth of a dollar per hour (the solver's micro-dollars).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import libcloud

from adapters.base import Market, Offering
from adapters.catalog import libcloud_pricing_path

PRICE_QUANTUM = Decimal("0.000001")


@functools.cache
def libcloud_pricing() -> Mapping[str, Any]:
    """The installed apache-libcloud's ``pricing.json``, read once."""
    with libcloud_pricing_path().open(encoding="utf-8") as f:
        data: Mapping[str, Any] = json.load(f, parse_float=Decimal)
    return data


def compute_prices(section: str) -> Mapping[str, Any]:
    """``compute.<section>`` of libcloud's price list (empty if it has none)."""
    found = libcloud_pricing().get("compute", {}).get(section, {})
    return found if isinstance(found, Mapping) else {}


def pricing_provenance(section: str) -> tuple[str, str]:
    """(``source``, ``source_date``) for an offering priced from ``compute.<section>``."""
    source = f"apache-libcloud {libcloud.__version__} libcloud/data/pricing.json compute.{section}"
    updated = libcloud_pricing().get("updated")
    if isinstance(updated, int) and not isinstance(updated, bool):
        return source, datetime.fromtimestamp(updated, UTC).date().isoformat()
    return source, ""


def price(value: object) -> Decimal | None:
    """A positive price from ``pricing.json`` (Decimal, int or str), quantized; else None."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not result.is_finite() or result <= 0:
        return None
    return result.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


class CatalogPrices:
    """Offerings of one cloud from a price catalog, looked up by what a provider lists.

    A catalog offering whose zone is its region (how SkyPilot's Azure list has it)
    applies to that region's single location.
    """

    def __init__(self, offerings: Iterable[Offering], *, cloud: str) -> None:
        self._by_key: dict[tuple[str, str, str, Market], Offering] = {}
        for offering in offerings:
            if offering.cloud != cloud:
                continue
            key = (offering.region, offering.zone, offering.instance_type, offering.market)
            self._by_key.setdefault(key, offering)

    def __len__(self) -> int:
        return len(self._by_key)

    def find(self, region: str, zone: str, instance_type: str, market: Market) -> Offering | None:
        return self._by_key.get((region, zone, instance_type, market))


def list_priced_offering(
    cloud: str,
    *,
    region: str,
    zone: str,
    instance_type: str,
    market: Market,
    vcpus: float,
    memory_gib: float,
    hourly: Decimal,
    spot_hazard_per_hour: float,
    launch_delay_s: float,
    provenance: tuple[str, str],
) -> Offering:
    """A GPU-less offering priced from libcloud's list (spot quota kept apart, as on GCE
    and Azure); on spot with the profile's preemption hazard."""
    return Offering(
        cloud=cloud,
        region=region,
        zone=zone,
        instance_type=instance_type,
        market=market,
        vcpus=vcpus,
        memory_gib=memory_gib,
        gpu_count=0,
        gpu_type="",
        price_per_hour=hourly,
        preemption_hazard_per_hour=spot_hazard_per_hour if market is Market.SPOT else 0.0,
        launch_delay_s=launch_delay_s,
        source=provenance[0],
        source_date=provenance[1],
        separate_spot_quota=True,
    )
