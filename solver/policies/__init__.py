"""Scheduling policies behind one interface, for simulations and comparisons.

Every policy is a function ``policy(problem, *, time_limit_s, hint) -> Plan`` with the
contract of :func:`solver.solve`: pure, one decision per job, never raising on an
infeasible problem. :data:`POLICIES` maps the names scenario files and the CLI use to
them; :func:`get` looks one up with a clear error.

- ``optimizer``: what production runs (:func:`solver.solve`); with a job's
  :class:`~solver.SpotOutlook` it weighs spot now, on-demand now and waiting for
  spot at their expected cost to finish (:mod:`solver.outlook`).
- ``greedy``: the baseline, each job on its cheapest column (same costs).
- ``on-demand``: the optimizer with spot barred (:mod:`.on_demand`).
- ``spot-only``: spot whenever listed, never on-demand, may be late (:mod:`.spot_only`).
- ``uniform-progress``: the rules of "Can't Be Late" (NSDI'24) (:mod:`.uniform_progress`).

Conventions (see :mod:`.heuristic`): an offering listed in the problem can be launched
now -- a spot market out of capacity is simply not listed; ``Job.running_on`` names
the node a job runs on now, which it keeps without a new launch; a job told to wait
gets a placement one slot from now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from solver.greedy import solve_greedy
from solver.model import Plan, Problem
from solver.optimizer import solve_optimizer
from solver.policies.on_demand import on_demand
from solver.policies.spot_only import spot_only
from solver.policies.uniform_progress import uniform_progress


class Policy(Protocol):
    def __call__(self, problem: Problem, *, time_limit_s: float, hint: Plan | None) -> Plan: ...


def optimizer(problem: Problem, *, time_limit_s: float, hint: Plan | None) -> Plan:
    """The optimizer (column generation, rounding, CP-SAT polish): what production runs."""
    return solve_optimizer(problem, time_limit_s=time_limit_s, hint=hint)


def greedy(problem: Problem, *, time_limit_s: float, hint: Plan | None) -> Plan:
    """The baseline: jobs in order of least flexibility, each on its cheapest column."""
    return solve_greedy(problem)


POLICIES: dict[str, Callable[..., Plan]] = {
    "optimizer": optimizer,
    "greedy": greedy,
    "on-demand": on_demand,
    "spot-only": spot_only,
    "uniform-progress": uniform_progress,
}


def get(name: str) -> Policy:
    """The policy called ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return POLICIES[name]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise KeyError(f"unknown policy {name!r} (known: {known})") from None
