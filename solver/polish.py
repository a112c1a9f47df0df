"""CP-SAT polish: a short integer search over a restricted set of columns.

The columns are the rounded plan's, the LP's support and the few cheapest per class
under the LP's prices; the rounded plan is the full hint, so CP-SAT starts from a
feasible solution and only has to improve it. Quota amounts are scaled to integers
(thousandths, rounded up; capacities rounded down), so a solution CP-SAT accepts is
feasible for the real amounts. Two workers: on 2 cores more workers only hurt.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from ortools.sat.python import cp_model

from solver.capacity import Placement
from solver.instance import UNLIMITED, Instance
from solver.master import Columns

AMOUNT_SCALE = 1000


class _StopWhenGoodEnough(cp_model.CpSolverSolutionCallback):
    def __init__(self, target: float) -> None:
        super().__init__()
        self.target = target

    def on_solution_callback(self) -> None:
        if self.objective_value <= self.target:
            self.stop_search()


def polish(
    inst: Instance,
    cols: Columns,
    start: Sequence[Placement],
    *,
    deadline: float,
    good_enough: float,
) -> list[Placement] | None:
    """A plan cheaper than ``start`` over ``cols`` (which must contain it), or ``None``
    when CP-SAT found nothing better by ``deadline`` (a ``time.perf_counter()`` value;
    building the model counts). The search stops as soon as a plan's objective (with
    penalties) is at most ``good_enough``."""
    if deadline - time.perf_counter() <= 0.05 or not len(cols):
        return None
    T = inst.T
    penalty = inst.problem.unplaced_penalty_micros
    n = [cls.n for cls in inst.classes]
    model = cp_model.CpModel()
    x = [model.new_int_var(0, n[int(c)], "") for c in cols.c]
    by_class: dict[int, list[int]] = {}
    for k, c in enumerate(cols.c.tolist()):
        by_class.setdefault(c, []).append(k)
    for c, ks in by_class.items():
        model.add(sum(x[k] for k in ks) <= n[c])
    cost = [int(inst.classes[c].cost[i, t]) for c, i, t in zip(cols.c, cols.i, cols.t, strict=True)]
    # quota rows that could bind: pool p, slot t
    rows: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for k, (c, i, t) in enumerate(
        zip(cols.c.tolist(), cols.i.tolist(), cols.t.tolist(), strict=True)
    ):
        cls = inst.classes[c]
        o = int(cls.offs[i])
        end = min(t + int(cls.occupancy[i]), T)
        for kk in range(inst.draw_pool.shape[1]):
            p, amt = int(inst.draw_pool[o, kk]), float(inst.draw_amt[o, kk])
            if amt <= 0 or p >= inst.P or inst.capacity[p, 0] >= UNLIMITED:
                continue
            scaled = math.ceil(amt * AMOUNT_SCALE - 1e-9)
            for s in range(t, end):
                rows.setdefault((p, s), []).append((k, scaled))
    for (p, s), terms in rows.items():
        cap = math.floor(float(inst.capacity[p, s]) * AMOUNT_SCALE + 1e-6)
        most = sum(a * n[int(cols.c[k])] for k, a in terms)
        if most > cap:
            model.add(sum(a * x[k] for k, a in terms) <= cap)
    for b, (_, _, _, limit) in enumerate(inst.budgets):
        ks = [
            k
            for k, (c, t) in enumerate(zip(cols.c.tolist(), cols.t.tolist(), strict=True))
            if inst.classes[c].budget_mask[b, t]
        ]
        if ks:
            bcost = [
                int(inst.classes[int(cols.c[k])].budget_cost[cols.i[k], cols.t[k]]) for k in ks
            ]
            model.add(sum(bc * x[k] for bc, k in zip(bcost, ks, strict=True)) <= limit)
    model.minimize(sum((cost[k] - penalty) * x[k] for k in range(len(cols))))
    index = {
        (int(c), int(i), int(t)): k
        for k, (c, i, t) in enumerate(zip(cols.c, cols.i, cols.t, strict=True))
    }
    counts = np.zeros(len(cols), dtype=np.int64)
    for pl in start:
        counts[index[(pl.c, pl.i, pl.t)]] += pl.count
    for k, v in enumerate(counts.tolist()):
        model.add_hint(x[k], v)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    time_limit_s = deadline - time.perf_counter()
    if time_limit_s <= 0.05:
        return None
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.log_search_progress = False
    offset = sum(n) * penalty  # the objective above leaves out sum_c n_c * penalty
    status = solver.solve(model, _StopWhenGoodEnough(good_enough - offset))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    start_obj = int(sum((cost[k] - penalty) * int(v) for k, v in enumerate(counts.tolist())))
    if solver.objective_value >= start_obj:
        return None
    out: list[Placement] = []
    for k in range(len(cols)):
        v = int(solver.value(x[k]))
        if v:
            out.append(Placement(int(cols.c[k]), int(cols.i[k]), int(cols.t[k]), v))
    return out
