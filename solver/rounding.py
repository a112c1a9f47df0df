"""LP-guided rounding: from the master LP's fractional solution to an integer plan.

Take the floor of every column; then place each class's leftover jobs, classes with
the most fractional mass first, on the columns the LP used (largest fraction first),
then on the class's cheapest columns under the LP's prices. Every placement goes
through :class:`~solver.capacity.Residual`, so no quota or budget is ever broken.
"""

from __future__ import annotations

import numpy as np

from solver.capacity import EPS, Placement, Residual
from solver.instance import F64, Instance
from solver.master import Columns, MasterSolution
from solver.pricing import adjusted_costs


def round_lp(inst: Instance, cols: Columns, sol: MasterSolution) -> list[Placement]:
    res = Residual(inst)
    floors = np.floor(sol.x + 1e-7).astype(np.int64)
    placements: list[Placement] = []
    for k in np.flatnonzero(floors > 0):
        c, i, t = int(cols.c[k]), int(cols.i[k]), int(cols.t[k])
        res.take(inst.classes[c], i, t, int(floors[k]))
        placements.append(Placement(c, i, t, int(floors[k])))
    if (res.cap < -EPS).any() or (res.budget < -1e-6).any():
        # The LP's float tolerance let a floor overfill a row: place them checked.
        res = Residual(inst)
        placements = []
        for k in np.flatnonzero(floors > 0):
            c, i, t = int(cols.c[k]), int(cols.i[k]), int(cols.t[k])
            cls = inst.classes[c]
            only = np.zeros_like(cls.feasible)
            only[i, t] = True
            placements.extend(res.fill(c, cls, int(floors[k]), np.zeros(only.shape), only))
    placed = np.zeros(len(inst.classes), dtype=np.int64)
    for pl in placements:
        placed[pl.c] += pl.count
    frac = sol.x - floors
    mass = np.zeros(len(inst.classes))
    np.add.at(mass, cols.c, frac)
    prefix = np.concatenate(
        [np.zeros((sol.pi.shape[0], 1)), np.cumsum(np.minimum(sol.pi, 0.0), axis=1)], axis=1
    )
    order = sorted(
        (c for c, cls in enumerate(inst.classes) if cls.has_column and placed[c] < cls.n),
        key=lambda c: (int(inst.classes[c].feasible.sum()), -mass[c], inst.classes[c].job_ids[0]),
    )
    for c in order:
        cls = inst.classes[c]
        left = cls.n - int(placed[c])
        support = np.zeros(cls.feasible.shape, dtype=bool)
        key = np.zeros(cls.feasible.shape)
        mine = np.flatnonzero((cols.c == c) & (frac > 1e-9))
        support[cols.i[mine], cols.t[mine]] = True
        key[cols.i[mine], cols.t[mine]] = -frac[mine]
        got = res.fill(c, cls, left, key, support)
        left -= sum(pl.count for pl in got)
        placements.extend(got)
        if left > 0:
            adj: F64 = adjusted_costs(inst, cls, prefix, sol.mu)
            tie = adj * (inst.T + 1) + np.arange(inst.T)[None, :]
            placements.extend(res.fill(c, cls, left, np.where(np.isfinite(adj), tie, np.inf)))
    return placements
