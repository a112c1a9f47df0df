"""A simulation's world and knobs: what is sold, at what price, under which quotas, how
spot behaves, which policy plans, and how the virtual loop ticks.

Settings that apply to some offerings are keyed by *selector* (see
:mod:`adapters.sim.selectors`: ``"aws/us-east-1"``, ``"*/*/*/*/spot"``, an offering id,
``"*"``); the most specific match wins.

Truth vs. belief: offerings carry what the cloud advertises (price, hazard, launch
delay), which is what the planner sees. ``price_multipliers`` change the price itself
(listed and charged alike: a price change). ``spot`` and ``hazard_multipliers`` change
only the truth the simulated cloud acts on; the planner learns it only through the
cost model, if ``refit_interval_s`` lets it refit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from adapters.base import Market, Offering, QuotaLimit
from adapters.sim import PlannedPreemption, QuotaChange, SimCloud, SpotSupply
from adapters.sim.selectors import resolve, validate
from scheduler.control.settings import ControlSettings

#: A Monday; any aware datetime will do.
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)

#: Control-loop settings for simulations of real clouds (hours-long GPU jobs, nodes
#: that take a minute or more to boot): a 10-minute planning grid 6 h ahead, and
#: timeouts above the simulated workers' heartbeat interval and the launch delays.
SIM_CONTROL = ControlSettings(
    tick_interval_s=60.0,
    runtime_pessimism=1.2,
    restart_overhead_s=120,
    launch_timeout_s=900.0,
    heartbeat_timeout_s=3600.0,
    capacity_cooldown_s=300.0,
    solver_time_limit_s=0.2,
    plan_slot_s=600,
    plan_horizon_slots=36,
)

PRICE_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class SimConfig:
    """Everything about a simulation but its jobs (:class:`~scheduler.sim.SimWorkload`)."""

    #: What the clouds sell (as advertised); one simulated cloud per ``Offering.cloud``.
    offerings: tuple[Offering, ...]
    #: Quota pools (named as the offerings' ``quota_draw``); a pool not listed is
    #: unlimited.
    quotas: tuple[QuotaLimit, ...] = ()
    #: Quota changes over time (``at`` is an absolute time; ``start`` + offset).
    quota_changes: tuple[QuotaChange, ...] = ()
    #: Selector -> the truth about spot capacity (availability series, true hazard).
    #: A spot offering no selector matches keeps its advertised hazard.
    spot: Mapping[str, SpotSupply] = field(default_factory=dict)
    #: Selector -> factor on the true hazard ("spot preemptions double": 2.0).
    hazard_multipliers: Mapping[str, float] = field(default_factory=dict)
    #: Selector -> factor on the price (listed and charged).
    price_multipliers: Mapping[str, float] = field(default_factory=dict)
    #: Selector -> true launch delay in seconds (default: the offering's advertised one).
    launch_delays: Mapping[str, float] = field(default_factory=dict)
    #: Selector -> most nodes of each matching offering at once (capacity errors above).
    capacity: Mapping[str, int] = field(default_factory=dict)
    #: Per cloud: preempt its N-th spot launch ``after_s`` after it runs.
    preemption_schedule: tuple[PlannedPreemption, ...] = ()
    #: Seconds between a preemption notice and the node being gone.
    notice_s: float = 0.0
    #: The planning policy, by name (:func:`solver.policies.get`).
    policy: str = "optimizer"
    #: The loop's tick grid: something that happens at t is acted on at the next
    #: multiple of ``tick_s`` (the live loop ticks every ``tick_interval_s``).
    tick_s: float = 60.0
    #: While jobs wait with nothing scheduled to change, tick at least this often.
    wait_tick_s: float = 1800.0
    solver_time_limit_s: float = 0.2
    #: The loop's other settings (``tick_interval_s`` and ``solver_time_limit_s`` are
    #: replaced by the two fields above).
    control: ControlSettings = SIM_CONTROL
    #: How often a simulated worker heartbeats (must be below the heartbeat timeout).
    heartbeat_interval_s: float = 1800.0
    #: A preempted worker saves a checkpoint when given notice (as the worker agent
    #: does on SIGTERM); else work since its last periodic checkpoint is lost.
    checkpoint_on_notice: bool = True
    #: True seconds a resumed attempt spends restoring before it makes progress
    #: (None: the loop's assumption, ``control.restart_overhead_s``).
    resume_overhead_s: float | None = None
    #: Refit the cost model every this many virtual seconds when attempts ended
    #: meanwhile (0: never; the planner then prices with the catalog).
    refit_interval_s: float = 0.0
    seed: int = 0
    start: datetime = DEFAULT_START
    #: Stop this many seconds after the start (None: when every job is over, or a day
    #: after the last deadline at the latest).
    horizon_s: float | None = None
    #: Give the policy job ids that follow submission order instead of the store's
    #: random ones, so that ties break the same way in every run.
    stable_ids: bool = True

    def __post_init__(self) -> None:
        if not self.offerings:
            raise ValueError("a simulation needs offerings")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if not (self.tick_s > 0 and math.isfinite(self.tick_s)):
            raise ValueError(f"tick_s must be > 0, got {self.tick_s}")
        if self.wait_tick_s < self.tick_s:
            raise ValueError("wait_tick_s must be >= tick_s")
        if not self.solver_time_limit_s > 0:
            raise ValueError("solver_time_limit_s must be > 0")
        if not 0 < self.heartbeat_interval_s < self.control.heartbeat_timeout_s:
            raise ValueError(
                f"heartbeat_interval_s ({self.heartbeat_interval_s:g}) must be > 0 and below"
                f" control.heartbeat_timeout_s ({self.control.heartbeat_timeout_s:g}),"
                " or the loop takes every worker for dead"
            )
        if self.refit_interval_s < 0 or self.notice_s < 0:
            raise ValueError("refit_interval_s and notice_s must be >= 0")
        for name in ("spot", "hazard_multipliers", "price_multipliers", "launch_delays"):
            validate(getattr(self, name), name)
        validate(self.capacity, "capacity")
        for name in ("hazard_multipliers", "price_multipliers"):
            for selector, factor in getattr(self, name).items():
                if not (factor >= 0 and math.isfinite(factor)):
                    raise ValueError(f"{name}[{selector!r}] must be >= 0, got {factor}")

    @property
    def control_settings(self) -> ControlSettings:
        """The settings the simulated loop runs with."""
        return replace(
            self.control,
            tick_interval_s=self.tick_s,
            solver_time_limit_s=self.solver_time_limit_s,
        )

    @property
    def resume_overhead(self) -> float:
        if self.resume_overhead_s is not None:
            return self.resume_overhead_s
        return float(self.control.restart_overhead_s)

    def priced_offerings(self) -> tuple[Offering, ...]:
        """The offerings at their prices after ``price_multipliers``."""
        out = []
        for o in self.offerings:
            factor = resolve(self.price_multipliers, o)
            if factor is not None and factor != 1.0:
                price = (o.price_per_hour * Decimal(repr(factor))).quantize(
                    PRICE_QUANTUM, rounding=ROUND_HALF_UP
                )
                o = replace(o, price_per_hour=price)
            out.append(o)
        return tuple(out)

    def spot_truth(self, offerings: Sequence[Offering]) -> dict[str, SpotSupply]:
        """Per spot offering id: its supply after ``hazard_multipliers``."""
        out: dict[str, SpotSupply] = {}
        for o in offerings:
            if o.market is not Market.SPOT:
                continue
            supply = resolve(self.spot, o) or SpotSupply(
                hazard_per_hour=o.preemption_hazard_per_hour
            )
            factor = resolve(self.hazard_multipliers, o)
            if factor is not None:
                supply = replace(supply, hazard_per_hour=supply.hazard_per_hour * factor)
            out[o.id] = supply
        return out

    def clouds(self, clock: Callable[[], datetime]) -> list[SimCloud]:
        """One simulated cloud per cloud name of the offerings (in order of appearance),
        on ``clock`` (the virtual clock's ``now``)."""
        offerings = self.priced_offerings()
        spot = self.spot_truth(offerings)
        names = list(dict.fromkeys(o.cloud for o in offerings))
        out = []
        for name in names:
            mine = [o for o in offerings if o.cloud == name]
            prefix = f"{name}/"
            out.append(
                SimCloud(
                    name,
                    mine,
                    clock=clock,
                    quotas=[q for q in self.quotas if q.pool.startswith(prefix)],
                    quota_changes=[c for c in self.quota_changes if c.pool.startswith(prefix)],
                    spot={o.id: spot[o.id] for o in mine if o.id in spot},
                    launch_delays=self.launch_delays,
                    capacity=self.capacity,
                    schedule=self.preemption_schedule,
                    notice_s=self.notice_s,
                    seed=self.seed,
                )
            )
        return out


def quota_pools(offerings: Sequence[Offering]) -> list[str]:
    """Every pool the offerings draw from, in order of appearance."""
    return list(dict.fromkeys(pool for o in offerings for pool, _ in o.quota_draw))


def quotas_for(
    offerings: Sequence[Offering],
    *,
    vcpus: float,
    gpus: float | Mapping[str, float] = 0.0,
    spot_factor: float = 1.0,
) -> tuple[QuotaLimit, ...]:
    """A quota for every pool the offerings draw from: ``vcpus`` per vCPU pool, ``gpus``
    per GPU pool (or per GPU model), and ``spot_factor`` times that for spot pools
    (where the cloud keeps spot quotas apart)."""
    out = []
    for pool in quota_pools(offerings):
        resource = pool.rsplit("/", 1)[-1]
        spot = resource.startswith("spot-")
        resource = resource.removeprefix("spot-")
        if resource.startswith("gpu:"):
            model = resource.removeprefix("gpu:")
            cap = gpus.get(model, 0.0) if isinstance(gpus, Mapping) else gpus
        else:
            cap = vcpus
        out.append(QuotaLimit(pool, math.floor(cap * (spot_factor if spot else 1.0))))
    return tuple(out)
