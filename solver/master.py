"""The restricted master LP of the column generation, solved by GLOP.

Columns are (class c, fitting offering i, start slot t). The model is rebuilt from
arrays every iteration as an ``MPModelProto`` (rows filled with whole index lists,
no per-coefficient Python calls) and solved with the dual simplex; that measured
faster here than keeping an incremental solver. Costs enter in dollars (micro-dollars
/ 1e6) to keep GLOP's tolerances meaningful; duals come back in micro-dollars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import linear_solver_pb2 as lp  # type: ignore[attr-defined]
from ortools.linear_solver import pywraplp  # type: ignore[attr-defined]
from ortools.linear_solver.python import model_builder_helper as mbh

from solver.instance import F64, I64, UNLIMITED, Instance

SCALE = 1e-6
#: Dual simplex without presolve: measured 3-4x faster on these masters (presolve
#: costs more than it saves on a model rebuilt every round) and numerically steadier.
GLOP_PARAMS = "use_dual_simplex: true, use_preprocessing: false"


@dataclass
class Columns:
    c: I64
    i: I64
    t: I64

    @classmethod
    def empty(cls) -> Columns:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.copy(), z.copy())

    def __len__(self) -> int:
        return int(self.c.size)

    def add(self, c: I64, i: I64, t: I64) -> Columns:
        """Union with new columns (duplicates dropped, order kept deterministic)."""
        cc = np.concatenate([self.c, c])
        ii = np.concatenate([self.i, i])
        tt = np.concatenate([self.t, t])
        _, first = np.unique(np.stack([cc, ii, tt]), axis=1, return_index=True)
        keep = np.sort(first)
        return Columns(cc[keep], ii[keep], tt[keep])


@dataclass
class MasterSolution:
    x: F64
    unplaced: F64
    objective: float
    #: Duals in micro-dollars: class rows, pool x slot (P + 1, T; <= 0), budgets (<= 0,
    #: per micro-dollar). For the most-placed phase: in jobs instead of micro-dollars.
    alpha: F64
    pi: F64
    mu: F64


def lp_penalty(inst: Instance) -> float:
    """The unplaced penalty the LP sees: ten times the costliest column plus a dollar,
    capped at the real one. A 1e12 penalty next to one-cent columns leaves GLOP's
    simplex imprecise; this one still makes placing any job beat leaving it out, and
    the bound (priced with the real penalty) and the final plan do not depend on it."""
    costliest = max(
        (int(cls.cost[cls.feasible].max()) for cls in inst.classes if cls.has_column), default=0
    )
    return float(min(inst.problem.unplaced_penalty_micros, 10 * costliest + 1_000_000))


def column_costs(inst: Instance, cols: Columns, *, budget: bool = False) -> F64:
    """Per column: the class's mean cost, or with ``budget`` its members' highest."""
    triples = zip(cols.c.tolist(), cols.i.tolist(), cols.t.tolist(), strict=True)
    if budget:
        return np.array([inst.classes[c].budget_cost[i, t] for c, i, t in triples], np.float64)
    return np.array([inst.classes[c].cost[i, t] for c, i, t in triples], np.float64)


def _pool_entries(inst: Instance, cols: Columns) -> tuple[I64, I64, F64]:
    """(row key p * T + slot, column index, amount) for every quota coefficient."""
    T = inst.T
    keys: list[I64] = []
    idx: list[I64] = []
    amts: list[F64] = []
    o = np.array(
        [inst.classes[c].offs[i] for c, i in zip(cols.c, cols.i, strict=True)], dtype=np.int64
    )
    occ = np.array(
        [inst.classes[c].occupancy[i] for c, i in zip(cols.c, cols.i, strict=True)], dtype=np.int64
    )
    length = np.minimum(cols.t + occ, T) - cols.t
    for k in range(inst.draw_pool.shape[1]):
        pool = inst.draw_pool[o, k] if o.size else np.zeros(0, dtype=np.int64)
        amt = inst.draw_amt[o, k] if o.size else np.zeros(0)
        limited = (amt > 0) & (pool < inst.P)
        if limited.any():
            limited &= inst.capacity[np.minimum(pool, inst.P), 0] < UNLIMITED
        sel = np.flatnonzero(limited)
        if not sel.size:
            continue
        reps = length[sel]
        col = np.repeat(sel, reps)
        offset = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
        slot = np.repeat(cols.t[sel], reps) + offset
        keys.append(np.repeat(pool[sel], reps) * T + slot)
        idx.append(col)
        amts.append(np.repeat(amt[sel], reps))
    if not keys:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(keys), np.concatenate(idx), np.concatenate(amts)


def build_model(
    inst: Instance, cols: Columns, *, most_placed: bool = False, integer: bool = False
) -> tuple[lp.MPModelProto, I64]:
    """The class-level time-indexed model over ``cols`` (see :mod:`solver`), in dollars:
    variables x_k (one per column) then u_c (one per class); rows: one per class, one
    per (pool, slot) some column holds, one per budget. Returns it and the pool rows'
    keys (pool * T + slot). ``integer`` makes x and u integer (for an exact solve)."""
    C = len(inst.classes)
    T = inst.T
    n = np.array([cls.n for cls in inst.classes], dtype=np.float64)
    cost = column_costs(inst, cols)
    penalty = 1.0 if most_placed else lp_penalty(inst) * SCALE
    objective = np.zeros(len(cols)) if most_placed else cost * SCALE
    model = lp.MPModelProto()
    for k in range(len(cols)):
        # No upper bound: the class row caps x, and a bounded column at its bound
        # would show a negative reduced cost that pricing would offer again forever.
        model.variable.add(
            lower_bound=0.0,
            upper_bound=np.inf,
            objective_coefficient=objective[k],
            is_integer=integer,
        )
    for _ in range(C):
        model.variable.add(
            lower_bound=0.0, upper_bound=np.inf, objective_coefficient=penalty, is_integer=integer
        )
    nx = len(cols)
    # class rows: sum_k x_k + u_c = n_c
    order = np.argsort(cols.c, kind="stable")
    bounds = np.searchsorted(cols.c[order], np.arange(C + 1))
    for c in range(C):
        members = order[bounds[c] : bounds[c + 1]]
        row = model.constraint.add(lower_bound=float(n[c]), upper_bound=float(n[c]))
        row.var_index.extend([*members.tolist(), nx + c])
        row.coefficient.extend([1.0] * (members.size + 1))
    # quota rows: sum over columns holding pool p in slot t <= free capacity
    keys, col_idx, amts = _pool_entries(inst, cols)
    pool_rows = np.unique(keys)
    if keys.size:
        korder = np.argsort(keys, kind="stable")
        kb = np.searchsorted(keys[korder], pool_rows)
        ke = np.append(kb[1:], keys.size)
        for r, key in enumerate(pool_rows):
            sel = korder[kb[r] : ke[r]]
            p, t = divmod(int(key), T)
            row = model.constraint.add(lower_bound=-np.inf, upper_bound=float(inst.capacity[p, t]))
            row.var_index.extend(col_idx[sel].tolist())
            row.coefficient.extend(amts[sel].tolist())
    # budget rows: expected cost of the tenant's columns starting in its window <= limit
    # budget rows: expected cost of the tenant's columns starting in its window <= limit
    if inst.budgets:
        member = (
            np.stack(
                [inst.classes[c].budget_mask[:, t] for c, t in zip(cols.c, cols.t, strict=True)]
            )
            if len(cols)
            else np.zeros((0, len(inst.budgets)), dtype=bool)
        )
        bcost = column_costs(inst, cols, budget=True)
        for b, (_, _, _, limit) in enumerate(inst.budgets):
            sel = np.flatnonzero(member[:, b])
            row = model.constraint.add(lower_bound=-np.inf, upper_bound=limit * SCALE)
            row.var_index.extend(sel.tolist())
            row.coefficient.extend((bcost[sel] * SCALE).tolist())
    return model, pool_rows


def solve_master(
    inst: Instance, cols: Columns, *, time_limit_s: float, most_placed: bool = False
) -> MasterSolution:
    """The master LP over ``cols``. With ``most_placed`` it is the first phase of the
    lexicographic objective instead: fewest jobs unplaced, costs ignored (one "dollar"
    per unplaced job); its duals, scaled by the real penalty, price what quota costs
    when it forces jobs out (see :func:`solver.optimizer.solve_optimizer`)."""
    C = len(inst.classes)
    T = inst.T
    nx = len(cols)
    model, pool_rows = build_model(inst, cols, most_placed=most_placed)
    request = lp.MPModelRequest(
        model=model,
        solver_type=lp.MPModelRequest.GLOP_LINEAR_PROGRAMMING,
        solver_specific_parameters=GLOP_PARAMS,
        solver_time_limit_seconds=max(0.05, time_limit_s),
    )
    resp = solve_request(request)
    if resp.status == lp.MPSOLVER_ABNORMAL:
        # GLOP flags a numerically imprecise basis; the primal simplex usually settles.
        request.solver_specific_parameters = "use_dual_simplex: false"
        resp = solve_request(request)
    if resp.status not in (lp.MPSOLVER_OPTIMAL, lp.MPSOLVER_FEASIBLE) or not resp.variable_value:
        raise MasterFailed(f"GLOP status {lp.MPSolverResponseStatus.Name(resp.status)}")
    values = np.asarray(resp.variable_value, dtype=np.float64)
    # Back to micro-dollars (or, with most_placed, to jobs per unit of each row).
    unit = 1.0 if most_placed else SCALE
    duals = np.asarray(resp.dual_value, dtype=np.float64) / unit
    pi = np.zeros((inst.P + 1, T))
    if pool_rows.size:
        rp, rt = np.divmod(pool_rows, T)
        pi[rp, rt] = np.minimum(duals[C : C + pool_rows.size], 0.0)
    mu = np.minimum(duals[C + pool_rows.size :] * SCALE, 0.0)  # per dollar of budget: unitless
    return MasterSolution(
        x=values[:nx],
        unplaced=values[nx:],
        objective=resp.objective_value / unit,
        alpha=duals[:C],
        pi=pi,
        mu=mu,
    )


def solve_request(request: lp.MPModelRequest) -> lp.MPSolutionResponse:
    if request.solver_type == lp.MPModelRequest.GLOP_LINEAR_PROGRAMMING:
        raw = mbh.ModelSolverHelper("glop").solve_serialized_request(request.SerializeToString())
        return lp.MPSolutionResponse.FromString(raw)
    # The model-builder helper passes an interrupter, which SCIP does not support.
    response = lp.MPSolutionResponse()
    pywraplp.Solver.SolveWithProto(request, response)
    return response


class MasterFailed(RuntimeError):
    """GLOP found no solution in time (the caller falls back to greedy)."""
