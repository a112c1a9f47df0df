"""The solver's input and output: a planning problem and a plan.

Everything here is plain frozen data. Times are integer seconds on the problem's own
axis (``Problem.now`` is "now"; the caller chooses the epoch). Time is cut into
``horizon_slots`` slots of ``slot_s`` seconds starting at ``now``; slot ``t`` is
``[now + t * slot_s, now + (t + 1) * slot_s)``. Money is integer micro-dollars.
Quota amounts are vCPUs or GPUs. A location is ``"cloud:region"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Market(StrEnum):
    ON_DEMAND = "on-demand"
    SPOT = "spot"


@dataclass(frozen=True)
class SpotOutlook:
    """How spot capacity for a job comes and goes (a cost-model estimate): a chain over
    the *age* of the present state, in steps of ``step_s`` seconds. Ages are grouped
    in bins: bin ``k`` spans ``widths[k]`` steps (the last bin is open-ended; no
    ``widths``: one step per bin). ``loss[k]`` is the chance, per step, that spot
    which has been there for an age in bin ``k`` is gone the step after; ``back[k]``
    the chance that spot gone for an age in bin ``k`` is back. One bin each: a plain
    two-state Markov chain; more: durations that are not memoryless (short blips,
    long outages). "There" means a spot offering the job fits is listed.
    """

    step_s: int
    loss: tuple[float, ...]
    back: tuple[float, ...]
    #: Steps spanned by each age bin but the last (both chains); () = one step each.
    widths: tuple[int, ...] = ()
    #: How long the present state (spot listed for the job, or not) has lasted.
    age_s: int = 0
    #: What spot costs per hour when it is back; 0: the cheapest listed spot offering's.
    price_micros_per_hour: int = 0
    #: Chance per step that the node a job runs on is lost although spot stays "there"
    #: (spot in several zones: one zone's preemption); 0 for a single spot market.
    node_loss: float = 0.0

    @property
    def usable(self) -> bool:
        """Well formed: a positive step and probabilities in [0, 1] for both chains."""
        ok = self.step_s > 0 and bool(self.loss) and bool(self.back)
        if self.widths:
            bins = len(self.widths) + 1
            ok = ok and len(self.loss) == bins == len(self.back)
            ok = ok and all(w >= 1 for w in self.widths)
        probabilities = (*self.loss, *self.back, self.node_loss)
        return ok and all(0.0 <= x <= 1.0 for x in probabilities)

    def bin_of(self, steps: int) -> int:
        """The age bin of an age of ``steps`` steps (at least 1)."""
        if not self.widths:
            return max(0, steps - 1)
        edge = 0
        for k, w in enumerate(self.widths):
            edge += w
            if steps <= edge:
                return k
        return len(self.widths)


@dataclass(frozen=True)
class Job:
    id: str
    vcpus: float
    memory_gib: float
    #: Remaining runtime, best estimate and pessimistic quantile (seconds).
    runtime_s: int
    runtime_p_s: int
    deadline: int
    gpu_count: int = 0
    gpu_type: str = ""
    earliest_start: int = 0
    spot_allowed: bool = True
    restart_overhead_s: int = 0
    checkpoint_interval_s: int = 0
    allowed_clouds: frozenset[str] = frozenset()
    allowed_regions: frozenset[str] = frozenset()
    #: Where the job's input lives ("cloud:region"; "" for nowhere) and how much.
    data_location: str = ""
    data_gb: float = 0.0
    tenant: str = "default"
    #: When the job arrived (epoch s) and its whole runtime estimate (s), for policies
    #: that pace progress over the job's life (Uniform Progress). 0: unknown, taken
    #: as ``Problem.now`` and ``runtime_s``.
    arrival: int = 0
    total_runtime_s: int = 0
    #: The offering the job runs on right now ("" = not running) and when that node
    #: was started (epoch s; 0 = long enough ago to be past its launch). A column on
    #: ``running_on`` at slot 0 keeps the node: no launch delay, only what is left of
    #: the one it started with. Any other column stops it and launches afresh. The
    #: caller leaves the node's quota free (the job's column draws it). The live
    #: planner plans pending jobs only and leaves both unset; simulators set them so
    #: that a policy can keep a node instead of restarting it.
    running_on: str = ""
    running_since: int = 0
    #: How spot comes and goes for this job; None: the present is all the solver
    #: knows (spot columns only while listed, no value in waiting for spot). Given,
    #: a spot-allowed job's columns cost their expected cost to finish, from a
    #: decision process over this chain (:mod:`solver.outlook`).
    spot_outlook: SpotOutlook | None = None


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
    #: Price per hour in slots 0, 1, ... when it varies over the horizon; past the
    #: end of this tuple the last value holds. Empty: ``price_micros_per_hour`` always.
    price_micros_by_slot: tuple[int, ...] = ()

    @property
    def location(self) -> str:
        return f"{self.cloud}:{self.region}"


@dataclass(frozen=True)
class QuotaPool:
    id: str
    #: What is free now (capacity minus what running jobs hold).
    free: float
    #: Free capacity in slots 0, 1, ... when it changes over the horizon (running jobs
    #: finishing, a quota change); past the end the last value holds.
    free_by_slot: tuple[float, ...] = ()

    def free_in(self, slot: int) -> float:
        if not self.free_by_slot:
            return self.free
        return self.free_by_slot[min(slot, len(self.free_by_slot) - 1)]


@dataclass(frozen=True)
class Budget:
    """At most ``limit_micros`` of expected cost for jobs of ``tenant`` that start in
    ``[window_start, window_end)`` (what the tenant has left of its budget)."""

    tenant: str
    limit_micros: int
    window_start: int
    window_end: int


@dataclass(frozen=True)
class EgressPrice:
    src: str
    dst: str
    micros_per_gb: int


@dataclass(frozen=True)
class Problem:
    now: int
    jobs: tuple[Job, ...]
    offerings: tuple[Offering, ...]
    quota_pools: tuple[QuotaPool, ...] = ()
    budgets: tuple[Budget, ...] = ()
    egress: tuple[EgressPrice, ...] = ()
    #: Egress price for a pair not in ``egress`` (same region is always free).
    egress_same_cloud_micros_per_gb: int = 20_000
    egress_cross_cloud_micros_per_gb: int = 90_000
    slot_s: int = 3600
    horizon_slots: int = 24
    #: Cost of leaving one job unplaced (or placing it late); dominates any saving.
    unplaced_penalty_micros: int = 10**12

    @property
    def horizon_end(self) -> int:
        return self.now + self.slot_s * self.horizon_slots


class Unplaced(StrEnum):
    NO_OFFERING = "no offering fits the job's resources and locations"
    DEADLINE_IMPOSSIBLE = "no offering can finish before the deadline"
    QUOTA_FULL = "quota full on every timely offering"
    BUDGET = "the tenant's budget does not cover any timely offering"
    NOT_YET = "earliest start is beyond the planning horizon"


@dataclass(frozen=True)
class CostBreakdown:
    """Expected cost of one placement, in micro-dollars."""

    compute: int
    rework: int
    egress: int
    launch: int

    @property
    def total(self) -> int:
        return self.compute + self.rework + self.egress + self.launch


@dataclass(frozen=True)
class Decision:
    job_id: str
    offering_id: str | None
    start: int | None
    expected_cost_micros: int = 0
    reason: Unplaced | None = None
    #: Placed although it cannot meet its deadline any more (runs as soon as it can).
    late: bool = False
    #: For QUOTA_FULL / BUDGET: the plan's horizon end, until which nothing frees up.
    until: int | None = None

    @property
    def placed(self) -> bool:
        return self.offering_id is not None


@dataclass(frozen=True)
class WarmStart:
    """What one tick hands the next: the LP's columns and its quota/budget prices.

    Columns are ``(job signature, offering id, absolute start)``; prices are keyed
    by ``(pool id, absolute slot start)`` and by budget index ``(tenant, window)``.
    """

    columns: frozenset[tuple[tuple[object, ...], str, int]] = frozenset()
    pool_prices: Mapping[tuple[str, int], float] = field(default_factory=dict)
    budget_prices: Mapping[tuple[str, int, int], float] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    decisions: Mapping[str, Decision]
    objective_micros: int
    lower_bound_micros: int
    solver: str
    stats: Mapping[str, float] = field(default_factory=dict)
    warm: WarmStart | None = None
    #: Penalties no plan can avoid (jobs that fit nowhere, cannot meet their deadline
    #: anywhere, or may not start within the horizon); in both objective and bound.
    unavoidable_micros: int = 0

    @property
    def gap(self) -> float:
        """(objective - bound) / (bound - unavoidable penalties); 0 when both are 0."""
        base = self.lower_bound_micros - self.unavoidable_micros
        if base <= 0:
            return 0.0 if self.objective_micros <= self.lower_bound_micros else float("inf")
        return (self.objective_micros - self.lower_bound_micros) / base
