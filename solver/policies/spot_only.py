"""Spot only, with restart: the cheapest-market baseline that ignores deadlines.

Every job runs on spot whenever a spot offering it fits (and may use) is listed,
keeping the node it has, else on the cheapest one (any region), and waits otherwise;
after a preemption it starts again as soon as spot is back. It never uses on-demand,
so it may finish late: a placement that cannot end by the deadline is marked
``late``. A job with no spot offering listed now (or one that may not use spot) is
unplaced with ``NO_OFFERING``: there is no offering it may use at the moment.
"""

from __future__ import annotations

from solver.model import Plan, Problem
from solver.policies.heuristic import Planner, compile_views

NAME = "spot-only"


def spot_only(problem: Problem, *, time_limit_s: float, hint: Plan | None) -> Plan:
    inst, views = compile_views(problem)
    planner = Planner(inst, NAME)
    for view in views:
        if view.job.runtime_s > 0 and view.spot and planner.run(view, view.spot):
            continue
        planner.wait(view, view.spot)
    return planner.finish()
