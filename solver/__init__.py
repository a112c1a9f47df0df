"""The pure optimization core: ``solve(problem, *, time_limit_s, hint) -> Plan``.

No I/O, no clock, no globals; imports only numpy, pandas, ortools and the standard
library. Infeasibility is a result (a per-job reason), never an exception.

Formulation (one tick)
----------------------
Jobs that differ only in id form a class ``c`` with ``n_c`` jobs. Time is cut into
slots ``t = 0..T-1`` of ``slot_s`` seconds from now. A *column* ``(c, o, s)`` starts
one job of class ``c`` on offering ``o`` in slot ``s``; it exists only when ``o``
suits the job (resources, allowed clouds/regions, spot allowed), ``s`` is not before
the job's earliest start, and the job ends by its deadline at its *pessimistic*
runtime: ``start + launch_o + runtime_p <= deadline``, and on spot additionally
``+ checkpoint_interval + restart_overhead + launch_o``, i.e. spot only while the
slack still covers one preemption and an on-demand fallback. As slack runs out the
spot columns vanish and the job moves to on-demand (the "Uniform Progress" rule of
"Can't Be Late", NSDI'24, applied across every cloud, region and pool at once).

A job running now (``Job.running_on``) keeps its node in the column on that
offering in slot 0: no launch delay there, only what is left of the node's own
launch (``running_since``); every other column launches afresh.

A spot-allowed job with a :class:`~solver.model.SpotOutlook` (how spot capacity for
it comes and goes: an age-structured chain) has its columns priced instead by their
expected cost to finish, from a finite-horizon decision process over that chain
(wait / keep the node / start spot / start on-demand; :mod:`solver.outlook`): slot-0
columns at the value of starting (or keeping) that market now, later slots at the
value of waiting, each plus what sets its offering apart from the cheapest one of
its market. Without an outlook the solver knows only the present, as below.

Variables:
    x[c,o,s] >= 0 integer    jobs of class c started on o in slot s
    u[c]     >= 0 integer    jobs of class c left unplaced this tick

Objective (micro-dollars):
    min  sum cost[c,o,s] * x[c,o,s] + penalty * sum u[c]
    cost = compute + launch + rework + egress, at the mean price over the slots run
           (jobs with a spot outlook: the expected cost to finish, see above):
        compute = price x runtime;  launch = price x launch delay;
        rework  = price x hazard x runtime x (checkpoint interval / 2 + restart)  (spot)
        egress  = data GB x $/GB from the data's location to the offering's region
    penalty dominates any saving, so a job is left out only when it cannot fit.

Constraints:
    every job decided:   sum_{o,s} x[c,o,s] + u[c] = n_c                      (alpha_c)
    quota, per pool p and slot t (a node is held launch + pessimistic runtime):
        sum_{c,o,s : s <= t < s + hold[c,o]} draw[o,p] * x[c,o,s] <= free[p,t]   (pi_pt <= 0)
    budget, per tenant budget b (cost counted in the slot the job starts):
        sum_{c of b's tenant, s in b's window} cost[c,o,s] * x[c,o,s] <= limit_b  (mu_b <= 0)

Lower bound: for any pi <= 0, mu <= 0, relaxing quota and budget rows gives
    L = sum pi*free + sum mu*limit + sum_c n_c * min(penalty, min_{o,s} cost*(1-mu) - pi.use)
valid for the integer problem (:mod:`solver.pricing`). ``Plan.gap`` is
``(objective - L) / L``. Jobs that can meet their deadline nowhere are placed late
on on-demand when room is left (objective: penalty + cost); they count as
unplaced in the bound. Quota and budget hold only inside the horizon.

Pipeline (:mod:`solver.optimizer`): classes -> greedy seed -> column generation
(GLOP master, numpy pricing, warm start from the last plan's columns and prices)
-> LP-guided rounding -> CP-SAT polish with a full hint; greedy
(:mod:`solver.greedy`) is the baseline and the fallback when time runs out.
"""

from __future__ import annotations

from solver.explain import Explanation, Loss, Option, explain
from solver.greedy import solve_greedy
from solver.model import (
    Budget,
    CostBreakdown,
    Decision,
    EgressPrice,
    Job,
    Market,
    Offering,
    Plan,
    Problem,
    QuotaPool,
    SpotOutlook,
    Unplaced,
    WarmStart,
)
from solver.money import from_micros as money_from_micros
from solver.money import to_micros as money_to_micros
from solver.optimizer import solve_optimizer

__all__ = [
    "Budget",
    "CostBreakdown",
    "Decision",
    "EgressPrice",
    "Explanation",
    "Job",
    "Loss",
    "Market",
    "Offering",
    "Option",
    "Plan",
    "Problem",
    "QuotaPool",
    "SpotOutlook",
    "Unplaced",
    "WarmStart",
    "explain",
    "money_from_micros",
    "money_to_micros",
    "solve",
    "solve_greedy",
]


def solve(problem: Problem, *, time_limit_s: float = 2.0, hint: Plan | None = None) -> Plan:
    """Plan every job of ``problem`` within ``time_limit_s``; ``hint`` is the previous
    tick's plan (its decisions are kept when still feasible and no costlier)."""
    return solve_optimizer(problem, time_limit_s=time_limit_s, hint=hint)
