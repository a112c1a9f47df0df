"""Greedy placement: the baseline policy and the optimizer's fallback.

Classes in order of their latest possible start (deadline minus pessimistic
runtime), earliest first; each job takes the cheapest column -- offering and start
slot -- that still finishes in time and has room in every quota pool and budget
(ties: the earlier start). No look-ahead: a job never yields a cheap pool to a
later job that needed it more, which is where it loses to the optimizer.

Its lower bound is the quota-free one: each job at its cheapest timely column, or
the unplaced penalty when it has none. Valid, but loose under congestion.
"""

from __future__ import annotations

import numpy as np

from solver.assemble import finish_plan
from solver.capacity import Placement, Residual
from solver.instance import F64, Instance, JobClass, compile_problem
from solver.model import Plan, Problem


def greedy_key(inst: Instance, cls: JobClass) -> F64:
    """Cost first, then the earlier slot (costs are integers, exact in float64)."""
    key: F64 = cls.cost.astype(np.float64) * (inst.T + 1) + np.arange(inst.T)[None, :]
    return key


def greedy_placements(inst: Instance, res: Residual | None = None) -> list[Placement]:
    res = res or Residual(inst)
    order = sorted(
        range(len(inst.classes)),
        key=lambda c: (
            inst.classes[c].job.deadline - inst.classes[c].job.runtime_p_s,
            inst.classes[c].job_ids[0],
        ),
    )
    out: list[Placement] = []
    for c in order:
        cls = inst.classes[c]
        if cls.has_column:
            out.extend(res.fill(c, cls, cls.n, greedy_key(inst, cls)))
    return out


def quota_free_bound(inst: Instance) -> int:
    penalty = inst.problem.unplaced_penalty_micros
    total = 0
    for cls in inst.classes:
        for m, count in enumerate(cls.member_n.tolist()):
            own = cls.member_cost[m][cls.feasible]
            best = int(own.min()) if own.size else penalty
            total += count * min(best, penalty)
    return total


def solve_greedy_instance(inst: Instance) -> Plan:
    return finish_plan(
        inst, greedy_placements(inst), lower_bound=quota_free_bound(inst), solver="greedy"
    )


def solve_greedy(problem: Problem) -> Plan:
    return solve_greedy_instance(compile_problem(problem))
