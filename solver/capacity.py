"""What is left of every quota pool (per slot) and every budget while a plan is built.

Both the greedy policy and the LP-guided rounding place jobs column by column
through :class:`Residual`, so neither can ever overfill a pool or a budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.instance import BOOL, F64, I64, UNLIMITED, Instance, JobClass

#: Room for float noise in quota amounts (fractions of a vCPU).
EPS = 1e-9
#: "As many as you like" for a column that draws from no limited pool.
MANY = 1 << 40
#: Columns :meth:`Residual.fill` tries one by one before computing room everywhere.
FAST_TRIES = 4


@dataclass(frozen=True)
class Placement:
    """``count`` jobs of class ``c`` on its ``i``-th offering, starting in slot ``t``."""

    c: int
    i: int
    t: int
    count: int


class Residual:
    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.cap: F64 = inst.capacity.copy()
        self.budget: F64 = np.array([float(b[3]) for b in inst.budgets], dtype=np.float64)

    def copies(self, cls: JobClass) -> I64:
        """Per (i, t): how many more jobs of ``cls`` fit there without breaking a pool
        in any slot the node is held, or the tenant's budget."""
        inst = self.inst
        T = inst.T
        pools = inst.draw_pool[cls.offs]  # (n, K)
        amts = inst.draw_amt[cls.offs]
        occ = np.minimum(cls.occupancy, T)
        out = np.full((len(cls.offs), T), MANY, dtype=np.int64)
        used = np.unique(pools[amts > 0])
        if used.size:
            rows = self.cap[used]  # (u, T)
            row_of = np.full(inst.P + 1, -1, dtype=np.int64)
            row_of[used] = np.arange(used.size)
            padded = np.concatenate([rows, np.full((used.size, T), UNLIMITED)], axis=1)
            lmax = int(occ.max())
            # mins[L - 1][u, t] = min of rows[u, t : t + L]
            mins = np.empty((lmax, used.size, T))
            mins[0] = rows
            for shift in range(1, lmax):
                mins[shift] = np.minimum(mins[shift - 1], padded[:, shift : shift + T])
            for k in range(pools.shape[1]):
                amt = amts[:, k]
                has = amt > 0
                if not has.any():
                    continue
                window = mins[occ[has] - 1, row_of[pools[has, k]]]  # (h, T)
                fit = np.floor((window + EPS) / amt[has, None])
                out[has] = np.minimum(out[has], np.minimum(fit, MANY).astype(np.int64))
        for b in np.flatnonzero(cls.budget_mask.any(axis=1)).tolist():
            left = np.where(cls.budget_mask[b], self.budget[b], np.inf)
            with np.errstate(divide="ignore", invalid="ignore"):
                by_budget = np.where(
                    cls.budget_cost > 0, np.floor(left[None, :] / cls.budget_cost), np.inf
                )
            out = np.minimum(out, np.minimum(by_budget, MANY).astype(np.int64))
        out = np.maximum(out, 0)
        return out

    def room(self, cls: JobClass, i: int, t: int) -> int:
        """How many more jobs of ``cls`` fit on column (i, t): :meth:`copies` for one
        column, without computing the others."""
        inst = self.inst
        o = int(cls.offs[i])
        end = min(t + int(cls.occupancy[i]), inst.T)
        best = MANY
        for k in range(inst.draw_pool.shape[1]):
            pool, amt = int(inst.draw_pool[o, k]), float(inst.draw_amt[o, k])
            if amt > 0 and pool < inst.P:
                free = float(self.cap[pool, t:end].min())
                best = min(best, int(np.floor((free + EPS) / amt)))
        cost = int(cls.budget_cost[i, t])
        if cost > 0:
            for b in np.flatnonzero(cls.budget_mask[:, t]).tolist():
                best = min(best, int(np.floor(self.budget[b] / cost)))
        return max(0, best)

    def take(self, cls: JobClass, i: int, t: int, count: int) -> None:
        inst = self.inst
        o = int(cls.offs[i])
        end = min(t + int(cls.occupancy[i]), inst.T)
        for k in range(inst.draw_pool.shape[1]):
            pool, amt = int(inst.draw_pool[o, k]), float(inst.draw_amt[o, k])
            if amt > 0 and pool < inst.P:
                self.cap[pool, t:end] -= amt * count
        if cls.budget_mask.size:
            self.budget[cls.budget_mask[:, t]] -= float(cls.budget_cost[i, t]) * count

    def fill(
        self, c: int, cls: JobClass, n: int, key: F64, allowed: BOOL | None = None
    ) -> list[Placement]:
        """Place up to ``n`` jobs of class ``c``, each on the allowed feasible column with
        the lowest ``key`` that still has room (ties: lower offering, then slot)."""
        out: list[Placement] = []
        ok_cols = cls.feasible if allowed is None else cls.feasible & allowed
        if n <= 0 or not ok_cols.any():
            return out
        ranked = np.where(ok_cols, key, np.inf)
        # Fast path: the best few columns one by one; most of the time one has room.
        T = self.inst.T
        order = np.argsort(ranked, axis=None, kind="stable")[:FAST_TRIES]
        for flat in order.tolist():
            i, t = divmod(flat, T)
            if n <= 0 or not np.isfinite(ranked[i, t]):
                break
            k = min(n, self.room(cls, i, t))
            if k > 0:
                self.take(cls, i, t, k)
                out.append(Placement(c, i, t, k))
                n -= k
        while n > 0:
            room = self.copies(cls)
            masked = np.where(room > 0, ranked, np.inf)
            flat = int(np.argmin(masked))
            i, t = divmod(flat, self.inst.T)
            if not np.isfinite(masked[i, t]):
                break
            k = int(min(n, room[i, t]))
            self.take(cls, i, t, k)
            out.append(Placement(c, i, t, k))
            n -= k
        return out
