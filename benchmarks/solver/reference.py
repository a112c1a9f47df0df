"""The solver's contract, re-derived from :mod:`solver`'s docstring for checking.

Deliberately independent of the solver's internals (``solver.instance`` and friends
change with the solver): what fits where, which starts meet the deadline, what a
placement costs and which slots of which pools it holds, computed from the
:class:`~solver.Problem` alone. Used to size the benchmark's quotas and budgets
(per-job-cheapest placement), as the per-job-cheapest baseline, and by the plan
checker (:mod:`benchmarks.solver.check`).

Rules (see :mod:`solver`):
    fits: vCPUs, memory, GPU count and model, allowed clouds and regions, spot allowed;
    timely at start s: s >= earliest start and s + launch + runtime_p (+ on spot:
        checkpoint interval + restart overhead + launch, room for one preemption and an
        on-demand fallback) <= deadline;
    cost: at the mean price over the slots the job runs (launch + runtime), compute =
        price x runtime, launch = price x launch delay, rework (spot) = price x hazard x
        runtime x (checkpoint interval / 2 + restart), egress = GB x $/GB; each part
        rounded to a micro-dollar;
    holds: every pool it draws from, from its start slot for ceil((launch + runtime_p)
        / slot) slots (at least one), inside the horizon.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

import solver

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]


def signature(job: solver.Job) -> tuple[object, ...]:
    return tuple(getattr(job, f.name) for f in fields(job) if f.name != "id")


def egress_per_gb(problem: solver.Problem, src: str, dst: str) -> int:
    if not src or src == dst:
        return 0
    for e in problem.egress:
        if e.src == src and e.dst == dst:
            return e.micros_per_gb
    if src.split(":", 1)[0] == dst.split(":", 1)[0]:
        return problem.egress_same_cloud_micros_per_gb
    return problem.egress_cross_cloud_micros_per_gb


@dataclass
class Group:
    """Identical jobs (all fields but the id) and their columns over every offering."""

    job: solver.Job
    ids: list[str]
    fits: BOOL  # (O,)
    timely: BOOL  # (O, T), implies fits
    cost: I64  # (O, T)
    hold: I64  # (O,) slots held


class Reference:
    """The rules above over one problem. ``share``: a reference for a problem with the
    same jobs, offerings, egress and time axis (quotas and budgets may differ), whose
    per-job columns are reused instead of recomputed."""

    def __init__(self, problem: solver.Problem, *, share: Reference | None = None) -> None:
        self.problem = p = problem
        self.T = T = max(1, p.horizon_slots)
        offs = p.offerings
        self.offering_index = {o.id: k for k, o in enumerate(offs)}
        self.vcpus = np.array([o.vcpus for o in offs], dtype=np.float64)
        self.mem = np.array([o.memory_gib for o in offs], dtype=np.float64)
        self.gpus = np.array([o.gpu_count for o in offs], dtype=np.int64)
        self.gpu_type = np.array([o.gpu_type for o in offs], dtype=object)
        self.cloud = np.array([o.cloud for o in offs], dtype=object)
        self.region = np.array([o.region for o in offs], dtype=object)
        self.spot = np.array([o.market is solver.Market.SPOT for o in offs], dtype=bool)
        self.launch = np.array([float(o.launch_delay_s) for o in offs])
        self.hazard = np.where(self.spot, [o.hazard_per_hour for o in offs], 0.0)
        price = np.zeros((len(offs), T))
        for k, o in enumerate(offs):
            row = np.asarray((o.price_micros_by_slot or (o.price_micros_per_hour,))[:T], float)
            price[k, : row.size] = row
            price[k, row.size :] = row[-1]
        self.price = price
        self.price_prefix = np.concatenate([np.zeros((len(offs), 1)), np.cumsum(price, 1)], 1)
        self.starts = p.now + np.arange(T, dtype=np.int64) * p.slot_s
        self._egress: dict[str, F64] = {}
        pool_ids = {q.id: k for k, q in enumerate(p.quota_pools)}
        for o in offs:
            for pool, _ in o.quota_draw:
                pool_ids.setdefault(pool, len(pool_ids))
        self.pool_index = pool_ids
        self.pool_ids = tuple(pool_ids)
        self.capacity = np.full((len(pool_ids), T), np.inf)
        for q in p.quota_pools:
            self.capacity[pool_ids[q.id]] = [q.free_in(t) for t in range(T)]
        self._groups: list[Group] | None = None
        self._group_of: dict[tuple[object, ...], Group] = {}
        if share is not None and share._groups is not None:
            self._groups, self._group_of = share._groups, share._group_of
        self.draws = [[(pool_ids[pool], amt) for pool, amt in o.quota_draw] for o in offs]

    # --- one job --------------------------------------------------------------------

    def fits(self, job: solver.Job) -> BOOL:
        ok = (self.vcpus >= job.vcpus) & (self.mem >= job.memory_gib)
        if job.gpu_count:
            ok &= (self.gpus >= job.gpu_count) & (self.gpu_type == job.gpu_type)
        if job.allowed_clouds:
            ok &= np.isin(self.cloud, list(job.allowed_clouds))
        if job.allowed_regions:
            ok &= np.isin(self.region, list(job.allowed_regions))
        if not job.spot_allowed:
            ok &= ~self.spot
        out: BOOL = ok
        return out

    def ends(self, job: solver.Job) -> F64:
        """Per (offering, slot): when the job is done at its pessimistic runtime, with
        room for one preemption on spot."""
        extra = self.launch + job.runtime_p_s
        extra = extra + np.where(
            self.spot, job.checkpoint_interval_s + job.restart_overhead_s + self.launch, 0.0
        )
        out: F64 = self.starts[None, :] + extra[:, None]
        return out

    def timely(self, job: solver.Job) -> BOOL:
        ok = self.fits(job)[:, None] & (self.starts >= job.earliest_start)[None, :]
        out: BOOL = ok & (self.ends(job) <= job.deadline)
        return out

    def egress(self, src: str) -> F64:
        if src not in self._egress:
            self._egress[src] = np.array(
                [egress_per_gb(self.problem, src, o.location) for o in self.problem.offerings],
                dtype=np.float64,
            )
        return self._egress[src]

    def cost(self, job: solver.Job) -> I64:
        """Per (offering, slot): expected cost in micro-dollars."""
        T, slot = self.T, self.problem.slot_s
        run = np.maximum(1, np.ceil((self.launch + job.runtime_s) / slot)).astype(np.int64)
        t = np.arange(T)
        end = t[None, :] + run[:, None]
        inside = np.minimum(end, T)
        rows = np.arange(len(run))[:, None]
        total = self.price_prefix[rows, inside] - self.price_prefix[rows, t[None, :]]
        total = total + (end - inside) * self.price[:, -1:]
        avg = total / run[:, None]
        hours = job.runtime_s / 3600.0
        lost_h = (job.checkpoint_interval_s / 2 + job.restart_overhead_s) / 3600.0
        compute = np.rint(avg * hours)
        launch = np.rint(avg * (self.launch / 3600.0)[:, None])
        rework = np.rint(avg * (self.hazard * hours * lost_h)[:, None])
        egress = np.rint(self.egress(job.data_location) * job.data_gb)[:, None]
        out: I64 = (compute + launch + rework + egress).astype(np.int64)
        return out

    def hold(self, job: solver.Job) -> I64:
        slot = self.problem.slot_s
        out: I64 = np.maximum(1, np.ceil((self.launch + job.runtime_p_s) / slot)).astype(np.int64)
        return out

    def slot_of(self, start: int) -> int | None:
        """The slot ``start`` opens, or None when it is not a slot boundary in the horizon."""
        off = start - self.problem.now
        t, rem = divmod(off, self.problem.slot_s)
        return int(t) if rem == 0 and 0 <= t < self.T else None

    # --- all jobs ---------------------------------------------------------------------

    def groups(self) -> list[Group]:
        """Jobs grouped by signature, with their columns (computed once)."""
        if self._groups is None:
            by_sig: dict[tuple[object, ...], list[solver.Job]] = {}
            for job in self.problem.jobs:
                by_sig.setdefault(signature(job), []).append(job)
            self._group_of = {sig: self._group(jobs) for sig, jobs in by_sig.items()}
            self._groups = list(self._group_of.values())
        return self._groups

    def group_of(self, job: solver.Job) -> Group:
        """The group of ``job`` (made on the fly for a job the problem does not list)."""
        self.groups()
        sig = signature(job)
        group = self._group_of.get(sig)
        if group is None:
            group = self._group_of[sig] = self._group([job])
        return group

    def _group(self, jobs: list[solver.Job]) -> Group:
        job = jobs[0]
        return Group(
            job=job,
            ids=sorted(j.id for j in jobs),
            fits=self.fits(job),
            timely=self.timely(job),
            cost=self.cost(job),
            hold=self.hold(job),
        )

    def per_job_cheapest(self, *, on_demand_only: bool = False) -> dict[str, solver.Decision]:
        """Every job alone on its cheapest timely column (earliest slot, then first
        offering, among equals), quotas and budgets ignored: how a planner that places
        one task at a time (SkyPilot's optimizer) would place them. Jobs without a timely
        column are left unplaced. ``on_demand_only``: among on-demand columns only (jobs
        with no timely on-demand column are left unplaced)."""
        out: dict[str, solver.Decision] = {}
        for g in self.groups():
            timely = g.timely & ~self.spot[:, None] if on_demand_only else g.timely
            if not timely.any():
                for jid in g.ids:
                    out[jid] = solver.Decision(jid, None, None)
                continue
            key = np.where(timely, g.cost.astype(np.float64) * (self.T + 1), np.inf)
            key = key + np.arange(self.T)[None, :]
            o, t = divmod(int(np.argmin(key)), self.T)
            oid = self.problem.offerings[o].id
            cost = int(g.cost[o, t])
            for jid in g.ids:
                out[jid] = solver.Decision(jid, oid, int(self.starts[t]), cost)
        return out

    def usage(self, decisions: Mapping[str, solver.Decision]) -> F64:
        """Per (pool, slot): what the placed jobs of ``decisions`` hold."""
        use = np.zeros((len(self.pool_ids), self.T))
        for job in self.problem.jobs:
            d = decisions.get(job.id)
            if d is None or d.offering_id is None or d.start is None:
                continue
            o = self.offering_index[d.offering_id]
            t = self.slot_of(d.start)
            if t is None:
                continue
            end = min(self.T, t + int(self.group_of(job).hold[o]))
            for p, amt in self.draws[o]:
                use[p, t:end] += amt
        return use


#: Prefix of the resource of a pool only spot nodes draw from (``adapters.base.Offering``
#: with ``separate_spot_quota``): ``aws/us-east-1/spot-gpu:T4``.
SPOT_PREFIX = "spot-"


def resource_of(pool_id: str) -> str:
    """``aws/us-east-1/gpu:T4`` -> ``gpu:T4``; ``.../vcpu`` -> ``vcpu``;
    ``.../spot-vcpu`` -> ``spot-vcpu`` (spot and on-demand are different resources)."""
    return pool_id.rsplit("/", 1)[-1]


def is_spot(pool_id: str) -> bool:
    """Is this a spot-only pool (``.../spot-vcpu``, ``.../spot-gpu:T4``)?"""
    return resource_of(pool_id).startswith(SPOT_PREFIX)


def kind_of(pool_id: str) -> str:
    """``"gpu"`` or ``"vcpu"``, with ``"spot "`` in front for a spot-only pool."""
    resource = resource_of(pool_id).removeprefix(SPOT_PREFIX)
    kind = "gpu" if resource.startswith("gpu") else "vcpu"
    return f"spot {kind}" if is_spot(pool_id) else kind
