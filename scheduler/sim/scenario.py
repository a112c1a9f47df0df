"""Scenario files: a what-if study as YAML, read into the simulator's inputs.

A scenario names a workload (a real trace and the rules that turn it into jobs), the
clouds (a real catalog, quotas and their changes, price and hazard multipliers), the
policies to compare and a seed; ``variants`` and ``grid`` make it a sweep. Every
point of the sweep is the base scenario with some dotted paths set, e.g.
``clouds.quota_factor: 0.5`` ("quota halves") or ``clouds.hazard_multiplier: 2``
("spot preemptions double"). The format is documented in docs/simulation.md; a bad
file is refused with the path of the field (``workload.deadline.slack: must be > 0``).
"""

from __future__ import annotations

import copy
import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from adapters.base import Market, Offering, QuotaLimit
from adapters.catalog import CatalogError, CatalogSources, load_catalog
from adapters.sim import QuotaChange
from scheduler.errors import InvalidArgument
from scheduler.sim.config import DEFAULT_START, SIM_CONTROL, SimConfig, quotas_for
from scheduler.sim.workload import (
    ALIBABA_GPU_MIX,
    PHILLY_GPU_MIX,
    DeadlineRule,
    EstimateError,
    SimWorkload,
    WorkloadRule,
    alibaba_workload,
    philly_workload,
)
from solver.policies import POLICIES

#: Where the shared data lives when a scenario does not say (``SKYBATCH_SIM_DATA``).
DEFAULT_DATA_DIR = Path(os.environ.get("SKYBATCH_SIM_DATA", "../shared/data"))
TRACES = ("philly", "alibaba")
CATALOGS = ("shared", "aws-bundled")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its name, what it sets, and the resolved scenario dict."""

    name: str
    overrides: Mapping[str, Any]
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class Scenario:
    name: str
    policies: tuple[str, ...]
    points: tuple[Point, ...]
    #: Paths in the file are relative to this directory.
    base_dir: Path


# -- reading ---------------------------------------------------------------------------


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file; every point is checked before anything runs."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgument("scenario", f"{path}: {exc.strerror}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidArgument("scenario", f"{path}: not YAML ({exc})") from None
    return scenario_from_dict(doc, base_dir=path.parent, default_name=path.stem)


def scenario_from_dict(doc: object, *, base_dir: Path, default_name: str = "scenario") -> Scenario:
    if not isinstance(doc, dict):
        raise InvalidArgument("$", "a scenario is a mapping (name, workload, clouds, ...)")
    known = {"name", "seed", "policies", "workload", "clouds", "control", "variants", "grid"}
    _no_unknown(doc, known, "")
    name = str(doc.get("name", default_name))
    policies = doc.get("policies", ["optimizer"])
    if not isinstance(policies, list) or not policies:
        raise InvalidArgument("policies", "a non-empty list of policy names")
    for i, p in enumerate(policies):
        if p not in POLICIES:
            known_p = ", ".join(sorted(POLICIES))
            raise InvalidArgument(f"policies[{i}]", f"unknown policy {p!r} (known: {known_p})")
    base = {k: v for k, v in doc.items() if k not in ("variants", "grid", "policies", "name")}
    points = []
    for vname, overrides in _points(doc):
        spec = copy.deepcopy(base)
        for dotted, value in overrides.items():
            _set(spec, dotted, value, where=f"{vname}: {dotted}")
        points.append(Point(vname, dict(overrides), spec))
        check_point(spec, where=vname)
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise InvalidArgument("variants", f"point names must be unique, got {names}")
    return Scenario(name, tuple(str(p) for p in policies), tuple(points), base_dir)


def _points(doc: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    variants = doc.get("variants") or [{"name": "baseline"}]
    if not isinstance(variants, list):
        raise InvalidArgument("variants", "a list of {name, set: {path: value}}")
    out_variants = []
    for i, v in enumerate(variants):
        if not isinstance(v, dict) or "name" not in v:
            raise InvalidArgument(f"variants[{i}]", "needs a name (and optionally set: {...})")
        _no_unknown(v, {"name", "set"}, f"variants[{i}]")
        sets = v.get("set") or {}
        if not isinstance(sets, dict):
            raise InvalidArgument(f"variants[{i}].set", "a mapping of dotted paths to values")
        out_variants.append((str(v["name"]), dict(sets)))
    grid = doc.get("grid") or {}
    if not isinstance(grid, dict):
        raise InvalidArgument("grid", "a mapping of dotted paths to lists of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InvalidArgument(f"grid.{key}", "a non-empty list of values")
    keys = sorted(grid)
    out = []
    for vname, sets in out_variants:
        for combo in itertools.product(*(grid[k] for k in keys)):
            overrides = dict(sets)
            overrides.update(zip(keys, combo, strict=True))
            suffix = ",".join(
                f"{k.rsplit('.', 1)[-1]}={v}" for k, v in zip(keys, combo, strict=True)
            )
            out.append((f"{vname}[{suffix}]" if suffix else vname, overrides))
    return out


def _set(spec: dict[str, Any], dotted: str, value: Any, *, where: str) -> None:
    parts = dotted.split(".")
    node = spec
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InvalidArgument(where, f"{part} is not a mapping")
        node = child
    node[parts[-1]] = value


def _no_unknown(doc: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in doc:
        if key not in known:
            path = f"{where}.{key}" if where else str(key)
            raise InvalidArgument(path, f"unknown field (known: {', '.join(sorted(known))})")


# -- values ----------------------------------------------------------------------------


def duration_s(value: object, where: str) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"7d"``, ``"1w"`` -> seconds."""
    if isinstance(value, bool):
        raise InvalidArgument(where, "a duration like 30m, 2h or 7d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value[-1:] in _UNITS:
        try:
            seconds = float(value[:-1]) * _UNITS[value[-1]]
        except ValueError:
            raise InvalidArgument(where, f"{value!r} is not a duration like 2h") from None
    else:
        raise InvalidArgument(where, f"{value!r} is not a duration like 30m, 2h or 7d")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise InvalidArgument(where, "must be a finite duration >= 0")
    return seconds


def number(value: object, where: str, *, low: float = 0.0, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(where, f"must be a number, got {value!r}")
    x = float(value)
    if not (math.isfinite(x) and low <= x <= high):
        raise InvalidArgument(where, f"must be in [{low:g}, {high:g}], got {value!r}")
    return x


def _section(spec: Mapping[str, Any], name: str, known: set[str]) -> dict[str, Any]:
    section = spec.get(name) or {}
    if not isinstance(section, dict):
        raise InvalidArgument(name, "must be a mapping")
    _no_unknown(section, known, name)
    return section


_WORKLOAD = {
    "trace", "data_dir", "jobs", "span", "load", "deadline", "estimate_error",
    "spot_share", "tenants", "checkpoint_interval",
}  # fmt: skip
_CLOUDS = {
    "catalog", "data_dir", "clouds", "regions", "instance_types", "quotas",
    "quota_factor", "quota_changes", "price_multipliers", "hazard_multiplier",
    "hazard_multipliers", "synthetic_spot",
}  # fmt: skip
_CONTROL = {"tick", "wait_tick", "solver_time_limit", "refit_interval", "horizon"}


def check_point(spec: Mapping[str, Any], *, where: str) -> None:
    """Check a point's fields without loading data (loading happens when it runs)."""
    try:
        workload_rule(spec)
        _section(spec, "clouds", _CLOUDS)
        _section(spec, "control", _CONTROL)
        if "seed" in spec:
            number(spec["seed"], "seed", high=2**31)
    except InvalidArgument as exc:
        if where == "baseline":
            raise
        raise InvalidArgument(f"{where}: {exc.field}", exc.problem) from None


def workload_rule(spec: Mapping[str, Any]) -> WorkloadRule:
    w = _section(spec, "workload", _WORKLOAD)
    trace = w.get("trace", "philly")
    if trace not in TRACES:
        raise InvalidArgument("workload.trace", f"one of {', '.join(TRACES)}, got {trace!r}")
    span = duration_s(w.get("span", "7d"), "workload.span")
    load = number(w.get("load", 1.0), "workload.load", low=1e-3, high=1e3)
    if span <= 0:
        raise InvalidArgument("workload.span", "must be > 0")
    d = w.get("deadline") or {}
    if not isinstance(d, dict):
        raise InvalidArgument("workload.deadline", "a mapping like {slack: 2.0}")
    _no_unknown(d, {"slack", "min", "basis"}, "workload.deadline")
    basis = d.get("basis", "runtime")
    if basis not in ("runtime", "estimate"):
        raise InvalidArgument("workload.deadline.basis", f"runtime or estimate, got {basis!r}")
    e = w.get("estimate_error") or {}
    if not isinstance(e, dict):
        raise InvalidArgument("workload.estimate_error", "a mapping like {sigma: 0.3}")
    _no_unknown(e, {"sigma", "bias"}, "workload.estimate_error")
    tenants = w.get("tenants") or {"default": 1.0}
    if not isinstance(tenants, dict) or not tenants:
        raise InvalidArgument("workload.tenants", "a mapping of tenant name to weight")
    jobs = w.get("jobs")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InvalidArgument("workload.jobs", f"must be a positive integer, got {jobs!r}")
    return WorkloadRule(
        span_s=span / load,
        deadline=DeadlineRule(
            slack=number(d.get("slack", 2.0), "workload.deadline.slack", low=1.0, high=1e3),
            min_s=duration_s(d.get("min", 0), "workload.deadline.min"),
            basis=basis,
        ),
        error=EstimateError(
            sigma=number(e.get("sigma", 0.0), "workload.estimate_error.sigma", high=5.0),
            bias=number(e.get("bias", 1.0), "workload.estimate_error.bias", low=0.05, high=20),
        ),
        spot_share=number(w.get("spot_share", 1.0), "workload.spot_share", high=1.0),
        gpu_mix=PHILLY_GPU_MIX if trace == "philly" else ALIBABA_GPU_MIX,
        tenants={str(k): number(v, f"workload.tenants.{k}", high=1e6) for k, v in tenants.items()},
        checkpoint_interval_s=duration_s(
            w.get("checkpoint_interval", "30m"), "workload.checkpoint_interval"
        ),
        max_jobs=jobs,
    )


# -- building the simulator's inputs ------------------------------------------------------


def _data_dir(section: Mapping[str, Any], base_dir: Path) -> Path:
    raw = section.get("data_dir")
    path = Path(str(raw)) if raw is not None else DEFAULT_DATA_DIR
    return path if path.is_absolute() else (base_dir / path)


def offerings_for(spec: Mapping[str, Any], base_dir: Path) -> tuple[Offering, ...]:
    c = _section(spec, "clouds", _CLOUDS)
    catalog = c.get("catalog", "shared")
    if catalog not in CATALOGS:
        raise InvalidArgument("clouds.catalog", f"one of {', '.join(CATALOGS)}, got {catalog!r}")
    sources = CatalogSources.bundled() if catalog == "aws-bundled" else _data_dir(c, base_dir)
    types = c.get("instance_types")
    try:
        loaded = load_catalog(
            sources,
            clouds=c.get("clouds"),
            regions=c.get("regions"),
            instance_filter=frozenset(types).__contains__ if types else None,
        )
    except CatalogError as exc:
        raise InvalidArgument("clouds", str(exc)) from None
    offerings = list(loaded.offerings)
    synthetic = c.get("synthetic_spot")
    if synthetic is not None:
        offerings += _synthetic_spot(offerings, synthetic)
    if not offerings:
        raise InvalidArgument("clouds", "no offerings match (check regions and instance_types)")
    return tuple(_one_zone_per_region(offerings))


def _synthetic_spot(offerings: list[Offering], spec: object) -> list[Offering]:
    """Spot twins of on-demand offerings that have none (a catalog without spot prices,
    e.g. AWS from libcloud alone): ``{discount: 0.65, hazard_per_hour: 0.05}``."""
    if not isinstance(spec, dict):
        raise InvalidArgument("clouds.synthetic_spot", "a mapping {discount, hazard_per_hour}")
    _no_unknown(spec, {"discount", "hazard_per_hour"}, "clouds.synthetic_spot")
    discount = number(spec.get("discount", 0.65), "clouds.synthetic_spot.discount", high=0.99)
    hazard = number(spec.get("hazard_per_hour", 0.05), "clouds.synthetic_spot.hazard_per_hour")
    have = {
        (o.cloud, o.region, o.zone, o.instance_type) for o in offerings if o.market is Market.SPOT
    }
    factor = Decimal(repr(1.0 - discount))
    return [
        replace(
            o,
            market=Market.SPOT,
            price_per_hour=(o.price_per_hour * factor).quantize(Decimal("0.000001")),
            preemption_hazard_per_hour=hazard,
            source=f"{o.source} (spot synthesized: -{discount:.0%})",
        )
        for o in offerings
        if o.market is Market.ON_DEMAND and (o.cloud, o.region, o.zone, o.instance_type) not in have
    ]


def _one_zone_per_region(offerings: Sequence[Offering]) -> list[Offering]:
    """Per cloud and region, the zone with the most offerings (ties: by name): quotas
    are regional and more zones would only multiply the columns."""
    counts: dict[tuple[str, str, str], int] = {}
    for o in offerings:
        key = (o.cloud, o.region, o.zone)
        counts[key] = counts.get(key, 0) + 1
    best: dict[tuple[str, str], str] = {}
    for (cloud, region, zone), n in sorted(counts.items()):
        current = best.get((cloud, region))
        if current is None or n > counts[(cloud, region, current)]:
            best[(cloud, region)] = zone
    return [o for o in offerings if best[(o.cloud, o.region)] == o.zone]


def quota_changes(items: object, quotas: Sequence[QuotaLimit]) -> tuple[QuotaChange, ...]:
    """``[{at: 2d, pool: "*/gpu:*", factor: 0.5}]`` (or ``capacity: N``): from ``at``
    after the start, every pool matching the glob holds that much."""
    if not isinstance(items, list):
        raise InvalidArgument("clouds.quota_changes", "a list of {at, pool, factor|capacity}")
    out = []
    for i, ch in enumerate(items):
        where = f"clouds.quota_changes[{i}]"
        if not isinstance(ch, dict):
            raise InvalidArgument(where, "a mapping {at, pool, factor or capacity}")
        _no_unknown(ch, {"at", "pool", "capacity", "factor"}, where)
        if ("capacity" in ch) == ("factor" in ch):
            raise InvalidArgument(where, "give exactly one of capacity and factor")
        at = DEFAULT_START + timedelta(seconds=duration_s(ch.get("at", 0), f"{where}.at"))
        glob = str(ch.get("pool", "*"))
        matched = [q for q in quotas if fnmatchcase(q.pool, glob)]
        if not matched:
            raise InvalidArgument(f"{where}.pool", f"{glob!r} matches no quota pool")
        for q in matched:
            if "factor" in ch:
                cap = q.capacity * number(ch["factor"], f"{where}.factor", high=1e3)
            else:
                cap = number(ch["capacity"], f"{where}.capacity")
            out.append(QuotaChange(at=at, pool=q.pool, capacity=math.floor(cap)))
    return tuple(out)


def sim_inputs(
    point: Point, policy: str, base_dir: Path, *, seed: int
) -> tuple[SimConfig, SimWorkload]:
    """The simulator's config and workload for one point and policy."""
    spec = point.spec
    offerings = offerings_for(spec, base_dir)
    c = _section(spec, "clouds", _CLOUDS)
    q = c.get("quotas") or {}
    if not isinstance(q, dict):
        raise InvalidArgument("clouds.quotas", "a mapping {vcpus, gpus, spot_factor}")
    _no_unknown(q, {"vcpus", "gpus", "spot_factor"}, "clouds.quotas")
    factor = number(c.get("quota_factor", 1.0), "clouds.quota_factor", high=1e3)
    gpus_raw = q.get("gpus", 64)
    gpus: float | dict[str, float]
    if isinstance(gpus_raw, dict):
        gpus = {str(k): number(v, f"clouds.quotas.gpus.{k}") * factor for k, v in gpus_raw.items()}
    else:
        gpus = number(gpus_raw, "clouds.quotas.gpus") * factor
    quotas = quotas_for(
        offerings,
        vcpus=number(q.get("vcpus", 1024), "clouds.quotas.vcpus") * factor,
        gpus=gpus,
        spot_factor=number(q.get("spot_factor", 1.0), "clouds.quotas.spot_factor", high=100),
    )
    ctl = _section(spec, "control", _CONTROL)
    changes = quota_changes(c.get("quota_changes") or [], quotas)
    hazards: dict[str, float] = {}
    if "hazard_multiplier" in c:
        hazards["*"] = number(c["hazard_multiplier"], "clouds.hazard_multiplier", high=1e3)
    for sel, f in (c.get("hazard_multipliers") or {}).items():
        hazards[str(sel)] = number(f, f"clouds.hazard_multipliers.{sel}", high=1e3)
    prices = {
        str(sel): number(f, f"clouds.price_multipliers.{sel}", high=1e3)
        for sel, f in (c.get("price_multipliers") or {}).items()
    }
    seed_value = int(number(spec.get("seed", seed), "seed", high=2**31))
    horizon = ctl.get("horizon")
    try:
        config = SimConfig(
            offerings=offerings,
            quotas=quotas,
            quota_changes=tuple(changes),
            hazard_multipliers=hazards,
            price_multipliers=prices,
            policy=policy,
            tick_s=duration_s(ctl.get("tick", 60), "control.tick"),
            wait_tick_s=duration_s(ctl.get("wait_tick", 600), "control.wait_tick"),
            solver_time_limit_s=number(
                ctl.get("solver_time_limit", 0.2), "control.solver_time_limit", low=0.01, high=60
            ),
            control=SIM_CONTROL,
            refit_interval_s=duration_s(ctl.get("refit_interval", 0), "control.refit_interval"),
            seed=seed_value,
            horizon_s=None if horizon is None else duration_s(horizon, "control.horizon"),
        )
    except (ValueError, KeyError) as exc:
        raise InvalidArgument(point.name, str(exc)) from None
    rule = workload_rule(spec)
    w = _section(spec, "workload", _WORKLOAD)
    data = _data_dir(w, base_dir)
    read = philly_workload if w.get("trace", "philly") == "philly" else alibaba_workload
    try:
        workload = read(data, rule, seed=seed_value, offerings=offerings)
    except OSError as exc:
        raise InvalidArgument("workload.data_dir", f"{data}: {exc}") from None
    return config, workload
