"""The solver's input and output: a planning problem and a plan.

Everything here is plain data. Times are integer seconds on the problem's own axis
(``Problem.now`` is "now" on that axis; the caller chooses the epoch). Money is
integer micro-dollars. Quota amounts are vCPUs or GPUs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Market(StrEnum):
    ON_DEMAND = "on-demand"
    SPOT = "spot"


@dataclass(frozen=True)
class Job:
    id: str
    vcpus: float
    memory_gib: float
    gpu_count: int
    gpu_type: str
    #: Remaining runtime, best estimate and pessimistic quantile (seconds).
    runtime_s: int
    runtime_p_s: int
    deadline: int
    earliest_start: int
    spot_allowed: bool
    restart_overhead_s: int
    checkpoint_interval_s: int
    allowed_clouds: frozenset[str] = frozenset()
    allowed_regions: frozenset[str] = frozenset()
    tenant: str = "default"


@dataclass(frozen=True)
class Offering:
    id: str
    cloud: str
    region: str
    zone: str
    instance_type: str
    market: Market
    vcpus: float
    memory_gib: float
    gpu_count: int
    gpu_type: str
    price_micros_per_hour: int
    hazard_per_hour: float
    launch_delay_s: int
    #: (pool id, amount drawn) for each quota pool a node of this offering uses.
    quota_draw: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class QuotaPool:
    id: str
    #: What is free now (capacity minus what running jobs hold).
    free: float


@dataclass(frozen=True)
class Problem:
    now: int
    jobs: tuple[Job, ...]
    offerings: tuple[Offering, ...]
    quota_pools: tuple[QuotaPool, ...] = ()
    #: Cost of leaving a job unplaced this tick; dominates any saving.
    unplaced_penalty_micros: int = 10**12


class Unplaced(StrEnum):
    NO_OFFERING = "no offering fits the job's resources and locations"
    DEADLINE_IMPOSSIBLE = "no offering can finish before the deadline"
    QUOTA_FULL = "every fitting offering's quota is full now"
    NOT_YET = "earliest start is in the future"


@dataclass(frozen=True)
class Decision:
    job_id: str
    offering_id: str | None
    start: int | None
    expected_cost_micros: int = 0
    reason: Unplaced | None = None
    #: Placed although it cannot meet its deadline any more (runs as soon as it can).
    late: bool = False

    @property
    def placed(self) -> bool:
        return self.offering_id is not None


@dataclass(frozen=True)
class Plan:
    decisions: Mapping[str, Decision]
    objective_micros: int
    lower_bound_micros: int
    solver: str
    stats: Mapping[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """(objective - bound) / bound; 0 when both are 0."""
        if self.lower_bound_micros <= 0:
            return 0.0 if self.objective_micros <= 0 else float("inf")
        return (self.objective_micros - self.lower_bound_micros) / self.lower_bound_micros
