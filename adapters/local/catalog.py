"""The local cloud's price list, derived from a real one.

The local cloud sells Google Compute Engine shapes at Google's list prices so that
the optimizer sees realistic price ratios (family vs family, region vs region, spot
vs on-demand) without a network call or an account.

Source: apache-libcloud's bundled ``libcloud/data/pricing.json`` (Apache-2.0), read
at run time from the installed package. Its key ``compute.gce_instances`` holds,
per machine family (``e2``, ``n2``, ...), a ``cpu`` and a ``ram`` SKU, each with
``on_demand`` and ``preemptible`` prices per region, in dollars per vCPU-hour and
per GiB-hour. A shape's hourly price is ``vcpus * cpu + memory_gib * ram`` (that is
how GCE bills predefined machine types), with the ``preemptible`` SKUs for spot.

Money is :class:`~decimal.Decimal`: the JSON is parsed with ``parse_float=Decimal``
so no binary float ever enters a price, and prices are quantized to 1e-6 $/h.
Rows a price list should not have (a price of zero or below, a missing region,
spot not cheaper than on-demand) are skipped with a log line, never crashed on.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import libcloud

log = logging.getLogger(__name__)

DEFAULT_REGIONS: tuple[str, ...] = ("us-central1", "europe-west4", "asia-east1")

#: Prices are kept to a millionth of a dollar per hour (the solver's micro-dollars).
PRICE_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class Shape:
    """A predefined machine type: ``<family>-<kind>-<vcpus>``."""

    family: str
    kind: str
    vcpus: int
    gib_per_vcpu: Decimal

    @property
    def name(self) -> str:
        return f"{self.family}-{self.kind}-{self.vcpus}"

    @property
    def memory_gib(self) -> Decimal:
        return self.vcpus * self.gib_per_vcpu


_STANDARD = Decimal(4)
_HIGHMEM = Decimal(8)

DEFAULT_SHAPES: tuple[Shape, ...] = (
    Shape("n2", "standard", 2, _STANDARD),
    Shape("n2", "standard", 4, _STANDARD),
    Shape("n2", "standard", 8, _STANDARD),
    Shape("n2", "highmem", 2, _HIGHMEM),
    Shape("n2", "highmem", 4, _HIGHMEM),
    Shape("e2", "standard", 2, _STANDARD),
    Shape("e2", "standard", 4, _STANDARD),
)


@dataclass(frozen=True)
class InstanceType:
    """One shape in one region, with both of its hourly prices."""

    name: str
    region: str
    zone: str
    vcpus: int
    memory_gib: Decimal
    on_demand_price: Decimal
    spot_price: Decimal
    gpu_count: int = 0
    gpu_type: str = ""


def pricing_json_path() -> Path:
    """Where the installed apache-libcloud keeps its bundled price list."""
    return Path(os.path.dirname(libcloud.__file__)) / "data" / "pricing.json"


def load_gce_prices(path: Path | None = None) -> Mapping[str, object]:
    """The ``compute.gce_instances`` section of a libcloud ``pricing.json``."""
    with (path or pricing_json_path()).open(encoding="utf-8") as f:
        data = json.load(f, parse_float=Decimal)
    section = data.get("compute", {}).get("gce_instances", {})
    if not isinstance(section, Mapping):
        raise ValueError(f"compute.gce_instances is not an object in {path}")
    return section


def build_catalog(
    regions: Sequence[str] = DEFAULT_REGIONS,
    shapes: Sequence[Shape] = DEFAULT_SHAPES,
    *,
    pricing_path: Path | None = None,
) -> tuple[InstanceType, ...]:
    """Instance types for ``shapes`` x ``regions`` at libcloud's bundled GCE prices."""
    return catalog_from_prices(load_gce_prices(pricing_path), regions, shapes)


def catalog_from_prices(
    gce_instances: Mapping[str, object],
    regions: Sequence[str] = DEFAULT_REGIONS,
    shapes: Sequence[Shape] = DEFAULT_SHAPES,
) -> tuple[InstanceType, ...]:
    """Price ``shapes`` in ``regions`` from a ``gce_instances`` mapping (pure)."""
    out: list[InstanceType] = []
    for shape in shapes:
        for region in regions:
            on_demand = _shape_price(gce_instances, shape, region, "on_demand")
            spot = _shape_price(gce_instances, shape, region, "preemptible")
            if on_demand is None or spot is None:
                continue
            if spot >= on_demand:
                log.warning(
                    "skipping %s in %s: spot %s >= on-demand %s",
                    shape.name,
                    region,
                    spot,
                    on_demand,
                )
                continue
            out.append(
                InstanceType(
                    name=shape.name,
                    region=region,
                    zone=f"{region}-a",
                    vcpus=shape.vcpus,
                    memory_gib=shape.memory_gib,
                    on_demand_price=on_demand,
                    spot_price=spot,
                )
            )
    return tuple(out)


def _shape_price(
    gce_instances: Mapping[str, object], shape: Shape, region: str, market: str
) -> Decimal | None:
    cpu = _unit_price(gce_instances, shape.family, "cpu", market, region)
    ram = _unit_price(gce_instances, shape.family, "ram", market, region)
    if cpu is None or ram is None:
        log.debug("skipping %s in %s: no %s price", shape.name, region, market)
        return None
    total = shape.vcpus * cpu + shape.memory_gib * ram
    return total.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def _unit_price(
    gce_instances: Mapping[str, object], family: str, resource: str, market: str, region: str
) -> Decimal | None:
    """``gce_instances[family][resource][market][region]["price"]``, if sane."""
    node: object = gce_instances
    for key in (family, resource, market, region):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    if not isinstance(node, Mapping):
        return None
    price = to_decimal(node.get("price"))
    if price is None or price <= 0:
        log.warning("skipping %s %s %s in %s: bad price %r", family, resource, market, region, node)
        return None
    return price


def to_decimal(value: object) -> Decimal | None:
    """A finite Decimal from a JSON price (Decimal, str, int or float), else None.

    Floats go through ``str`` so that 0.1 becomes Decimal("0.1"), not its binary
    expansion.
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, str | int | float):
            result = Decimal(str(value).strip())
        else:
            return None
    except InvalidOperation:
        return None
    return result if result.is_finite() else None
