"""Uniform Progress, the policy of "Can't Be Late: Optimizing Spot Instance Savings
under Deadlines" (Wu, Chiang, Mao, Yang, Friedman, Shenker, Stoica; NSDI'24).

The paper's rules, for a job of total work ``C0`` due ``R0`` after it arrived, at time
``t`` since arrival with work ``done`` and restart overhead ``d``; the expected
progress line is ``ep(t) = t * C0 / R0``:

1. *Uniform progress*: idle and behind the line (``done < ep(t)``) -> on-demand.
2. *Taking risks / exploitation*: spot whenever it is there, even when behind; stay
   on spot until it is preempted.
3. *Hysteresis*: on on-demand, stay there until ``done >= ep(t + 2d)``; while no
   spot is there, stay on on-demand (never idle from on-demand).
4. *Safety net*: idle or on on-demand and the time left, in whole ticks, is no
   more than ``ceil((remaining + 2d) / tick)`` ticks -> on-demand for good. At
   ``ceil((remaining + d) / tick)`` ticks a running spot node (past its restart) is
   kept until it is preempted, anything else goes on-demand; with ``d = 0`` spot is
   always taken when there.

Their precedence is that of the authors' simulator (the ``rc_cr_threshold``
strategy of the paper's artifact, ``sky_spot/strategies``), which this module
follows rule for rule::

    request = SPOT if has_spot else NONE
    if done - t * C0 / R0 < 0:                   request = SPOT if has_spot else OD
    if on OD and (not has_spot or (t + 2d) * C0 / R0 - done >= 0):   request = OD
    if ceil((C + 2d) / g) * g >= floor((R) / g) * g and not on spot: request = OD
    if ceil((C + d) / g) * g >= floor((R) / g) * g:
        request = SPOT if on spot and past its restart else OD
        if d == 0 and has_spot:                  request = SPOT

where ``C`` is the remaining work, ``R`` the time to the deadline and ``g`` the tick.

Mapping onto a :class:`~solver.model.Problem`: the tick ``g`` is ``Problem.slot_s``;
``C0`` is ``Job.total_runtime_s`` (``runtime_s`` when 0), ``done = C0 - runtime_s``,
the arrival is ``Job.arrival`` (``now`` when 0); ``C`` in the safety net is the
pessimistic remaining runtime ``runtime_p_s``; ``d`` is the slowest launch among the
job's offerings plus its restore and checkpoint interval (what one restart can
lose). "Spot is there" means a spot offering the job fits is listed; "on spot" /
"on on-demand" is the market of ``Job.running_on`` when that offering is listed,
and "past its restart" means its launch is over (``Job.running_since``). SPOT runs
the job on the node it has, else on the cheapest listed spot offering (any region:
over many regions this is the "any region with spot" reading; a round-robin over
regions is the caller's, by listing one region at a time); OD likewise on
on-demand; NONE waits (see :mod:`solver.policies.heuristic`).
"""

from __future__ import annotations

import math

from solver.model import Market, Plan, Problem
from solver.policies.heuristic import JobView, Planner, compile_views

NAME = "uniform-progress"


class Request:
    NONE = "none"
    SPOT = "spot"
    ON_DEMAND = "on-demand"


def request(view: JobView, now: int, tick_s: int) -> str:
    """The paper's decision for one job: :attr:`Request.SPOT`, ``ON_DEMAND`` or
    ``NONE``."""
    job = view.job
    c0 = float(job.total_runtime_s or job.runtime_s)
    remaining = float(job.runtime_p_s)
    done = max(0.0, c0 - job.runtime_s)
    arrival = job.arrival or now
    r0 = float(job.deadline - arrival)
    t = float(now - arrival)
    d = view.restart_s
    g = float(max(1, tick_s))
    if job.runtime_s <= 0:
        return Request.NONE
    has_spot = view.has_spot
    on_spot = view.current_market is Market.SPOT
    on_od = view.current_market is Market.ON_DEMAND
    req = Request.SPOT if has_spot else Request.NONE
    if done - _expected(t, c0, r0) < 0:  # behind the line
        req = Request.SPOT if has_spot else Request.ON_DEMAND
    if on_od and (not has_spot or _expected(t + 2 * d, c0, r0) - done >= 0):  # hysteresis
        req = Request.ON_DEMAND
    time_left = math.floor((job.deadline - now) / g) * g
    need_1d = math.ceil((remaining + d) / g) * g
    need_2d = math.ceil((remaining + 2 * d) / g) * g
    if need_2d >= time_left and not on_spot:  # safety net
        req = Request.ON_DEMAND
    if need_1d >= time_left:
        req = Request.SPOT if on_spot and view.pending_s < 1e-3 else Request.ON_DEMAND
        if d == 0 and has_spot:
            req = Request.SPOT
    return req


def _expected(at: float, c0: float, r0: float) -> float:
    """The line ``ep(at) = at * C0 / R0``; a job due already is as far behind as can be."""
    return at * c0 / r0 if r0 > 0 else math.inf


def uniform_progress(problem: Problem, *, time_limit_s: float, hint: Plan | None) -> Plan:
    """Each job by the paper's rules (see the module docstring)."""
    inst, views = compile_views(problem)
    planner = Planner(inst, NAME)
    for view in views:
        req = request(view, problem.now, problem.slot_s)
        if req == Request.SPOT and planner.run(view, view.spot):
            continue
        if req == Request.ON_DEMAND and planner.run(view, view.on_demand):
            continue
        planner.wait(view, view.on_demand or view.spot)
    return planner.finish()
