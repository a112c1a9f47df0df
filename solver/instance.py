"""A :class:`~solver.model.Problem` compiled to numpy arrays, and its job classes.

Jobs that are identical except for their id form a class with an integer count, so
the models grow with classes, not jobs. Offerings become arrays indexed ``o``; quota
pools become rows ``p`` of a capacity matrix over slots ``t``. Each offering draws
from at most ``K`` pools (padded with a dummy pool of unlimited capacity), so the
quota a column uses is a gather, not a dense product. A class keeps arrays only over
the offerings that fit it (``JobClass.offs``), shaped ``(len(offs), T)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from solver.model import Job, Market, Problem
from solver.outlook import column_costs

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

#: Free capacity of the padding pool (and of pools no one listed): unlimited.
UNLIMITED = 1e18
#: Width of the runtime and data-size buckets of :func:`cost_family` (log scale, 3%).
_FAMILY_STEP = math.log(1.03)
#: Classes built together in one numpy batch (bounds the temporary arrays).
BATCH = 512


def job_signature(job: Job) -> tuple[object, ...]:
    """Everything about a job except its id: jobs with equal signatures are one class."""
    return tuple(getattr(job, f.name) for f in fields(job) if f.name != "id")


@dataclass
class JobClass:
    """Jobs the models treat alike: the same columns (offerings, feasible starts, slots
    held, budget rows). Its *members* are groups of identical jobs; members may differ
    in cost (a few minutes more runtime, more data), so the models price a column at
    the members' mean cost, budgets at their highest, and the plan gives each job its
    own exact cost (see :mod:`solver.assemble`)."""

    #: The members' signatures (see :func:`job_signature`).
    signatures: tuple[tuple[object, ...], ...]
    #: One job per member (``job`` is the first: the class's face in explanations).
    member_jobs: tuple[Job, ...]
    #: Job ids per member, sorted.
    member_ids: tuple[tuple[str, ...], ...]
    #: Indices of the offerings whose resources and location suit the jobs.
    offs: I64
    #: Per (i, t), i indexing ``offs``: may start in slot t and meet the deadline.
    feasible: BOOL
    #: Per (member, i, t): expected cost in micro-dollars (meaningful where feasible).
    member_cost: I64
    #: Per i: slots a node is held (launch + pessimistic runtime).
    occupancy: I64
    #: Per (budget b, slot t): a start in slot t counts against ``Instance.budgets[b]``.
    budget_mask: BOOL
    #: Per (i, t): the members' mean cost (what the models optimize) and highest cost
    #: (what budgets are checked against, so any job of the class fits the room).
    cost: I64 = field(init=False)
    budget_cost: I64 = field(init=False)
    job_ids: tuple[str, ...] = field(init=False)
    member_n: I64 = field(init=False)

    def __post_init__(self) -> None:
        self.member_n = np.array([len(ids) for ids in self.member_ids], dtype=np.int64)
        self.job_ids = tuple(j for ids in self.member_ids for j in ids)
        if len(self.member_ids) == 1:
            self.cost = self.member_cost[0]
            self.budget_cost = self.member_cost[0]
        else:
            weights = self.member_n[:, None, None].astype(np.float64)
            mean = (self.member_cost * weights).sum(axis=0) / weights.sum()
            self.cost = np.rint(mean).astype(np.int64)
            self.budget_cost = self.member_cost.max(axis=0)

    @property
    def job(self) -> Job:
        return self.member_jobs[0]

    @property
    def n(self) -> int:
        return len(self.job_ids)

    @property
    def has_column(self) -> bool:
        return bool(self.feasible.any())


@dataclass
class Instance:
    problem: Problem
    T: int
    offering_ids: tuple[str, ...]
    #: Per (o, t): price per hour in micro-dollars, from slot 0 to at least T - 1.
    price: F64
    hazard: F64
    launch_s: F64
    spot: BOOL
    pool_ids: tuple[str, ...]
    #: Per (o, k): pool index (``P`` = padding pool) and amount drawn.
    draw_pool: I64
    draw_amt: F64
    #: Per (p, t), p in 0..P (the last row is the padding pool): free capacity.
    capacity: F64
    #: (tenant, window_start, window_end, limit micros) per budget row.
    budgets: tuple[tuple[str, int, int, int], ...]
    classes: list[JobClass] = field(default_factory=list)
    _egress: dict[str, F64] = field(default_factory=dict)

    @property
    def P(self) -> int:
        return len(self.pool_ids)

    def slot_start(self, t: int) -> int:
        return self.problem.now + t * self.problem.slot_s

    def egress_per_gb(self, src: str) -> F64:
        """Micro-dollars per GB from ``src`` to every offering's location."""
        if src not in self._egress:
            p = self.problem
            self._egress[src] = np.array(
                [egress_micros_per_gb(p, src, off.location) for off in p.offerings],
                dtype=np.float64,
            )
        return self._egress[src]


def cost_family(job: Job) -> tuple[object, ...]:
    """Jobs whose costs are alike on every column: same data location, checkpointing and
    restart, and runtime and data size within a few percent. Only such jobs share a
    class, so the class's mean cost ranks columns as each of them would."""
    return (
        job.data_location,
        job.checkpoint_interval_s,
        job.restart_overhead_s,
        round(math.log1p(job.data_gb) / _FAMILY_STEP),
        round(math.log1p(job.runtime_s) / _FAMILY_STEP),
        # A running node and a spot outlook change costs column by column.
        job.running_on,
        job.running_since,
        job.spot_outlook,
    )


def compile_problem(problem: Problem) -> Instance:
    T = max(1, problem.horizon_slots)
    offs = problem.offerings
    # Prices run past the horizon as far as any offering lists them (a job started late
    # in the horizon runs on); past that, each offering's last price holds.
    width = max([T, *(len(o.price_micros_by_slot) for o in offs)])
    price = np.zeros((len(offs), width))
    for o, off in enumerate(offs):
        row = off.price_micros_by_slot or (off.price_micros_per_hour,)
        vals = np.asarray(row, dtype=np.float64)
        price[o, : len(vals)] = vals
        price[o, len(vals) :] = vals[-1]
    pools: dict[str, int] = {}
    for qp in problem.quota_pools:
        pools.setdefault(qp.id, len(pools))
    for off in offs:
        for pool, _ in off.quota_draw:
            pools.setdefault(pool, len(pools))
    P = len(pools)
    # A pool named twice in one draw is charged both amounts, as one draw.
    draws = [_merged_draw(off.quota_draw) for off in offs]
    K = max((len(d) for d in draws), default=0) or 1
    draw_pool = np.full((len(offs), K), P, dtype=np.int64)
    draw_amt = np.zeros((len(offs), K))
    for o, draw in enumerate(draws):
        for k, (pool, amount) in enumerate(draw.items()):
            draw_pool[o, k] = pools[pool]
            draw_amt[o, k] = amount
    capacity = np.full((P + 1, T), UNLIMITED)
    for qp in problem.quota_pools:
        capacity[pools[qp.id]] = [max(0.0, qp.free_in(t)) for t in range(T)]
    inst = Instance(
        problem=problem,
        T=T,
        offering_ids=tuple(o.id for o in offs),
        price=price,
        hazard=np.array([o.hazard_per_hour if o.market is Market.SPOT else 0.0 for o in offs]),
        launch_s=np.array([float(o.launch_delay_s) for o in offs]),
        spot=np.array([o.market is Market.SPOT for o in offs], dtype=bool),
        pool_ids=tuple(pools),
        draw_pool=draw_pool,
        draw_amt=draw_amt,
        capacity=capacity,
        budgets=tuple(
            (b.tenant, b.window_start, b.window_end, b.limit_micros) for b in problem.budgets
        ),
    )
    groups: dict[tuple[object, ...], list[Job]] = {}
    for job in problem.jobs:
        groups.setdefault(job_signature(job), []).append(job)
    fitter = _Fitter(problem)
    reps = [jobs[0] for jobs in groups.values()]
    ids = [tuple(sorted(j.id for j in jobs)) for jobs in groups.values()]
    sigs = list(groups)
    by_fit: dict[bytes, list[int]] = {}
    fits = [fitter.fit(job) for job in reps]
    for c, fit in enumerate(fits):
        by_fit.setdefault(np.packbits(fit).tobytes(), []).append(c)
    # Members with the same columns (fit, feasible starts, slots held, budget rows)
    # become one class: the models then grow with the distinct column sets, not jobs.
    merged: dict[bytes, list[tuple[int, BOOL, I64, I64, BOOL, I64]]] = {}
    for members in by_fit.values():
        fit_offs = np.flatnonzero(fits[members[0]]).astype(np.int64)
        for lo in range(0, len(members), BATCH):
            chunk = members[lo : lo + BATCH]
            built = build_classes(inst, [reps[c] for c in chunk], fit_offs)
            for c, (feasible, cost, occupancy, budget_mask) in zip(chunk, built, strict=True):
                key = b"".join(
                    (
                        repr(cost_family(reps[c])).encode(),
                        fit_offs.tobytes(),
                        np.packbits(feasible).tobytes(),
                        occupancy.tobytes(),
                        budget_mask.tobytes(),
                        # Jobs with no column at all differ in why (earliest start, ...).
                        b"" if feasible.any() else repr(sigs[c]).encode(),
                    )
                )
                merged.setdefault(key, []).append(
                    (c, feasible, cost, occupancy, budget_mask, fit_offs)
                )
    classes = []
    for group in merged.values():
        group.sort(key=lambda g: ids[g[0]][0])
        _, feasible, _, occupancy, budget_mask, fit_offs = group[0]
        classes.append(
            JobClass(
                signatures=tuple(sigs[g[0]] for g in group),
                member_jobs=tuple(reps[g[0]] for g in group),
                member_ids=tuple(ids[g[0]] for g in group),
                offs=fit_offs,
                feasible=feasible,
                member_cost=np.stack([g[2] for g in group]),
                occupancy=occupancy,
                budget_mask=budget_mask,
            )
        )
    classes.sort(key=lambda cls: cls.job_ids[0])
    inst.classes = classes
    return inst


def _merged_draw(draw: Sequence[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pool, amount in draw:
        out[pool] = out.get(pool, 0.0) + amount
    return out


class _Fitter:
    """Vectorized "does offering o suit this job" over all offerings."""

    def __init__(self, problem: Problem) -> None:
        offs = problem.offerings
        self.vcpus = np.array([o.vcpus for o in offs], dtype=np.float64)
        self.mem = np.array([o.memory_gib for o in offs], dtype=np.float64)
        self.gpus = np.array([o.gpu_count for o in offs], dtype=np.int64)
        self.gpu_type = np.array([o.gpu_type for o in offs], dtype=object)
        self.cloud = np.array([o.cloud for o in offs], dtype=object)
        self.region = np.array([o.region for o in offs], dtype=object)

    def fit(self, job: Job) -> BOOL:
        ok = (self.vcpus >= job.vcpus) & (self.mem >= job.memory_gib)
        if job.gpu_count:
            ok &= (self.gpus >= job.gpu_count) & (self.gpu_type == job.gpu_type)
        if job.allowed_clouds:
            ok &= np.isin(self.cloud, list(job.allowed_clouds))
        if job.allowed_regions:
            ok &= np.isin(self.region, list(job.allowed_regions))
        out: BOOL = ok.astype(bool)
        return out


def fit_mask(problem: Problem, job: Job) -> BOOL:
    """Offerings with the resources and location the job needs."""
    return _Fitter(problem).fit(job)


def egress_micros_per_gb(problem: Problem, src: str, dst: str) -> int:
    if not src or src == dst:
        return 0
    for e in problem.egress:
        if e.src == src and e.dst == dst:
            return e.micros_per_gb
    if src.split(":", 1)[0] == dst.split(":", 1)[0]:
        return problem.egress_same_cloud_micros_per_gb
    return problem.egress_cross_cloud_micros_per_gb


def cost_parts(inst: Instance, jobs: Sequence[Job], offs: I64) -> tuple[I64, I64, I64, I64]:
    """(compute, rework, egress, launch) in micro-dollars per (job, offering in offs, slot).

    At the mean price over the slots the job runs: compute = price x runtime;
    launch = price x launch delay (:func:`start_delay`); on spot, rework = price x
    hazard x runtime x (checkpoint interval / 2 + restart overhead); egress = data GB
    x $/GB from the data's location to the offering's.
    """
    T, slot = inst.T, inst.problem.slot_s
    runtime = np.array([j.runtime_s for j in jobs], dtype=np.float64)
    delay = start_delay(inst, jobs, offs)
    run_len = np.maximum(1, np.ceil((delay + runtime[:, None, None]) / slot)).astype(np.int64)
    price = inst.price[offs]
    avg: F64
    if (price == price[:, :1]).all():
        # Flat prices (the common case): the mean is the price, exactly as below.
        avg = np.broadcast_to(price[None, :, :1], (len(jobs), offs.size, T))
    else:
        prefix = np.concatenate([np.zeros((offs.size, 1)), np.cumsum(price, axis=1)], axis=1)
        start = np.arange(T, dtype=np.int64)
        end = start[None, None, :] + run_len
        inside_end = np.minimum(end, price.shape[1])
        rows = np.arange(offs.size)[None, :, None]
        inside = prefix[rows, inside_end] - prefix[rows, start[None, None, :]]
        tail = (end - inside_end) * price[None, :, -1:]
        avg = (inside + tail) / run_len
    hours = runtime / 3600.0
    compute = np.rint(avg * hours[:, None, None]).astype(np.int64)
    launch_cost = np.rint(avg * (delay / 3600.0)).astype(np.int64)
    lost_h = np.array([(j.checkpoint_interval_s / 2 + j.restart_overhead_s) / 3600.0 for j in jobs])
    per_hour = inst.hazard[offs][None, :] * hours[:, None] * lost_h[:, None]
    rework = np.rint(avg * per_hour[:, :, None]).astype(np.int64)
    per_gb = np.stack([inst.egress_per_gb(j.data_location)[offs] for j in jobs])
    data_gb = np.array([j.data_gb for j in jobs], dtype=np.float64)
    egress1 = np.rint(per_gb * data_gb[:, None]).astype(np.int64)
    egress = np.broadcast_to(egress1[:, :, None], compute.shape).copy()
    return compute, rework, egress, launch_cost


def start_delay(inst: Instance, jobs: Sequence[Job], offs: I64) -> F64:
    """Seconds from a column's start to the job making progress, per (job, offering in
    offs, slot): the offering's launch delay, except on the node a job runs on now
    (``Job.running_on``, slot 0), where only what is left of its launch remains."""
    launch = inst.launch_s[offs]
    delay = np.broadcast_to(launch[None, :, None], (len(jobs), offs.size, inst.T)).copy()
    ids = [inst.offering_ids[o] for o in offs.tolist()]
    now = inst.problem.now
    for g, job in enumerate(jobs):
        if job.running_on and job.running_on in ids:
            i = ids.index(job.running_on)
            left = job.running_since + launch[i] - now if job.running_since else 0.0
            delay[g, i, 0] = min(launch[i], max(0.0, left))
    return delay


def _outlook_costs(
    inst: Instance, job: Job, offs: I64, compute: I64, egress: I64, delay: F64, usual: I64
) -> I64:
    """A job's expected costs to finish under its spot outlook (:mod:`solver.outlook`),
    or its usual costs when the outlook cannot be used."""
    ids = [inst.offering_ids[o] for o in offs.tolist()]
    pending = 0.0
    if job.running_on in ids:
        pending = float(delay[ids.index(job.running_on), 0])
    out = column_costs(
        job,
        inst.problem.now,
        inst.T,
        ids,
        [inst.problem.offerings[o].market for o in offs.tolist()],
        inst.launch_s[offs],
        inst.hazard[offs],
        inst.price[offs, 0],
        compute,
        egress,
        pending,
    )
    return usual if out is None else out


def build_classes(
    inst: Instance, jobs: Sequence[Job], offs: I64
) -> list[tuple[BOOL, I64, I64, BOOL]]:
    """Every column of classes that fit the same offerings ``offs``: per class its
    (feasible, cost) per (offering, slot), occupancy per offering and budget mask.

    Feasible when the start is not before the job's earliest start and the job ends
    by its deadline at the pessimistic runtime (after its :func:`start_delay`) -- on
    spot with room left for one preemption (a checkpoint interval of lost work, a
    restart) and an on-demand fallback launch: the slack rule, see :mod:`solver`.
    """
    p = inst.problem
    T, slot = inst.T, p.slot_s
    starts = p.now + np.arange(T, dtype=np.int64) * slot
    launch = inst.launch_s[offs]
    spot = inst.spot[offs]
    runtime_p = np.array([j.runtime_p_s for j in jobs], dtype=np.float64)
    occupancy = np.maximum(1, np.ceil((launch[None, :] + runtime_p[:, None]) / slot))
    compute, rework, egress, launch_cost = cost_parts(inst, jobs, offs)
    cost = compute + rework + egress + launch_cost
    fallback = np.array([j.checkpoint_interval_s + j.restart_overhead_s for j in jobs])
    extra = np.where(spot[None, :], fallback[:, None] + launch[None, :], 0.0)
    delay = start_delay(inst, jobs, offs)
    for g, job in enumerate(jobs):
        if job.spot_outlook is not None:
            cost[g] = _outlook_costs(inst, job, offs, compute[g], egress[g], delay[g], cost[g])
    end = starts[None, None, :] + delay + (runtime_p[:, None] + extra)[:, :, None]
    deadline = np.array([j.deadline for j in jobs], dtype=np.float64)
    earliest = np.array([j.earliest_start for j in jobs], dtype=np.float64)
    no_spot = np.array([not j.spot_allowed for j in jobs])
    feasible = (
        (starts[None, None, :] >= earliest[:, None, None])
        & (end <= deadline[:, None, None])
        & ~(spot[None, :] & no_spot[:, None])[:, :, None]
    )
    out: list[tuple[BOOL, I64, I64, BOOL]] = []
    for g, job in enumerate(jobs):
        budget_mask = np.zeros((len(inst.budgets), T), dtype=bool)
        for b, (tenant, w0, w1, _) in enumerate(inst.budgets):
            if tenant == job.tenant:
                budget_mask[b] = (starts >= w0) & (starts < w1)
        out.append((feasible[g], cost[g], occupancy[g].astype(np.int64), budget_mask))
    return out
