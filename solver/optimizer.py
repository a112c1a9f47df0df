"""The optimizer's pipeline, within a wall-clock budget.

1. compile: jobs into classes, offerings and pools into arrays (:mod:`solver.instance`);
2. column generation: restricted master LP (GLOP) <-> pricing of every column in
   numpy, seeded with each class's cheapest column, last tick's columns and the
   cheapest columns under last tick's prices; every pricing round also yields a
   certified lower bound;
3. LP-guided rounding to an integer plan (from the last master solved, even when
   column generation ran out of time);
4. CP-SAT polish over a restricted column set with that plan as full hint;
5. stability: last tick's plan, still feasible and no costlier, is kept as is.

Each stage checks the clock. Should not even one master LP be solved in time, the
greedy policy places the jobs; the bound is always the best one certified so far.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import numpy as np

from solver.assemble import finish_plan, objective_of
from solver.capacity import EPS, Placement, Residual
from solver.exact import EXACT_MAX_COLUMNS, column_count, solve_exact
from solver.greedy import greedy_placements, quota_free_bound
from solver.instance import F64, Instance, compile_problem
from solver.master import Columns, MasterFailed, MasterSolution, solve_master
from solver.model import Decision, Plan, Problem, WarmStart
from solver.polish import polish
from solver.pricing import price
from solver.repair import repair
from solver.rounding import round_lp

#: Share of the time left after compiling that column generation may use.
CG_SHARE = 0.7
#: Time kept back for turning counts into decisions.
RESERVE_S = 0.05
ASSEMBLY_S_PER_JOB = 25e-6
#: What greedy takes (measured 15-21 us a job), so it starts only when it can finish.
GREEDY_S_PER_JOB = 25e-6
#: Polish is not started with less time than this left (building its model takes some).
POLISH_LEAST_S = 0.3
#: Polish stops at this gap to the certified bound (avoidable cost only) ...
TARGET_GAP = 5e-4
#: ... or after this share of the budget (at least POLISH_MIN_S), whichever is first.
POLISH_SHARE = 0.25
POLISH_MIN_S = 1.0
#: Columns polish sees for classes sharing a pool with a class the plan leaves out.
NEIGHBOUR_COLUMNS = 5
#: Columns per class that pricing adds per round, and that polish sees.
PER_CLASS = 3


def solve_optimizer(problem: Problem, *, time_limit_s: float, hint: Plan | None) -> Plan:
    t0 = time.perf_counter()
    stop = t0 + max(0.1, time_limit_s)
    stats: dict[str, float] = {}
    inst = compile_problem(problem)
    stats["compile_s"] = time.perf_counter() - t0
    bound = quota_free_bound(inst)
    unavoidable = float(
        problem.unplaced_penalty_micros * sum(c.n for c in inst.classes if not c.has_column)
    )
    cols = _seed(inst, hint.warm if hint else None)
    if hint and hint.warm and (hint.warm.pool_prices or hint.warm.budget_prices):
        pi, mu = _warm_prices(inst, hint.warm)
        seeded = price(inst, pi, mu, _everything(inst), per_class=PER_CLASS)
        bound = max(bound, seeded.bound)
        cols = cols.add(seeded.c, seeded.i, seeded.t)
    sol: MasterSolution | None = None
    sol_cols = cols
    rounds = 0
    lp_done = False
    # Turning class counts into per-job decisions takes time too.
    work_stop = stop - RESERVE_S - ASSEMBLY_S_PER_JOB * len(problem.jobs)
    started = time.perf_counter()
    cg_stop = started + CG_SHARE * (work_stop - started)
    last_round = 0.0
    while time.perf_counter() + last_round < cg_stop:
        round_started = time.perf_counter()
        try:
            sol = solve_master(inst, cols, time_limit_s=stop - time.perf_counter())
        except MasterFailed:
            break
        sol_cols = cols
        rounds += 1
        priced = price(inst, sol.pi, sol.mu, sol.alpha, per_class=PER_CLASS)
        bound = max(bound, priced.bound)
        if not priced.c.size:
            lp_done = True
            break
        cols = cols.add(priced.c, priced.i, priced.t)
        # the next round has more columns: expect it to take a little longer
        last_round = 1.2 * (time.perf_counter() - round_started)
    if sol is not None and lp_done and _blocked(inst, sol):
        bound = max(bound, _lexicographic_bound(inst, sol_cols, sol, stop))
    stats.update(
        cg_rounds=float(rounds),
        lp_optimal=float(lp_done),
        columns=float(len(cols)),
        lp_s=time.perf_counter() - t0 - stats["compile_s"],
    )
    warm: WarmStart | None = hint.warm if hint else None
    if sol is None:
        best = greedy_placements(inst)
        best_obj, name = objective_of(inst, best), "greedy-fallback"
    else:
        stats["lp_objective"] = sol.objective
        best = round_lp(inst, sol_cols, sol)
        if _stranded(inst, sol, best):
            best = repair(inst, best)
        best_obj, name = objective_of(inst, best), "optimizer"
        stats["rounded_objective"] = float(best_obj)
        greedy_s = GREEDY_S_PER_JOB * len(problem.jobs)
        in_time = time.perf_counter() + greedy_s < work_stop
        if (not lp_done or _stranded(inst, sol, best)) and in_time:
            # Column generation was cut short, or rounding left out jobs the LP placed:
            # greedy is the floor any plan must beat.
            greedy = greedy_placements(inst)
            greedy_obj = objective_of(inst, greedy)
            stats["greedy_objective"] = float(greedy_obj)
            if greedy_obj < best_obj:
                best, best_obj, name = greedy, greedy_obj, "greedy-fallback"
        good_enough = bound + TARGET_GAP * (bound - unavoidable)
        if best_obj > good_enough and column_count(inst) <= EXACT_MAX_COLUMNS:
            exact, exact_bound = solve_exact(inst, best, deadline=work_stop)
            if exact_bound is not None:
                bound = max(bound, exact_bound)
            if exact is not None and objective_of(inst, exact) < best_obj:
                best, best_obj, name = exact, objective_of(inst, exact), "optimizer-exact"
            stats["exact"] = 1.0
        polish_stop = min(
            work_stop, time.perf_counter() + max(POLISH_MIN_S, POLISH_SHARE * time_limit_s)
        )
        if best_obj > good_enough and polish_stop - time.perf_counter() > POLISH_LEAST_S:
            restricted = _restricted(inst, sol_cols, sol, best)
            polished = polish(inst, restricted, best, deadline=polish_stop, good_enough=good_enough)
            if polished is not None:
                polished_obj = objective_of(inst, polished)
                if polished_obj < best_obj:
                    best, best_obj, name = polished, polished_obj, "optimizer"
        warm = _warm_start(inst, sol_cols, sol)
    hinted = _hint_placements(inst, hint.decisions) if hint else None
    if hinted is not None and objective_of(inst, hinted) <= best_obj:
        best, best_obj = hinted, objective_of(inst, hinted)
    stats["solve_s"] = time.perf_counter() - t0
    return finish_plan(
        inst,
        best,
        lower_bound=max(0, bound),
        solver=name,
        hint=hint.decisions if hint else None,
        stats=stats,
        warm=warm,
    )


def slot_of(start: int, now: int, slot_s: int) -> int:
    """The slot a start time from an earlier tick falls in now: the first slot that
    begins at or after it (slot 0 when it is already due)."""
    return max(0, -((now - start) // slot_s))


def _stranded(inst: Instance, sol: MasterSolution, plan: list[Placement]) -> bool:
    """Did rounding leave out more jobs than the LP did?"""
    placed = sum(pl.count for pl in plan)
    lp_placed = sum(cls.n for cls in inst.classes) - float(sol.unplaced.sum())
    return placed < math.floor(lp_placed + 1e-6)


def _blocked(inst: Instance, sol: MasterSolution) -> bool:
    """Did the LP leave jobs out that have columns (quota or budget forced them out)?"""
    has = np.array([cls.has_column for cls in inst.classes], dtype=bool)
    return bool(sol.unplaced[has].sum() > 1e-6)


def _lexicographic_bound(inst: Instance, cols: Columns, sol: MasterSolution, stop: float) -> int:
    """A bound that charges the full penalty for jobs quota or budgets force out.

    The cost LP sees a scaled-down penalty, so its prices value a forced-out job at
    that, not at the real penalty. With a huge penalty the LP's duals are, in the
    limit, penalty x (duals of "place as many jobs as possible") + (duals of "then
    as cheaply as possible"); priced there, the Lagrangian bound counts each job
    that cannot be placed at the real penalty. Like any prices, these give a valid
    bound however far they are from the optimal ones.
    """
    left = stop - time.perf_counter()
    if left <= 0.05:
        return 0
    try:
        first = solve_master(inst, cols, time_limit_s=left, most_placed=True)
    except MasterFailed:
        return 0
    penalty = float(inst.problem.unplaced_penalty_micros)
    pi = penalty * first.pi + sol.pi
    mu = penalty * first.mu + sol.mu
    return price(inst, pi, mu, None).bound


def _everything(inst: Instance) -> F64:
    """Class duals that make every column "improving": pricing then returns the
    cheapest columns of each class under the given prices."""
    return np.full(len(inst.classes), np.inf)


def _seed(inst: Instance, warm: WarmStart | None) -> Columns:
    """The cheapest column of every class, and last tick's columns still valid."""
    c: list[int] = []
    i: list[int] = []
    t: list[int] = []
    for k, cls in enumerate(inst.classes):
        if cls.has_column:
            flat = int(np.argmin(np.where(cls.feasible, cls.cost, np.iinfo(np.int64).max)))
            ii, tt = divmod(flat, inst.T)
            c.append(k)
            i.append(ii)
            t.append(tt)
    if warm and warm.columns:
        by_sig = {sig: k for k, cls in enumerate(inst.classes) for sig in cls.signatures}
        o_index = {oid: o for o, oid in enumerate(inst.offering_ids)}
        slot_s, now = inst.problem.slot_s, inst.problem.now
        kept: set[tuple[int, int, int]] = set()
        for sig, oid, start in warm.columns:
            k_or_none = by_sig.get(sig)
            o = o_index.get(oid)
            if k_or_none is None or o is None:
                continue
            tt = slot_of(start, now, slot_s)
            cls = inst.classes[k_or_none]
            pos = np.flatnonzero(cls.offs == o)
            if tt < inst.T and pos.size and cls.feasible[pos[0], tt]:
                kept.add((k_or_none, int(pos[0]), tt))
        # In index order: a frozenset iterates in an order that changes from process to
        # process (string hashing), and the LP's column order can change its answer.
        for k, ii, tt in sorted(kept):
            c.append(k)
            i.append(ii)
            t.append(tt)
    arr = [np.asarray(v, dtype=np.int64) for v in (c, i, t)]
    return Columns.empty().add(*arr)


def _restricted(
    inst: Instance, cols: Columns, sol: MasterSolution, start: list[Placement]
) -> Columns:
    """Polish's columns: the plan's and the LP's support. A class the plan leaves partly
    out brings every column it has, and the classes drawing from the same pools their
    few cheapest under the LP's prices, so CP-SAT can make room by moving them. (More
    columns for everyone measured worse: CP-SAT then finds less in its second.)"""
    keep = sol.x > 1e-9
    out = Columns(cols.c[keep], cols.i[keep], cols.t[keep])
    placed = np.zeros(len(inst.classes), dtype=np.int64)
    for pl in start:
        placed[pl.c] += pl.count
    short = [c for c, cls in enumerate(inst.classes) if cls.has_column and placed[c] < cls.n]
    if short:
        pools: set[int] = set()
        for c in short:
            cls = inst.classes[c]
            ii, tt = np.nonzero(cls.feasible)
            out = out.add(
                np.full(ii.size, c, dtype=np.int64), ii.astype(np.int64), tt.astype(np.int64)
            )
            pools.update(inst.draw_pool[cls.offs].ravel().tolist())
        pools.discard(inst.P)
        near = price(inst, sol.pi, sol.mu, _everything(inst), per_class=NEIGHBOUR_COLUMNS)
        touches = np.array(
            [
                bool(pools.intersection(inst.draw_pool[cls.offs].ravel().tolist()))
                for cls in inst.classes
            ]
        )
        sel = touches[near.c] if near.c.size else np.zeros(0, dtype=bool)
        out = out.add(near.c[sel], near.i[sel], near.t[sel])
    arr = [
        np.asarray(v, dtype=np.int64) for v in zip(*[(p.c, p.i, p.t) for p in start], strict=True)
    ]
    if arr:
        out = out.add(*arr)
    return out


def _warm_start(inst: Instance, cols: Columns, sol: MasterSolution) -> WarmStart:
    used = sol.x > 1e-9
    columns = frozenset(
        (sig, inst.offering_ids[int(inst.classes[c].offs[i])], inst.slot_start(t))
        for c, i, t in zip(
            cols.c[used].tolist(), cols.i[used].tolist(), cols.t[used].tolist(), strict=True
        )
        for sig in inst.classes[c].signatures
    )
    pool_prices = {
        (inst.pool_ids[p], inst.slot_start(t)): float(sol.pi[p, t])
        for p, t in zip(*np.nonzero(sol.pi[: inst.P] < 0), strict=True)
    }
    budget_prices = {
        (b[0], b[1], b[2]): float(m) for b, m in zip(inst.budgets, sol.mu, strict=True) if m < 0
    }
    return WarmStart(columns, pool_prices, budget_prices)


def _warm_prices(inst: Instance, warm: WarmStart) -> tuple[F64, F64]:
    pi = np.zeros((inst.P + 1, inst.T))
    p_index = {pid: p for p, pid in enumerate(inst.pool_ids)}
    for (pool, start), value in warm.pool_prices.items():
        p = p_index.get(pool)
        t = slot_of(start, inst.problem.now, inst.problem.slot_s)
        if p is not None and start >= inst.problem.now and t < inst.T:
            pi[p, t] = min(0.0, value)
    mu = np.array([min(0.0, warm.budget_prices.get((b[0], b[1], b[2]), 0.0)) for b in inst.budgets])
    return pi, mu


def _hint_placements(inst: Instance, decisions: Mapping[str, Decision]) -> list[Placement] | None:
    """Last tick's plan in this tick's columns, if every job of it is still here, still
    timely where it was, and it breaks no quota or budget; else ``None``."""
    o_index = {oid: o for o, oid in enumerate(inst.offering_ids)}
    res = Residual(inst)
    out: list[Placement] = []
    for c, cls in enumerate(inst.classes):
        counts: dict[tuple[int, int], int] = {}
        for jid in cls.job_ids:
            d = decisions.get(jid)
            if d is None:
                return None
            if d.offering_id is None or d.start is None or d.late:
                continue
            o = o_index.get(d.offering_id)
            t = slot_of(d.start, inst.problem.now, inst.problem.slot_s)
            pos = np.flatnonzero(cls.offs == o) if o is not None else np.zeros(0)
            if t >= inst.T or not pos.size or not cls.feasible[int(pos[0]), t]:
                return None
            key = (int(pos[0]), int(t))
            counts[key] = counts.get(key, 0) + 1
        for (i, t), k in sorted(counts.items()):
            res.take(cls, i, t, k)
            out.append(Placement(c, i, t, k))
    if (res.cap < -EPS).any() or (res.budget < -1e-6).any():
        return None
    return out
