"""On-demand only: the optimizer with every job barred from spot.

The baseline every saving is measured against. Same pipeline, quotas, budgets and
deadlines as :func:`solver.solve`; only ``spot_allowed`` is cleared on every job,
so no spot offering is ever used (a job running on spot is moved off it).
"""

from __future__ import annotations

from dataclasses import replace

from solver.model import Plan, Problem
from solver.optimizer import solve_optimizer

NAME = "on-demand"


def on_demand(problem: Problem, *, time_limit_s: float, hint: Plan | None) -> Plan:
    jobs = tuple(replace(j, spot_allowed=False) for j in problem.jobs)
    plan = solve_optimizer(replace(problem, jobs=jobs), time_limit_s=time_limit_s, hint=hint)
    return replace(plan, solver=f"{NAME}/{plan.solver}")
