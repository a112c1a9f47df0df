"""AWS offerings: on-demand from libcloud's ``pricing.json``, spot from the spot advisor.

On-demand: apache-libcloud ships ``libcloud/data/pricing.json``; its key
``compute.ec2_linux`` maps instance type -> region -> Linux on-demand $/hour. The JSON
is parsed with ``parse_float=Decimal`` so each price is the decimal the file states.
Many entries are ``0.0`` (type not sold there, or not scraped): counted as ``price<=0``.
Sizes (vCPUs, memory, GPUs) come from libcloud's ``ec2_instance_types.INSTANCE_TYPES``,
or else from the advisor's ``instance_types`` (``cores`` is vCPUs, ``ram_gb`` GiB),
which has no GPU counts. Zone is the region: neither source is per zone.

Spot: the AWS Spot Instance Advisor data (``spot_advisor`` -> region -> ``Linux`` ->
type -> ``{"s": savings %, "r": band}``). Spot price = on-demand x (100 - s) / 100,
exact in Decimal; hazard from the band (:func:`~adapters.catalog.defaults.hazard_from_band`).
An entry needs a usable on-demand offering to discount. The spot offering's source
names both files and its date is the advisor's (the savings are relative to the
on-demand price of that time, which may be later than libcloud's snapshot).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import libcloud
from libcloud.compute.constants.ec2_instance_types import INSTANCE_TYPES

from adapters.base import Market, Offering
from adapters.catalog import fields
from adapters.catalog.defaults import SEPARATE_SPOT_QUOTA, hazard_from_band, launch_delay_s
from adapters.catalog.fields import Rejected
from adapters.catalog.report import LoadReport, Skip, Tally
from adapters.catalog.sources import AwsSources, CatalogError

CLOUD = "aws"
PRICING_KEY = ("compute", "ec2_linux")

#: Instance family -> GPU name, in SkyPilot's accelerator names. libcloud gives the
#: count (``extra["gpu"]``) but not the model.
GPU_BY_FAMILY: Mapping[str, str] = MappingProxyType(
    {
        "g2": "K520",
        "g3": "M60",
        "g3s": "M60",
        "g4ad": "Radeon Pro V520",
        "g4dn": "T4",
        "g5": "A10G",
        "g5g": "T4g",
        "g6": "L4",
        "gr6": "L4",
        "g6e": "L40S",
        "p2": "K80",
        "p3": "V100",
        "p3dn": "V100-32GB",
        "p4d": "A100",
        "p4de": "A100-80GB",
        "p5": "H100",
        "p5e": "H200",
        "p5en": "H200",
        "p6-b200": "B200",
    }
)


def libcloud_pricing_path() -> Path:
    """The ``pricing.json`` bundled with the installed apache-libcloud (not the user's
    ``~/.libcloud`` override: a catalog should not depend on who runs it)."""
    return Path(os.path.dirname(libcloud.__file__)) / "data" / "pricing.json"


@dataclass(frozen=True)
class _Size:
    vcpus: float
    memory_gib: float
    gpu_count: int
    gpu_type: str


def _read_json(path: Path, **kwargs: Any) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f, **kwargs)
    except OSError as e:
        raise CatalogError(f"cannot read {path}: {e}") from e
    except ValueError as e:
        raise CatalogError(f"{path} is not valid JSON: {e}") from e


def _size(instance_type: str, advisor_types: Mapping[str, Any]) -> _Size:
    family = instance_type.split(".", 1)[0]
    spec: Any = INSTANCE_TYPES.get(instance_type)
    if isinstance(spec, Mapping):
        extra = spec.get("extra")
        if not isinstance(extra, Mapping):
            raise Rejected(Skip.SIZE_MISSING)
        vcpus = fields.size(str(extra.get("vcpu") or ""))
        memory_gib = fields.size(str(spec.get("ram") or "")) / 1024  # MiB
        gpu_text = extra.get("gpu")
        if gpu_text is None and family in GPU_BY_FAMILY:
            raise Rejected(Skip.GPU_COUNT_UNKNOWN)
        gpus = fields.gpu_count(str(gpu_text or ""))
    else:
        alt = advisor_types.get(instance_type)
        if not isinstance(alt, Mapping):
            raise Rejected(Skip.SIZE_MISSING)
        vcpus = fields.size(str(alt.get("cores") or ""))
        memory_gib = fields.size(str(alt.get("ram_gb") or ""))
        if family in GPU_BY_FAMILY:
            raise Rejected(Skip.GPU_COUNT_UNKNOWN)
        gpus = 0
    if gpus and family not in GPU_BY_FAMILY:
        raise Rejected(Skip.GPU_TYPE_UNKNOWN)
    return _Size(vcpus, memory_gib, gpus, GPU_BY_FAMILY[family] if gpus else "")


def _json_price(value: object) -> Decimal:
    """A price from JSON parsed with ``parse_float=Decimal`` (ints stay ints)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise Rejected(Skip.PRICE_NOT_NUMERIC)
    return fields.on_demand_price(str(value))


def _provenance(path: Path | None, data: Mapping[str, Any]) -> tuple[str, str]:
    version = f"apache-libcloud {libcloud.__version__}"
    source = (
        f"{version} libcloud/data/pricing.json" if path is None else f"libcloud-format {path.name}"
    ) + " compute.ec2_linux"
    updated = data.get("updated")
    if isinstance(updated, int) and not isinstance(updated, bool):
        return source, datetime.fromtimestamp(updated, UTC).date().isoformat()
    return source, version


def _on_demand(
    prices: Mapping[str, Any],
    advisor_types: Mapping[str, Any],
    source: str,
    source_date: str,
    keep_region: Callable[[str], bool],
    keep_type: Callable[[str], bool],
) -> tuple[dict[tuple[str, str], Offering], LoadReport]:
    tally = Tally(CLOUD)
    delay = launch_delay_s(CLOUD)
    out: dict[tuple[str, str], Offering] = {}
    for instance_type, by_region in prices.items():
        if not isinstance(by_region, Mapping):
            tally.rows_read += 1
            tally.skip(Skip.MALFORMED_ROW)
            continue
        wanted = keep_type(instance_type)
        size: _Size | Skip | None = None
        for region, value in by_region.items():
            tally.rows_read += 1
            if not wanted or not keep_region(region):
                tally.filtered += 1
                continue
            try:
                price = _json_price(value)
            except Rejected as r:
                tally.skip(r.reason)
                continue
            if size is None:
                try:
                    size = _size(instance_type, advisor_types)
                except Rejected as r:
                    size = r.reason
            if isinstance(size, Skip):
                tally.skip(size)
                continue
            out[(region, instance_type)] = Offering(
                cloud=CLOUD,
                region=region,
                zone=region,
                instance_type=instance_type,
                market=Market.ON_DEMAND,
                vcpus=size.vcpus,
                memory_gib=size.memory_gib,
                gpu_count=size.gpu_count,
                gpu_type=size.gpu_type,
                price_per_hour=price,
                preemption_hazard_per_hour=0.0,
                launch_delay_s=delay,
                separate_spot_quota=CLOUD in SEPARATE_SPOT_QUOTA,
                source=source,
                source_date=source_date,
            )
    tally.produced = len(out)
    return out, tally.report()


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _spot(
    advisor: Mapping[str, Any],
    on_demand: Mapping[tuple[str, str], Offering],
    source: str,
    source_date: str,
    keep_region: Callable[[str], bool],
    keep_type: Callable[[str], bool],
) -> tuple[list[Offering], LoadReport]:
    tally = Tally(f"{CLOUD}-spot")
    out: list[Offering] = []
    for region, by_os in advisor.items():
        linux = by_os.get("Linux", {}) if isinstance(by_os, Mapping) else {}
        for instance_type, entry in linux.items():
            tally.rows_read += 1
            if not keep_region(region) or not keep_type(instance_type):
                tally.filtered += 1
                continue
            od = on_demand.get((region, instance_type))
            if od is None:
                tally.skip(Skip.SPOT_NO_ON_DEMAND)
                continue
            savings = _int(entry.get("s")) if isinstance(entry, Mapping) else None
            band = _int(entry.get("r")) if isinstance(entry, Mapping) else None
            if savings is None or band is None or not 0 <= band <= 4:
                tally.skip(Skip.SPOT_ADVISOR_INVALID)
                continue
            if savings < 0:
                tally.skip(Skip.SPOT_ABOVE_ON_DEMAND)
                continue
            if savings >= 100:
                tally.skip(Skip.SPOT_NOT_POSITIVE)
                continue
            out.append(
                replace(
                    od,
                    market=Market.SPOT,
                    price_per_hour=od.price_per_hour * (100 - savings) / 100,
                    preemption_hazard_per_hour=hazard_from_band(band),
                    source=f"{od.source} + {source}",
                    source_date=source_date,
                )
            )
    tally.produced = len(out)
    return out, tally.report()


def load_aws(
    src: AwsSources,
    *,
    keep_region: Callable[[str], bool] = lambda _: True,
    keep_type: Callable[[str], bool] = lambda _: True,
) -> tuple[list[Offering], list[LoadReport]]:
    """AWS on-demand offerings, then spot ones; reports ``aws`` and (with an advisor
    file) ``aws-spot``. Raises :class:`CatalogError` for an unreadable file."""
    path = src.pricing_json or libcloud_pricing_path()
    data = _read_json(path, parse_float=Decimal)
    prices = data.get(PRICING_KEY[0], {}).get(PRICING_KEY[1]) if isinstance(data, dict) else None
    if not isinstance(prices, Mapping):
        raise CatalogError(f"{path}: no {'.'.join(PRICING_KEY)} section")
    source, source_date = _provenance(src.pricing_json, data)

    advisor: Mapping[str, Any] = {}
    advisor_types: Mapping[str, Any] = {}
    if src.spot_advisor is not None:
        raw = _read_json(src.spot_advisor)
        section = raw.get("spot_advisor") if isinstance(raw, dict) else None
        if not isinstance(section, Mapping):
            raise CatalogError(f"{src.spot_advisor}: no spot_advisor section")
        advisor = section
        types = raw.get("instance_types")
        advisor_types = types if isinstance(types, Mapping) else {}

    by_key, od_report = _on_demand(
        prices, advisor_types, source, source_date, keep_region, keep_type
    )
    offerings = list(by_key.values())
    reports = [od_report]
    if src.spot_advisor is not None:
        spot, spot_report = _spot(
            advisor,
            by_key,
            src.spot_advisor_source or src.spot_advisor.name,
            src.spot_advisor_date,
            keep_region,
            keep_type,
        )
        offerings.extend(spot)
        reports.append(spot_report)
    return offerings, reports
