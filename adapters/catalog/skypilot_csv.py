"""Offerings from a price list in SkyPilot's catalog format (``<cloud>/vms.csv``).

Columns are found by header name (their order differs between clouds): ``InstanceType``,
``vCPUs``, ``MemoryGiB``, ``AcceleratorName``, ``AcceleratorCount``, ``Price`` and
``SpotPrice`` ($/hour), ``Region`` and, for GCP only, ``AvailabilityZone``. Without a
zone column the zone is the region (Azure, Lambda).

Each row makes an on-demand offering at ``Price`` and, when ``SpotPrice`` is there and
believable, a spot offering at ``SpotPrice``. GCP GPU machine types are priced whole by
adding their accelerator rows (see :mod:`adapters.catalog.gcp_gpus`); accelerator rows
themselves are not offerings. Rows are read with the ``csv`` module, not pandas, because
real files have rows with one field too many (Azure's unquoted ``Generation`` value
``V1,V2``, the last column): the extra fields are joined back into the last column.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from adapters.base import Market, Offering
from adapters.catalog import fields
from adapters.catalog.defaults import (
    DEFAULT_SPOT_HAZARD_PER_HOUR,
    SEPARATE_SPOT_QUOTA,
    launch_delay_s,
)
from adapters.catalog.fields import Rejected
from adapters.catalog.gcp_gpus import HOST_ACCELERATORS, is_gpu_host
from adapters.catalog.report import LoadReport, Repair, Skip, Tally
from adapters.catalog.sources import CatalogError, CsvSource

_COLUMNS = (
    "InstanceType",
    "vCPUs",
    "MemoryGiB",
    "AcceleratorName",
    "AcceleratorCount",
    "Price",
    "SpotPrice",
    "Region",
)
_ZONE_COLUMN = "AvailabilityZone"

#: Clouds whose GPU machine types are priced as host row + accelerator row.
_HOST_ACCELERATORS: Mapping[str, Mapping[str, tuple[str, int]]] = {"gcp": HOST_ACCELERATORS}


@dataclass(frozen=True, slots=True)
class Row:
    """The fields of one data row that matter, as text. ``zone`` is the region if the
    file has no zone column."""

    instance_type: str
    region: str
    zone: str
    vcpus: str
    memory_gib: str
    accelerator_name: str
    accelerator_count: str
    price: str
    spot_price: str


def read_rows(path: Path, tally: Tally) -> list[Row]:
    """Every data row of ``path``; rows too short to read are counted and dropped."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = [name.strip() for name in next(reader, [])]
            index = {name: i for i, name in enumerate(header)}
            missing = [c for c in _COLUMNS if c not in index]
            if missing:
                raise CatalogError(f"{path}: no column(s) {', '.join(missing)}")
            it, vc, mem, an, ac, pr, sp, reg = (index[c] for c in _COLUMNS)
            zone_i = index.get(_ZONE_COLUMN, reg)
            width = len(header)
            rows: list[Row] = []
            for values in reader:
                if not values:
                    continue
                tally.rows_read += 1
                if len(values) < width:
                    tally.skip(Skip.MALFORMED_ROW)
                    continue
                if len(values) > width:
                    values = [*values[: width - 1], ",".join(values[width - 1 :])]
                    tally.repaired[Repair.EXTRA_FIELDS_MERGED] += 1
                rows.append(
                    Row(
                        instance_type=values[it].strip(),
                        region=values[reg].strip(),
                        zone=values[zone_i].strip(),
                        vcpus=values[vc],
                        memory_gib=values[mem],
                        accelerator_name=values[an].strip(),
                        accelerator_count=values[ac],
                        price=values[pr],
                        spot_price=values[sp],
                    )
                )
    except OSError as e:
        raise CatalogError(f"cannot read {path}: {e}") from e
    except (csv.Error, UnicodeDecodeError) as e:
        raise CatalogError(f"{path} is not a readable CSV file: {e}") from e
    return rows


_AcceleratorKey = tuple[str, str, str, int]  # region, zone, name, count


def _accelerator_rows(rows: list[Row]) -> dict[_AcceleratorKey, Row]:
    """Accelerator-only rows by (region, zone, name, count); the first of duplicates wins."""
    out: dict[_AcceleratorKey, Row] = {}
    for row in rows:
        if row.instance_type or not row.accelerator_name:
            continue
        try:
            count = fields.gpu_count(row.accelerator_count)
        except Rejected:
            continue
        out.setdefault((row.region, row.zone, row.accelerator_name, count), row)
    return out


@dataclass(frozen=True, slots=True)
class _Priced:
    gpu_count: int
    gpu_type: str
    on_demand: Decimal
    #: The spot price, or a reason it was dropped, or None when the list has none.
    spot: Decimal | Skip | None


def _spot_or_reason(spot: Callable[[], Decimal | None]) -> Decimal | Skip | None:
    try:
        return spot()
    except Rejected as r:
        return r.reason


def _price_plain(row: Row) -> _Priced:
    """A row that prices the whole machine (GPUs, if any, named on the row)."""
    count = fields.gpu_count(row.accelerator_count)
    if count and not row.accelerator_name:
        raise Rejected(Skip.UNNAMED_ACCELERATOR)
    if row.accelerator_name and not count:
        raise Rejected(Skip.GPU_COUNT_INVALID)
    on_demand = fields.on_demand_price(row.price)

    def spot() -> Decimal | None:
        value = fields.spot_price(row.spot_price)
        return None if value is None else fields.check_spot(value, on_demand)

    return _Priced(count, row.accelerator_name, on_demand, _spot_or_reason(spot))


def _price_gpu_host(
    row: Row, table: Mapping[str, tuple[str, int]], accelerators: Mapping[_AcceleratorKey, Row]
) -> _Priced:
    """A host row plus the accelerator row of its GPUs in the same zone."""
    if row.instance_type not in table:
        raise Rejected(Skip.GPU_HOST_UNMAPPED)
    name, count = table[row.instance_type]
    acc = accelerators.get((row.region, row.zone, name, count))
    if acc is None:
        raise Rejected(Skip.GPU_HOST_NO_ACCELERATOR_PRICE)
    acc_on_demand = fields.on_demand_price(acc.price)
    # The host part may be 0: A4's row is 0 and its B200 row carries the whole price.
    on_demand = fields.on_demand_price(row.price, allow_zero=True) + acc_on_demand

    def spot() -> Decimal | None:
        host_spot = fields.spot_price(row.spot_price, allow_zero=True)
        acc_spot = fields.spot_price(acc.spot_price)
        if host_spot is None or acc_spot is None:
            return None
        # A GPU spot price above its on-demand one is wrong even when the sum looks fine.
        fields.check_spot(acc_spot, acc_on_demand)
        return fields.check_spot(host_spot + acc_spot, on_demand)

    return _Priced(count, name, on_demand, _spot_or_reason(spot))


def load_skypilot_csv(
    src: CsvSource,
    *,
    keep_region: Callable[[str], bool] = lambda _: True,
    keep_type: Callable[[str], bool] = lambda _: True,
) -> tuple[list[Offering], LoadReport]:
    """The offerings of one SkyPilot-format price list and what was skipped.

    ``keep_region`` and ``keep_type`` select rows before they are priced; rows they
    reject count as ``filtered``. Raises :class:`CatalogError` only for an unreadable
    file or missing columns.
    """
    tally = Tally(src.cloud)
    rows = read_rows(src.path, tally)
    host_table = _HOST_ACCELERATORS.get(src.cloud)
    accelerators = _accelerator_rows(rows) if host_table is not None else {}
    delay = launch_delay_s(src.cloud)
    seen: dict[tuple[str, str, str], Row] = {}
    out: list[Offering] = []
    for row in rows:
        if row.region and not keep_region(row.region):
            tally.filtered += 1
            continue
        if not row.instance_type and row.accelerator_name:
            tally.skip(Skip.ACCELERATOR_ONLY)
            continue
        if not (row.instance_type and row.region and row.zone):
            tally.skip(Skip.TYPE_OR_REGION_MISSING)
            continue
        if not keep_type(row.instance_type):
            tally.filtered += 1
            continue
        key = (row.instance_type, row.region, row.zone)
        first = seen.get(key)
        if first is not None:
            tally.skip(Skip.DUPLICATE if first == row else Skip.CONFLICTING_DUPLICATE)
            continue
        seen[key] = row
        try:
            vcpus = fields.size(row.vcpus)
            memory_gib = fields.size(row.memory_gib)
            if host_table is not None and is_gpu_host(row.instance_type):
                priced = _price_gpu_host(row, host_table, accelerators)
            else:
                priced = _price_plain(row)
        except Rejected as r:
            tally.skip(r.reason)
            continue
        on_demand = Offering(
            cloud=src.cloud,
            region=row.region,
            zone=row.zone,
            instance_type=row.instance_type,
            market=Market.ON_DEMAND,
            vcpus=vcpus,
            memory_gib=memory_gib,
            gpu_count=priced.gpu_count,
            gpu_type=priced.gpu_type,
            price_per_hour=priced.on_demand,
            preemption_hazard_per_hour=0.0,
            launch_delay_s=delay,
            separate_spot_quota=src.cloud in SEPARATE_SPOT_QUOTA,
            source=src.source,
            source_date=src.source_date,
        )
        out.append(on_demand)
        if isinstance(priced.spot, Skip):
            tally.skip(priced.spot)
        elif priced.spot is not None:
            out.append(
                replace(
                    on_demand,
                    market=Market.SPOT,
                    price_per_hour=priced.spot,
                    preemption_hazard_per_hour=DEFAULT_SPOT_HAZARD_PER_HOUR,
                )
            )
    tally.produced = len(out)
    return out, tally.report()
