"""The fitted cost model's parameters: plain frozen dataclasses with a JSON round trip.

Every collection is a tuple sorted by its key, so that two fits of the same data are
equal and serialize to the same JSON whatever order the input rows came in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from scheduler.costs.errors import CostModelError
from scheduler.costs.settings import RefitSettings

#: Bumped when the JSON layout changes incompatibly.
SCHEMA_VERSION = 1

#: Price ratio levels, finest first.
LEVELS: tuple[str, ...] = ("offering", "family", "cloud")


@dataclass(frozen=True)
class PriceRatio:
    """Effective / list price at one level of the hierarchy.

    ``key`` is ``cloud/region/instance_type/market`` (offering), ``cloud/region/family/
    market`` (family) or ``cloud/market`` (cloud). ``hours`` of billed usage carried
    ``effective_micros`` against ``list_micros`` at list price, so ``observed`` is
    their ratio; ``ratio`` is ``observed`` shrunk toward the parent level's ratio.
    """

    level: str
    key: str
    hours: float
    effective_micros: int
    list_micros: int
    observed: float
    ratio: float


@dataclass(frozen=True)
class HazardEstimate:
    """Spot preemptions per node-hour for one ``cloud/region/family``.

    ``posterior = (prior_hours * prior + events) / (prior_hours + exposure_hours)``.
    """

    key: str
    events: int
    exposure_hours: float
    prior: float
    prior_hours: float
    posterior: float


@dataclass(frozen=True)
class RuntimeFactor:
    """Actual / estimated runtime of one job class: its sample quantiles (``upper`` is
    the one at ``knobs.runtime_quantile``) and the planner's factor, ``upper`` shrunk
    toward the prior factor."""

    class_key: str
    n: int
    p50: float
    p90: float
    p95: float
    upper: float
    factor: float


@dataclass(frozen=True)
class LaunchDelay:
    """Seconds from launch request to a running worker in one ``cloud/region``."""

    key: str
    n: int
    median_s: float
    prior_s: float
    posterior_s: float


_T = TypeVar("_T", PriceRatio, HazardEstimate, RuntimeFactor, LaunchDelay)


@dataclass(frozen=True)
class CostModelParams:
    """Everything a refit estimated, and the knobs it used. Empty means "the catalog"."""

    knobs: RefitSettings = field(default_factory=RefitSettings)
    prices: tuple[PriceRatio, ...] = ()
    hazards: tuple[HazardEstimate, ...] = ()
    runtimes: tuple[RuntimeFactor, ...] = ()
    launch_delays: tuple[LaunchDelay, ...] = ()

    def __post_init__(self) -> None:
        # Canonical order, whatever order the estimates were built in.
        level = {name: i for i, name in enumerate(LEVELS)}
        for p in self.prices:
            if p.level not in level:
                raise CostModelError(f"unknown price level {p.level!r}")
        prices = sorted(self.prices, key=lambda p: (level[p.level], p.key))
        object.__setattr__(self, "prices", tuple(prices))
        object.__setattr__(self, "hazards", tuple(sorted(self.hazards, key=lambda h: h.key)))
        object.__setattr__(
            self, "runtimes", tuple(sorted(self.runtimes, key=lambda r: r.class_key))
        )
        object.__setattr__(
            self, "launch_delays", tuple(sorted(self.launch_delays, key=lambda d: d.key))
        )
        _unique("price", [(p.level, p.key) for p in self.prices])
        _unique("hazard", [h.key for h in self.hazards])
        _unique("runtime", [r.class_key for r in self.runtimes])
        _unique("launch delay", [d.key for d in self.launch_delays])

    @property
    def empty(self) -> bool:
        return not (self.prices or self.hazards or self.runtimes or self.launch_delays)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "knobs": self.knobs.to_json(),
            "prices": [_row(p) for p in self.prices],
            "hazards": [_row(h) for h in self.hazards],
            "runtimes": [_row(r) for r in self.runtimes],
            "launch_delays": [_row(d) for d in self.launch_delays],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CostModelParams:
        schema = data.get("schema")
        if schema != SCHEMA_VERSION:
            raise CostModelError(f"cost model schema {schema!r}, expected {SCHEMA_VERSION}")
        try:
            return cls(
                knobs=RefitSettings.from_json(data.get("knobs", {})),
                prices=_rows(PriceRatio, data.get("prices", [])),
                hazards=_rows(HazardEstimate, data.get("hazards", [])),
                runtimes=_rows(RuntimeFactor, data.get("runtimes", [])),
                launch_delays=_rows(LaunchDelay, data.get("launch_delays", [])),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise CostModelError(f"malformed cost model JSON: {e!r}") from e


def _row(item: PriceRatio | HazardEstimate | RuntimeFactor | LaunchDelay) -> dict[str, Any]:
    return {f.name: getattr(item, f.name) for f in fields(item)}


def _rows(kind: type[_T], rows: Iterable[dict[str, Any]]) -> tuple[_T, ...]:
    out = []
    for row in rows:
        values: dict[str, Any] = {}
        for f in fields(kind):
            v = row[f.name]
            # JSON has one number type: give each field its declared one back.
            if f.type == "int":
                v = int(v)
            elif f.type == "float":
                v = float(v)
            elif f.type == "str" and not isinstance(v, str):
                raise TypeError(f"{kind.__name__}.{f.name} must be a string, got {v!r}")
            values[f.name] = v
        out.append(kind(**values))
    return tuple(out)


def _unique(what: str, keys: list[Any]) -> None:
    seen: set[Any] = set()
    for k in keys:
        if k in seen:
            raise CostModelError(f"duplicate {what} entry {k!r}")
        seen.add(k)
