"""Greedy placement: the baseline policy and the fallback when the optimizer times out.

Earliest deadline first; each job takes the cheapest offering (by expected cost,
see :mod:`solver.costing`) that can still finish it before its deadline and whose
quota pools have room now. Jobs that cannot start now stay unplaced with a reason.
A job that can no longer meet its deadline anywhere runs late rather than never:
on the offering that ends it soonest (on-demand, cheapest among equals), flagged
``late`` and penalized.

The lower bound reported is the sum over jobs of the cheapest feasible offering
ignoring quotas (or the unplaced penalty when none is feasible): a valid bound for
"start now" plans, loose under congestion.
"""

from __future__ import annotations

from solver.costing import expected_cost_micros, finishes_in_time, fits
from solver.model import Decision, Job, Market, Offering, Plan, Problem, Unplaced


def _quota_ok(off: Offering, free: dict[str, float]) -> bool:
    return all(free.get(pool, 0.0) + 1e-9 >= amount for pool, amount in off.quota_draw)


def solve_greedy(problem: Problem) -> Plan:
    free = {p.id: p.free for p in problem.quota_pools}
    decisions: dict[str, Decision] = {}
    objective = 0
    bound = 0
    order = sorted(problem.jobs, key=lambda j: (j.deadline, j.earliest_start, j.id))
    for job in order:
        decision = _place(job, problem, free)
        decisions[job.id] = decision
        if not decision.placed or decision.late:
            objective += problem.unplaced_penalty_micros
        objective += decision.expected_cost_micros
        bound += _cheapest_ignoring_quota(job, problem)
    return Plan(decisions, objective, min(bound, objective), solver="greedy")


def _place(job: Job, problem: Problem, free: dict[str, float]) -> Decision:
    if job.earliest_start > problem.now:
        return Decision(job.id, None, None, reason=Unplaced.NOT_YET)
    fitting = [o for o in problem.offerings if fits(job, o)]
    if not fitting:
        return Decision(job.id, None, None, reason=Unplaced.NO_OFFERING)
    timely = [o for o in fitting if finishes_in_time(job, o, problem.now)]
    late = not timely
    if late:
        on_demand = [o for o in fitting if o.market is Market.ON_DEMAND]
        if not on_demand:
            return Decision(job.id, None, None, reason=Unplaced.DEADLINE_IMPOSSIBLE)
        soonest = min(o.launch_delay_s for o in on_demand)
        timely = [o for o in on_demand if o.launch_delay_s == soonest]
    best: tuple[int, str, Offering] | None = None
    for off in timely:
        if not _quota_ok(off, free):
            continue
        key = (expected_cost_micros(job, off), off.id, off)
        if best is None or key[:2] < best[:2]:
            best = key
    if best is None:
        return Decision(job.id, None, None, reason=Unplaced.QUOTA_FULL)
    cost, _, off = best
    for pool, amount in off.quota_draw:
        free[pool] = free.get(pool, 0.0) - amount
    reason = Unplaced.DEADLINE_IMPOSSIBLE if late else None
    return Decision(
        job.id, off.id, problem.now, expected_cost_micros=cost, reason=reason, late=late
    )


def _cheapest_ignoring_quota(job: Job, problem: Problem) -> int:
    costs = [
        expected_cost_micros(job, o)
        for o in problem.offerings
        if fits(job, o) and finishes_in_time(job, o, max(problem.now, job.earliest_start))
    ]
    return min(costs, default=problem.unplaced_penalty_micros)
