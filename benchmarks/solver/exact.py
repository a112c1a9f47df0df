"""The exact optimum of a benchmark instance: the class-level time-indexed integer program.

Built from :class:`~benchmarks.solver.reference.Reference` alone (never the solver's
internals): one integer variable per (class of identical jobs, offering, start slot)
that is timely, at most the class's size per class; every pool x slot within quota;
every budget kept. Solved lexicographically like the test referee
(``tests/unit/solver/referee.py``): most jobs placed in time first, then least cost,
so the $1M penalty never sits next to cents in one objective. Jobs with no timely
column are left unplaced (the solver may place them late; both count their penalty).

Fine for the 1k and 10k instances (60 and 669 classes, 2k and 34k columns: well under
10 s); the 100k one (6.7k classes) and the all-distinct one (10k classes, 515k
columns) are too big for a benchmark run, so ``run.py`` solves it only up to
:data:`MAX_CLASSES` classes. It tells how far *any* plan could get below greedy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp  # type: ignore[attr-defined]

from benchmarks.solver.reference import Reference

#: Largest instance (classes of identical jobs) ``run.py`` solves exactly.
MAX_CLASSES = 2_000


@dataclass(frozen=True)
class ExactResult:
    #: "optimal", "feasible" (time ran out with a solution) or "none".
    status: str
    placed: int
    unplaced: int
    #: Cost of the jobs placed in time, penalties excluded, in dollars.
    cost: float
    #: SCIP's bound on that cost (given ``placed`` jobs placed), in dollars.
    cost_bound: float
    wall_s: float
    columns: int


def solve_exact(ref: Reference, *, time_limit_s: float) -> ExactResult:
    t0 = time.perf_counter()
    p = ref.problem
    m = pywraplp.Solver.CreateSolver("SCIP")
    if m is None:  # pragma: no cover - ortools ships SCIP
        raise RuntimeError("SCIP is not available in this ortools build")
    groups = ref.groups()
    starts = ref.starts
    xs: list[pywraplp.Variable] = []
    costs: list[float] = []
    sizes: list[int] = []
    quota: dict[tuple[int, int], list[tuple[float, int]]] = {}
    budget: dict[int, list[tuple[float, int]]] = {}
    for g in groups:
        mine = []
        for o, t in zip(*np.nonzero(g.timely), strict=True):
            k = len(xs)
            xs.append(m.IntVar(0, len(g.ids), ""))
            mine.append(xs[k])
            cost = float(g.cost[o, t]) / 1e6
            costs.append(cost)
            sizes.append(len(g.ids))
            for s in range(int(t), min(ref.T, int(t) + int(g.hold[o]))):
                for pool, amt in ref.draws[o]:
                    if np.isfinite(ref.capacity[pool, s]):
                        quota.setdefault((pool, s), []).append((amt, k))
            for b, bud in enumerate(p.budgets):
                if bud.tenant == g.job.tenant and bud.window_start <= starts[t] < bud.window_end:
                    budget.setdefault(b, []).append((cost, k))
                    break
        if mine:
            m.Add(m.Sum(mine) <= len(g.ids))
    for (pool, s), terms in quota.items():
        cap = float(ref.capacity[pool, s])
        if sum(a * sizes[k] for a, k in terms) > cap:  # else it cannot bind
            m.Add(m.Sum([a * xs[k] for a, k in terms]) <= cap)
    for b, terms in budget.items():
        m.Add(m.Sum([c * xs[k] for c, k in terms]) <= p.budgets[b].limit_micros / 1e6)
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, 1e-7)
    jobs = len(p.jobs)

    def left() -> float:
        return time_limit_s - (time.perf_counter() - t0)

    def none() -> ExactResult:
        wall = time.perf_counter() - t0
        return ExactResult("none", 0, jobs, float("nan"), float("nan"), wall, len(xs))

    if not xs:
        return ExactResult("optimal", 0, jobs, 0.0, 0.0, time.perf_counter() - t0, 0)
    placed = m.Sum(xs)
    m.SetTimeLimit(max(1, int(left() * 1000)))
    m.Maximize(placed)
    status = m.Solve(params)
    if status != pywraplp.Solver.OPTIMAL:
        # Not even the most that can be placed is known: no cost figure to report.
        return none()
    most = round(m.Objective().Value())
    m.Add(placed >= most)
    m.Minimize(m.Sum([c * x for c, x in zip(costs, xs, strict=True)]))
    if left() <= 0:
        return none()
    m.SetTimeLimit(max(1, int(left() * 1000)))
    status = m.Solve(params)
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return none()
    return ExactResult(
        "optimal" if status == pywraplp.Solver.OPTIMAL else "feasible",
        most,
        jobs - most,
        float(m.Objective().Value()),
        float(m.Objective().BestBound()),
        time.perf_counter() - t0,
        len(xs),
    )
