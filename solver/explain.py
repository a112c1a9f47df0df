"""Why a job got its placement: the chosen option, its cost, and what the others lost on.

``explain(problem, plan, job_id)`` replays the plan from one job's point of view.
Every *other* job keeps the place the plan gave it (late ones included), so what is
left of each quota pool and budget is exactly what this job competed for. Each
offering that fits the job is priced at its best timely start (cheapest, then
earliest) and given the first reason that applies:

- ``MARKET``: a spot offering and the job does not allow spot;
- ``DEADLINE``: no start lets it finish by the deadline at its pessimistic runtime
  (spot also needs room for one preemption and an on-demand fallback: the slack
  rule of :mod:`solver`);
- ``PRICE``: it costs more than the chosen placement;
- ``QUOTA``: it costs no more, but a pool it draws from lacks room in a slot the
  node would be held (the detail names the pool and the first such slot);
- ``BUDGET``: it costs no more, but the tenant's budget left in that window is short.

Pure like the rest of :mod:`solver`: no clock, no I/O. Times are on the problem's
axis; ``time_format`` renders them in the human-readable ``detail``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from solver.capacity import EPS, Residual
from solver.instance import (
    BOOL,
    I64,
    Instance,
    JobClass,
    compile_problem,
    cost_parts,
    start_delay,
)
from solver.model import CostBreakdown, Decision, Job, Market, Plan, Problem
from solver.money import from_micros


class Loss(StrEnum):
    """Why an alternative lost to the chosen placement."""

    PRICE = "price"
    QUOTA = "quota"
    DEADLINE = "deadline"
    BUDGET = "budget"
    MARKET = "market"


@dataclass(frozen=True)
class Option:
    """One offering at one start, with its expected cost; ``lost`` is ``None`` for the
    chosen placement."""

    offering_id: str
    start: int
    breakdown: CostBreakdown
    lost: Loss | None
    detail: str

    @property
    def expected_cost_micros(self) -> int:
        return self.breakdown.total


@dataclass(frozen=True)
class Explanation:
    job_id: str
    decision: Decision
    #: The plan's placement priced part by part; ``None`` when the job is not placed.
    chosen: Option | None
    #: The best other offerings, cheapest first (one option per offering).
    alternatives: tuple[Option, ...]
    #: Offerings with the resources and locations the job needs, and the rest.
    considered: int
    not_fitting: int


def explain(
    problem: Problem,
    plan: Plan,
    job_id: str,
    *,
    alternatives: int = 3,
    time_format: Callable[[int], str] = str,
) -> Explanation:
    """Explain ``plan``'s decision for ``job_id`` (a job of ``problem``).

    Raises ``KeyError`` for a job the problem or the plan does not have, and
    ``ValueError`` for a negative ``alternatives`` or a plan that places the job on
    an offering or start the problem does not offer.
    """
    if alternatives < 0:
        raise ValueError(f"alternatives must be >= 0, not {alternatives}")
    decision = plan.decisions.get(job_id)
    job = next((j for j in problem.jobs if j.id == job_id), None)
    if decision is None or job is None:
        raise KeyError(job_id)
    inst = compile_problem(problem)
    cols = _Columns(inst)
    cls = cols.class_of(job_id)
    view = _View(inst, cls, job, _others_placed(cols, plan, job_id), time_format)
    chosen: Option | None = None
    chosen_i = -1
    if decision.offering_id is not None and decision.start is not None:
        col = cols.column(cls, decision.offering_id, decision.start)
        if col is None:
            raise ValueError(
                f"job {job_id!r} is placed on {decision.offering_id} at {decision.start}: "
                "not a placement the problem offers it"
            )
        chosen_i, t = col
        detail = (
            "placed late: no offering can finish by the deadline, so it runs as soon as it can"
            if decision.late
            else "the plan's placement"
        )
        chosen = view.option(chosen_i, t, None, detail)
    chosen_cost = chosen.expected_cost_micros if chosen is not None else None
    others = [view.rival(i, chosen_cost) for i in range(len(cls.offs)) if i != chosen_i]
    others.sort(key=lambda o: (o.expected_cost_micros, o.start, o.offering_id))
    return Explanation(
        job_id=job_id,
        decision=decision,
        chosen=chosen,
        alternatives=tuple(others[:alternatives]),
        considered=len(cls.offs),
        not_fitting=len(problem.offerings) - len(cls.offs),
    )


class _Columns:
    """Job ids and placements to class indices and columns ``(i, t)``."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self._class = {jid: c for c, cls in enumerate(inst.classes) for jid in cls.job_ids}
        self._offering = {oid: o for o, oid in enumerate(inst.offering_ids)}

    def class_of(self, job_id: str) -> JobClass:
        return self.inst.classes[self._class[job_id]]

    def has(self, job_id: str) -> bool:
        return job_id in self._class

    def column(self, cls: JobClass, offering_id: str, start: int) -> tuple[int, int] | None:
        """(i, t) of a placement in ``cls``'s arrays, or ``None`` when it has no column."""
        o = self._offering.get(offering_id)
        t, off = divmod(start - self.inst.problem.now, self.inst.problem.slot_s)
        if o is None or off or not 0 <= t < self.inst.T:
            return None
        hits = np.flatnonzero(cls.offs == o)
        return (int(hits[0]), int(t)) if hits.size else None


def _others_placed(cols: _Columns, plan: Plan, job_id: str) -> Residual:
    """What is left of every pool and budget once every other placed job (late ones
    included) holds its place; budgets are charged each job's own expected cost."""
    inst = cols.inst
    res = Residual(inst)
    spent = np.zeros(len(inst.budgets))
    for jid, d in plan.decisions.items():
        if jid == job_id or d.offering_id is None or d.start is None or not cols.has(jid):
            continue
        cls = cols.class_of(jid)
        col = cols.column(cls, d.offering_id, d.start)
        if col is None:
            continue
        res.take(cls, *col, 1)
        spent[cls.budget_mask[:, col[1]]] += d.expected_cost_micros
    res.budget = np.array([float(b[3]) for b in inst.budgets], dtype=np.float64) - spent
    return res


class _View:
    """One job against what the other jobs left: its options, priced and judged."""

    def __init__(
        self, inst: Instance, cls: JobClass, job: Job, res: Residual, fmt: Callable[[int], str]
    ) -> None:
        self.inst, self.cls, self.job, self.res, self.fmt = inst, cls, job, res, fmt
        # The job's own cost: a class may mix jobs whose costs differ a little.
        compute, rework, egress, launch = cost_parts(inst, [job], cls.offs)
        self.parts: tuple[I64, I64, I64, I64] = (compute[0], rework[0], egress[0], launch[0])
        self.cost: I64 = compute[0] + rework[0] + egress[0] + launch[0]
        quota_only = Residual(inst)
        quota_only.cap = res.cap
        quota_only.budget[:] = np.inf
        self.quota_room: I64 = quota_only.copies(cls)
        # per slot: the least any budget a start there counts against has left
        left = np.where(cls.budget_mask, res.budget[:, None], np.inf).min(axis=0, initial=np.inf)
        self.budget_ok: BOOL = self.cost <= left[None, :]
        self.starts = inst.problem.now + np.arange(inst.T, dtype=np.int64) * inst.problem.slot_s

    def has_room(self, i: int, t: int) -> bool:
        return bool(self.quota_room[i, t] > 0 and self.budget_ok[i, t])

    def option(self, i: int, t: int, lost: Loss | None, detail: str) -> Option:
        compute, rework, egress, launch = (int(p[i, t]) for p in self.parts)
        return Option(
            offering_id=self.inst.offering_ids[int(self.cls.offs[i])],
            start=self.inst.slot_start(t),
            breakdown=CostBreakdown(compute=compute, rework=rework, egress=egress, launch=launch),
            lost=lost,
            detail=detail,
        )

    def rival(self, i: int, chosen_cost: int | None) -> Option:
        """Offering ``i`` at its best timely start, with the reason it lost."""
        o = int(self.cls.offs[i])
        spot = self.inst.problem.offerings[o].market is Market.SPOT
        if spot and not self.job.spot_allowed:
            t = self._first_allowed()
            return self.option(i, t, Loss.MARKET, "spot not allowed for this job")
        timely = np.flatnonzero(self.cls.feasible[i])
        if not timely.size:
            t = self._first_allowed()
            return self.option(i, t, Loss.DEADLINE, self._deadline_detail(i, t, spot))
        cost = self.cost[i]
        order = timely[np.lexsort((timely, cost[timely]))]
        best = int(order[0])
        if chosen_cost is not None and int(cost[best]) > chosen_cost:
            detail = f"costs ${from_micros(int(cost[best]) - chosen_cost)} more"
            if not self.has_room(i, best):
                detail += f" (also: {self._blocker(i, best)[1]})"
            return self.option(i, best, Loss.PRICE, detail)
        no_costlier = order if chosen_cost is None else order[cost[order] <= chosen_cost]
        with_room = [int(t) for t in no_costlier if self.has_room(i, int(t))]
        if not with_room:
            lost, detail = self._blocker(i, best)
            return self.option(i, best, lost, detail)
        # Nothing blocks a column that costs no more: a tie the plan broke the other
        # way, or a place the solver missed (it stops at a time limit, and it checks
        # budgets at the dearest cost of jobs it prices together). None of the
        # reasons fits the latter; PRICE with a plain account is the least wrong.
        t = with_room[0]
        if chosen_cost is not None and int(cost[t]) == chosen_cost:
            return self.option(i, t, Loss.PRICE, "costs the same as the chosen placement (a tie)")
        if chosen_cost is None:
            detail = "has room for this job, but the solver did not place it here"
        else:
            saving = from_micros(chosen_cost - int(cost[t]))
            detail = f"costs ${saving} less and has room, but the solver did not choose it"
        return self.option(i, t, Loss.PRICE, detail)

    def _first_allowed(self) -> int:
        allowed = np.flatnonzero(self.starts >= self.job.earliest_start)
        return int(allowed[0]) if allowed.size else 0

    def _deadline_detail(self, i: int, t: int, spot: bool) -> str:
        job = self.job
        if job.earliest_start >= self.inst.problem.horizon_end:
            return "may not start within the planning horizon"
        launch = int(self.inst.launch_s[int(self.cls.offs[i])])
        delay = int(start_delay(self.inst, [job], self.cls.offs)[0, i, t])
        end = self.inst.slot_start(t) + delay + job.runtime_p_s
        text = "cannot finish by the deadline at its pessimistic runtime"
        if spot:
            end += job.checkpoint_interval_s + job.restart_overhead_s + launch
            text += "; spot also needs room for a fallback"
        return f"{text} (ends {self.fmt(end)} at the earliest, deadline {self.fmt(job.deadline)})"

    def _blocker(self, i: int, t: int) -> tuple[Loss, str]:
        """Why column (i, t) has no room: the first pool short of room, else the budget."""
        if self.quota_room[i, t] <= 0:
            return Loss.QUOTA, self._quota_detail(i, t)
        rows = np.flatnonzero(self.cls.budget_mask[:, t])
        row = int(rows[np.argmin(self.res.budget[rows])])
        tenant, w0, w1, _ = self.inst.budgets[row]
        left = max(0, round(float(self.res.budget[row])))
        need = int(self.cost[i, t])
        return Loss.BUDGET, (
            f"tenant {tenant}'s budget has ${from_micros(left)} left in that window "
            f"({self.fmt(w0)} to {self.fmt(w1)}); this needs ${from_micros(need)}"
        )

    def _quota_detail(self, i: int, t: int) -> str:
        inst = self.inst
        o = int(self.cls.offs[i])
        end = min(t + int(self.cls.occupancy[i]), inst.T)
        short: list[tuple[int, int, float, float]] = []  # (slot, pool, needed, free)
        for k in range(inst.draw_pool.shape[1]):
            pool, amt = int(inst.draw_pool[o, k]), float(inst.draw_amt[o, k])
            if amt <= 0 or pool >= inst.P:
                continue
            lacking = np.flatnonzero(self.res.cap[pool, t:end] + EPS < amt)
            if lacking.size:
                s = t + int(lacking[0])
                short.append((s, pool, amt, max(0.0, float(self.res.cap[pool, s]))))
        s, pool, amt, free = min(short)
        return (
            f"pool {inst.pool_ids[pool]} is full at {self.fmt(inst.slot_start(s))} "
            f"(needs {amt:g}, {free:g} free)"
        )
