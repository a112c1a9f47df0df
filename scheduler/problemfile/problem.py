"""Problem JSON (docs/problem-format.md) -> :class:`solver.model.Problem`.

Refuses anything it does not understand: the first bad field found is raised as
:class:`InvalidArgument` named by its JSON path (``jobs[3].deadline``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Final, TypeVar

from scheduler.errors import InvalidArgument
from scheduler.problemfile._fields import (
    Fields,
    array,
    boolean,
    check_version,
    integer,
    key_path,
    location,
    money,
    number,
    read_json_file,
    seconds,
    string,
    time,
)
from solver.model import Budget, EgressPrice, Job, Market, Offering, Problem, QuotaPool

FORMAT_VERSION: Final = 1

_TOP = (
    "format_version",
    "now",
    "slot_seconds",
    "horizon_slots",
    "unplaced_penalty",
    "egress_same_cloud_per_gb",
    "egress_cross_cloud_per_gb",
    "jobs",
    "offerings",
    "quota_pools",
    "budgets",
    "egress",
)
_JOB = (
    "id",
    "tenant",
    "vcpus",
    "memory_gib",
    "gpu_count",
    "gpu_type",
    "runtime_seconds",
    "runtime_p_seconds",
    "deadline",
    "earliest_start",
    "spot_allowed",
    "restart_overhead_seconds",
    "checkpoint_interval_seconds",
    "allowed_clouds",
    "allowed_regions",
    "data_location",
    "data_gb",
)
_OFFERING = (
    "id",
    "cloud",
    "region",
    "zone",
    "instance_type",
    "market",
    "vcpus",
    "memory_gib",
    "gpu_count",
    "gpu_type",
    "price_per_hour",
    "price_by_slot",
    "hazard_per_hour",
    "launch_delay_seconds",
    "quota_draw",
)
_POOL = ("id", "free", "free_by_slot")
_BUDGET = ("tenant", "limit", "window_start", "window_end")
_EGRESS = ("src", "dst", "per_gb")
_DRAW = ("pool", "amount")

_T = TypeVar("_T")
_N = TypeVar("_N", int, float)


def load_problem(path: Path) -> Problem:
    """Read and convert a problem file (see :func:`problem_from_json`)."""
    return problem_from_json(read_json_file(path))


def problem_from_json(doc: object) -> Problem:
    """A parsed problem document to a solver ``Problem``, or :class:`InvalidArgument`.

    Pass what :func:`scheduler.problemfile.parse_json` returns to keep money exact
    and catch duplicate keys; plain ``json.loads`` output is accepted too.
    """
    check_version(doc, FORMAT_VERSION)
    top = Fields("", doc, _TOP)
    model = Problem(now=0, jobs=(), offerings=())  # the solver's defaults
    base = Problem(
        now=time("now", top.required("now")),
        jobs=(),
        offerings=(),
        slot_s=_opt(top, "slot_seconds", _positive_seconds, model.slot_s),
        horizon_slots=_opt(top, "horizon_slots", _count, model.horizon_slots),
        unplaced_penalty_micros=_opt(top, "unplaced_penalty", money, model.unplaced_penalty_micros),
        egress_same_cloud_micros_per_gb=_opt(
            top, "egress_same_cloud_per_gb", money, model.egress_same_cloud_micros_per_gb
        ),
        egress_cross_cloud_micros_per_gb=_opt(
            top, "egress_cross_cloud_per_gb", money, model.egress_cross_cloud_micros_per_gb
        ),
    )
    pools = _unique("quota_pools", _list(top, "quota_pools"), _pool)
    pool_ids = {p.id for p in pools}
    offerings = _unique(
        "offerings", top.required("offerings"), lambda path, v: _offering(path, v, pool_ids)
    )
    jobs = _unique("jobs", top.required("jobs"), _job)
    budgets = tuple(
        _budget(path, item, base) for path, item in array("budgets", _list(top, "budgets"))
    )
    egress = _egress(_list(top, "egress"))
    return replace(
        base,
        jobs=jobs,
        offerings=offerings,
        quota_pools=pools,
        budgets=budgets,
        egress=egress,
    )


_I = TypeVar("_I", Job, Offering, QuotaPool)


def _unique(name: str, value: object, read: Callable[[str, object], _I]) -> tuple[_I, ...]:
    out: list[_I] = []
    seen: set[str] = set()
    for path, item in array(name, value):
        obj = read(path, item)
        if obj.id in seen:
            raise InvalidArgument(f"{path}.id", f"duplicate id {obj.id!r}")
        seen.add(obj.id)
        out.append(obj)
    return tuple(out)


def _list(f: Fields, key: str) -> object:
    return f.optional(key) if f.has(key) else []


def _opt(f: Fields, key: str, read: Callable[[str, object], _T], default: _T) -> _T:
    return read(f.at(key), f.optional(key)) if f.has(key) else default


def _positive_seconds(path: str, value: object) -> int:
    return seconds(path, value, above=0)


def _count(path: str, value: object) -> int:
    return integer(path, value, minimum=1)


def _non_negative(path: str, value: object) -> float:
    return number(path, value, minimum=0)


def _prices(path: str, value: object) -> tuple[int, ...]:
    return tuple(money(item_path, item) for item_path, item in array(path, value))


def _amounts(path: str, value: object) -> tuple[float, ...]:
    return tuple(_non_negative(item_path, item) for item_path, item in array(path, value))


def _by_slot(
    f: Fields,
    key: str,
    read: Callable[[str, object], tuple[_N, ...]],
    now_key: str,
    now_value: _N,
) -> tuple[_N, ...]:
    """A per-slot series; slot 0 is now, so it must agree with the ``now_key`` value."""
    empty: tuple[_N, ...] = ()
    series = _opt(f, key, read, empty)
    if series and series[0] != now_value:
        raise InvalidArgument(f"{f.at(key)}[0]", f"must equal {now_key} (slot 0 is now)")
    return series


def _strings(path: str, value: object) -> frozenset[str]:
    return frozenset(string(p, item) for p, item in array(path, value))


def _gpus(f: Fields) -> tuple[int, str]:
    count = _opt(f, "gpu_count", lambda p, v: integer(p, v, minimum=0), 0)
    gpu_type = _opt(f, "gpu_type", lambda p, v: string(p, v, allow_empty=True), "")
    if count and not gpu_type.strip():
        raise InvalidArgument(f.at("gpu_type"), "required when gpu_count > 0")
    return count, gpu_type


def _job(path: str, value: object) -> Job:
    f = Fields(path, value, _JOB)
    job_id = string(f.at("id"), f.required("id"))
    runtime = seconds(f.at("runtime_seconds"), f.required("runtime_seconds"), above=0)
    runtime_p = _opt(f, "runtime_p_seconds", seconds, runtime)
    if runtime_p < runtime:
        raise InvalidArgument(
            f.at("runtime_p_seconds"), f"must be >= runtime_seconds ({runtime}), got {runtime_p}"
        )
    gpu_count, gpu_type = _gpus(f)
    data_location = _opt(f, "data_location", location, "")
    data_gb = _opt(f, "data_gb", _non_negative, 0.0)
    if data_gb and not data_location:
        raise InvalidArgument(f.at("data_location"), "required when data_gb > 0")
    return Job(
        id=job_id,
        tenant=_opt(f, "tenant", string, "default"),
        vcpus=number(f.at("vcpus"), f.required("vcpus"), above=0),
        memory_gib=number(f.at("memory_gib"), f.required("memory_gib"), minimum=0),
        gpu_count=gpu_count,
        gpu_type=gpu_type,
        runtime_s=runtime,
        runtime_p_s=runtime_p,
        deadline=time(f.at("deadline"), f.required("deadline")),
        earliest_start=_opt(f, "earliest_start", time, 0),
        spot_allowed=_opt(f, "spot_allowed", boolean, True),
        restart_overhead_s=_opt(f, "restart_overhead_seconds", seconds, 0),
        checkpoint_interval_s=_opt(f, "checkpoint_interval_seconds", seconds, 0),
        allowed_clouds=_opt(f, "allowed_clouds", _strings, frozenset()),
        allowed_regions=_opt(f, "allowed_regions", _strings, frozenset()),
        data_location=data_location,
        data_gb=data_gb,
    )


def _market(path: str, value: object) -> Market:
    known = ", ".join(repr(m.value) for m in Market)
    if not isinstance(value, str) or value not in {m.value for m in Market}:
        raise InvalidArgument(path, f"must be one of {known}")
    return Market(value)


def _offering(path: str, value: object, pool_ids: set[str]) -> Offering:
    f = Fields(path, value, _OFFERING)
    offering_id = string(f.at("id"), f.required("id"))
    gpu_count, gpu_type = _gpus(f)
    price = money(f.at("price_per_hour"), f.required("price_per_hour"))
    return Offering(
        id=offering_id,
        cloud=string(f.at("cloud"), f.required("cloud")),
        region=string(f.at("region"), f.required("region")),
        zone=_opt(f, "zone", lambda p, v: string(p, v, allow_empty=True), ""),
        instance_type=string(f.at("instance_type"), f.required("instance_type")),
        market=_market(f.at("market"), f.required("market")),
        vcpus=number(f.at("vcpus"), f.required("vcpus"), above=0),
        memory_gib=number(f.at("memory_gib"), f.required("memory_gib"), minimum=0),
        gpu_count=gpu_count,
        gpu_type=gpu_type,
        price_micros_per_hour=price,
        price_micros_by_slot=_by_slot(f, "price_by_slot", _prices, "price_per_hour", price),
        hazard_per_hour=_opt(f, "hazard_per_hour", _non_negative, 0.0),
        launch_delay_s=_opt(f, "launch_delay_seconds", seconds, 0),
        quota_draw=_opt(f, "quota_draw", lambda p, v: _draw(p, v, pool_ids), ()),
    )


def _draw(path: str, value: object, pool_ids: set[str]) -> tuple[tuple[str, float], ...]:
    """``{"pool": amount}``, ``[["pool", amount]]`` or ``[{"pool": .., "amount": ..}]``."""
    # (path of the pool id, pool id, path of the amount, amount)
    items: list[tuple[str, object, str, object]] = []
    if isinstance(value, dict):
        Fields(path, value, known=value.keys())  # refuses duplicate keys
        items = [(key_path(path, k), k, key_path(path, k), v) for k, v in value.items()]
    else:
        for ip, item in array(path, value):
            if isinstance(item, list) and len(item) == 2:
                items.append((f"{ip}[0]", item[0], f"{ip}[1]", item[1]))
            elif isinstance(item, dict):
                d = Fields(ip, item, _DRAW)
                items.append(
                    (d.at("pool"), d.required("pool"), d.at("amount"), d.required("amount"))
                )
            else:
                raise InvalidArgument(ip, 'must be ["pool", amount] or {"pool": .., "amount": ..}')
    out: list[tuple[str, float]] = []
    for pool_path, pool, amount_path, amount in items:
        pool_id = string(pool_path, pool)
        if pool_id not in pool_ids:
            raise InvalidArgument(
                pool_path,
                f"refers to unknown quota pool {pool_id!r} "
                "(list it under quota_pools; an offering without a draw is unlimited)",
            )
        if any(pool_id == seen for seen, _ in out):
            raise InvalidArgument(pool_path, f"duplicate pool {pool_id!r}")
        out.append((pool_id, number(amount_path, amount, minimum=0)))
    return tuple(out)


def _pool(path: str, value: object) -> QuotaPool:
    f = Fields(path, value, _POOL)
    pool_id = string(f.at("id"), f.required("id"))
    free = _non_negative(f.at("free"), f.required("free"))
    return QuotaPool(
        id=pool_id,
        free=free,
        free_by_slot=_by_slot(f, "free_by_slot", _amounts, "free", free),
    )


def _budget(path: str, value: object, base: Problem) -> Budget:
    f = Fields(path, value, _BUDGET)
    start = _opt(f, "window_start", time, base.now)
    end = _opt(f, "window_end", time, base.horizon_end)
    if end <= start:
        raise InvalidArgument(f.at("window_end"), "must be after window_start")
    return Budget(
        tenant=string(f.at("tenant"), f.required("tenant")),
        limit_micros=money(f.at("limit"), f.required("limit")),
        window_start=start,
        window_end=end,
    )


def _egress(value: object) -> tuple[EgressPrice, ...]:
    out: list[EgressPrice] = []
    for path, item in array("egress", value):
        f = Fields(path, item, _EGRESS)
        price = EgressPrice(
            src=location(f.at("src"), f.required("src")),
            dst=location(f.at("dst"), f.required("dst")),
            micros_per_gb=money(f.at("per_gb"), f.required("per_gb")),
        )
        if any((e.src, e.dst) == (price.src, price.dst) for e in out):
            raise InvalidArgument(path, f"duplicate pair {price.src} -> {price.dst}")
        out.append(price)
    return tuple(out)
