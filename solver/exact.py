"""Small instances, solved exactly: the full time-indexed integer program by SCIP.

When every column of every class fits in a few thousand variables, SCIP (bundled with
OR-Tools) proves the optimum of the whole model in well under a second, where the LP
bound alone can sit a few percent below it (large nodes, few jobs per class). Its dual
bound is certified for the full problem: the model charges the LP's scaled-down
penalty (:func:`solver.master.lp_penalty`), which never exceeds the real one, so any
lower bound on it bounds the real objective too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from ortools.linear_solver import linear_solver_pb2 as lp  # type: ignore[attr-defined]

from solver.capacity import EPS, Placement, Residual
from solver.instance import Instance
from solver.master import SCALE, Columns, build_model, solve_request

#: Instances with at most this many columns in all are solved exactly.
EXACT_MAX_COLUMNS = 6000


def all_columns(inst: Instance) -> Columns:
    c: list[int] = []
    i: list[int] = []
    t: list[int] = []
    for k, cls in enumerate(inst.classes):
        ii, tt = np.nonzero(cls.feasible)
        c.extend([k] * ii.size)
        i.extend(ii.tolist())
        t.extend(tt.tolist())
    return Columns(*(np.array(v, dtype=np.int64) for v in (c, i, t)))


def column_count(inst: Instance) -> int:
    return sum(int(cls.feasible.sum()) for cls in inst.classes)


def solve_exact(
    inst: Instance, start: Sequence[Placement], *, deadline: float
) -> tuple[list[Placement] | None, int | None]:
    """(SCIP's best plan, or ``None`` when it found none in time or one that breaks a
    pool by float tolerance; its certified lower bound in micro-dollars, or ``None``)."""
    left = deadline - time.perf_counter()
    if left <= 0.05:
        return None, None
    cols = all_columns(inst)
    model, _ = build_model(inst, cols, integer=True)
    index = {
        (int(c), int(i), int(t)): k
        for k, (c, i, t) in enumerate(zip(cols.c, cols.i, cols.t, strict=True))
    }
    counts = np.zeros(len(cols) + len(inst.classes), dtype=np.int64)
    for pl in start:
        counts[index[(pl.c, pl.i, pl.t)]] += pl.count
    for c, cls in enumerate(inst.classes):
        counts[len(cols) + c] = cls.n - int(counts[: len(cols)][cols.c == c].sum())
    model.solution_hint.var_index.extend(range(counts.size))
    model.solution_hint.var_value.extend(counts.astype(np.float64).tolist())
    left = deadline - time.perf_counter()
    if left <= 0.05:
        return None, None
    request = lp.MPModelRequest(
        model=model,
        solver_type=lp.MPModelRequest.SCIP_MIXED_INTEGER_PROGRAMMING,
        solver_time_limit_seconds=left,
    )
    resp = solve_request(request)
    bound = None
    if resp.status in (lp.MPSOLVER_OPTIMAL, lp.MPSOLVER_FEASIBLE) and resp.HasField(
        "best_objective_bound"
    ):
        raw = resp.best_objective_bound / SCALE
        bound = math.floor(raw - 1e-6 * abs(raw)) - 1
    if resp.status not in (lp.MPSOLVER_OPTIMAL, lp.MPSOLVER_FEASIBLE) or not resp.variable_value:
        return None, bound
    x = np.rint(np.asarray(resp.variable_value[: len(cols)])).astype(np.int64)
    res = Residual(inst)
    out: list[Placement] = []
    for k in np.flatnonzero(x > 0).tolist():
        pl = Placement(int(cols.c[k]), int(cols.i[k]), int(cols.t[k]), int(x[k]))
        res.take(inst.classes[pl.c], pl.i, pl.t, pl.count)
        out.append(pl)
    if (res.cap < -EPS).any() or (res.budget < -1e-6).any():
        return None, bound
    return out, bound
