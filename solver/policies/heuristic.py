"""What the rule-based policies share: one job's options now, and a plan from picks.

A rule-based policy (on-demand, spot-only, Uniform Progress) decides for each job on
its own whether it should run now, and on which market; :class:`Planner` turns those
decisions into a :class:`~solver.model.Plan` with the same meaning, costs and
reasons as the optimizer's. Jobs are taken least slack first (deadline minus
pessimistic runtime, then id), and every placement goes through
:class:`~solver.capacity.Residual`, so a rule-based plan never breaks a quota or a
budget either: a job whose market has no room left waits.

Conventions every policy here keeps:

- **Availability.** An offering listed in the problem can be launched now; a spot
  market that is out of capacity is simply not listed (simulators list only what
  is available at the tick, the live planner leaves out offerings in back-off).
- **Running jobs.** ``Job.running_on`` names the node a job runs on now; keeping
  it (the same offering, starting now) costs no new launch. A spot node that was
  preempted is no longer listed, so the job is not running any more.
- **Waiting.** A job told to wait gets a placement on its fallback offering one
  slot from now (``start > now``): "not now, ask again next tick". A job with no
  offering it may use at all is unplaced (``NO_OFFERING``), one whose offerings
  have no room is unplaced (``QUOTA_FULL``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from solver.capacity import Residual
from solver.greedy import quota_free_bound
from solver.instance import Instance, JobClass, compile_problem, start_delay
from solver.model import Decision, Job, Market, Plan, Problem, Unplaced


@dataclass(frozen=True)
class JobView:
    """One job and its options in a compiled problem; ``i`` indexes ``cls.offs``."""

    job: Job
    cls: JobClass
    #: Index of the job's class in ``Instance.classes`` and of its member.
    c: int
    member: int
    #: Offerings the job fits and may use, cheapest first (ties: offering order).
    spot: tuple[int, ...]
    on_demand: tuple[int, ...]
    #: The offering the job runs on now, if it is listed, and its market.
    current: int | None
    current_market: Market | None
    #: Seconds of the current node's launch still to go (0 when not running).
    pending_s: float
    #: Seconds a restart loses: the slowest launch among its offerings, the restore
    #: (``restart_overhead_s``) and, at worst, a checkpoint interval of work.
    restart_s: float

    @property
    def has_spot(self) -> bool:
        return bool(self.spot)


def job_views(inst: Instance) -> list[JobView]:
    """Every job of the problem, least slack first (deadline minus pessimistic
    runtime, then id)."""
    out: list[JobView] = []
    for c, cls in enumerate(inst.classes):
        market = inst.spot[cls.offs]
        cost0 = cls.cost[:, 0] if cls.offs.size else np.zeros(0, dtype=np.int64)
        for m, ids in enumerate(cls.member_ids):
            job = cls.member_jobs[m]
            order = sorted(range(cls.offs.size), key=lambda i: (int(cost0[i]), i))
            spot = tuple(i for i in order if market[i] and job.spot_allowed)
            od = tuple(i for i in order if not market[i])
            ids_here = [inst.offering_ids[int(o)] for o in cls.offs.tolist()]
            current = ids_here.index(job.running_on) if job.running_on in ids_here else None
            if current is not None and market[current] and not job.spot_allowed:
                current = None
            pending = 0.0
            cur_market: Market | None = None
            if current is not None:
                cur_market = Market.SPOT if market[current] else Market.ON_DEMAND
                pending = float(start_delay(inst, [job], cls.offs)[0, current, 0])
            launches = inst.launch_s[cls.offs]
            slowest = float(launches.max()) if launches.size else 0.0
            restart = slowest + job.restart_overhead_s + job.checkpoint_interval_s
            for jid in ids:
                out.append(
                    JobView(
                        job=job if jid == job.id else _with_id(job, jid),
                        cls=cls,
                        c=c,
                        member=m,
                        spot=spot,
                        on_demand=od,
                        current=current,
                        current_market=cur_market,
                        pending_s=pending,
                        restart_s=restart,
                    )
                )
    out.sort(key=lambda v: (v.job.deadline - v.job.runtime_p_s, v.job.id))
    return out


def _with_id(job: Job, jid: str) -> Job:
    return replace(job, id=jid)


class Planner:
    """Collects one decision per job and builds the plan."""

    def __init__(self, inst: Instance, name: str) -> None:
        self.inst = inst
        self.name = name
        self.res = Residual(inst)
        self.decisions: dict[str, Decision] = {}
        self._late: set[str] = set()

    def run(self, view: JobView, candidates: tuple[int, ...]) -> bool:
        """Start the job now on the first of ``candidates`` with room (its current
        node first when it is one of them). False when none has room."""
        order = list(candidates)
        if view.current is not None and view.current in order:
            order.remove(view.current)
            order.insert(0, view.current)
        for i in order:
            if self.res.room(view.cls, i, 0) >= 1:
                self.res.take(view.cls, i, 0, 1)
                self._decide(view, i, 0)
                return True
        return False

    def wait(self, view: JobView, fallback: tuple[int, ...]) -> None:
        """Not now: a placement one slot from now on the first fallback offering with
        room there (quota and budget held like any placement; past a one-slot
        horizon nothing is held); unplaced when the job has no offering it may use
        (``NO_OFFERING``) or none has room (``QUOTA_FULL``)."""
        job = view.job
        if not fallback:
            self.decisions[job.id] = Decision(job.id, None, None, reason=Unplaced.NO_OFFERING)
            return
        inst = self.inst
        start = inst.problem.now + inst.problem.slot_s
        if inst.T < 2:
            i = fallback[0]
            cost = int(view.cls.member_cost[view.member, i, 0])
            off = inst.offering_ids[int(view.cls.offs[i])]
            self.decisions[job.id] = Decision(job.id, off, start, cost)
            return
        for i in fallback:
            if self.res.room(view.cls, i, 1) >= 1:
                self.res.take(view.cls, i, 1, 1)
                cost = int(view.cls.member_cost[view.member, i, 1])
                off = inst.offering_ids[int(view.cls.offs[i])]
                self.decisions[job.id] = Decision(job.id, off, start, cost)
                return
        self.decisions[job.id] = Decision(
            job.id, None, None, reason=Unplaced.QUOTA_FULL, until=inst.problem.horizon_end
        )

    def _decide(self, view: JobView, i: int, t: int) -> None:
        inst = self.inst
        job = view.job
        delay = float(start_delay(inst, [job], view.cls.offs)[0, i, t])
        start = inst.slot_start(t)
        late = start + delay + job.runtime_p_s > job.deadline
        cost = int(view.cls.member_cost[view.member, i, t])
        off = inst.offering_ids[int(view.cls.offs[i])]
        reason = Unplaced.DEADLINE_IMPOSSIBLE if late else None
        self.decisions[job.id] = Decision(job.id, off, start, cost, reason=reason, late=late)

    def finish(self) -> Plan:
        penalty = self.inst.problem.unplaced_penalty_micros
        objective = sum(
            penalty if not d.placed or d.late else d.expected_cost_micros
            for d in self.decisions.values()
        )
        unavoidable = penalty * sum(cls.n for cls in self.inst.classes if not cls.has_column)
        bound = min(quota_free_bound(self.inst), objective)
        return Plan(
            decisions=dict(self.decisions),
            objective_micros=objective,
            lower_bound_micros=bound,
            solver=self.name,
            stats={"classes": float(len(self.inst.classes))},
            unavoidable_micros=min(unavoidable, bound),
        )


def compile_views(problem: Problem) -> tuple[Instance, list[JobView]]:
    """The problem compiled for a rule-based policy. Spot outlooks are dropped: the
    rules do not use them, and without them columns cost the usual formula."""
    if any(j.spot_outlook is not None for j in problem.jobs):
        jobs = tuple(replace(j, spot_outlook=None) for j in problem.jobs)
        problem = replace(problem, jobs=jobs)
    inst = compile_problem(problem)
    return inst, job_views(inst)
