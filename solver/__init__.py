"""The pure optimization core: ``solve(problem, *, time_limit_s, hint) -> Plan``.

No I/O, no clock, no globals; imports only numpy, pandas, ortools and the standard
library. Infeasibility is a result (a per-job reason), never an exception.
Today the policy is the greedy baseline (:mod:`solver.greedy`); the OR-Tools
optimizer replaces it behind this same function.
"""

from __future__ import annotations

from solver.greedy import solve_greedy
from solver.model import Decision, Job, Market, Offering, Plan, Problem, QuotaPool, Unplaced
from solver.money import from_micros as money_from_micros
from solver.money import to_micros as money_to_micros

__all__ = [
    "Decision",
    "Job",
    "Market",
    "Offering",
    "Plan",
    "Problem",
    "QuotaPool",
    "Unplaced",
    "money_from_micros",
    "money_to_micros",
    "solve",
]


def solve(problem: Problem, *, time_limit_s: float = 2.0, hint: Plan | None = None) -> Plan:
    """Plan every job of ``problem``. ``hint`` is the previous tick's plan."""
    del time_limit_s, hint  # the greedy policy needs neither
    return solve_greedy(problem)
