"""Repair: make room for a job the rounding left out by moving one job of another class.

Rounding places leftover jobs one class at a time, so a job whose every column is
taken can be left out although the LP placed it: another class's job sits on the
only pools it may use, while that job had other places to go. For each job left out
(few, when any), try its cheapest columns; for each, take out one job that holds a
pool the column needs in a slot it needs, and look for another column with room for
that job. The first swap that fits both is kept: a little more cost instead of a
penalty. Every move goes through :class:`~solver.capacity.Residual`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from solver.capacity import Placement, Residual
from solver.instance import Instance, JobClass

#: Columns tried for a job left out, and jobs tried for eviction per column.
COLUMNS_TRIED = 20
EVICTIONS_TRIED = 40


def repair(inst: Instance, placements: Sequence[Placement]) -> list[Placement]:
    counts: dict[tuple[int, int, int], int] = {}
    res = Residual(inst)
    for pl in placements:
        res.take(inst.classes[pl.c], pl.i, pl.t, pl.count)
        key = (pl.c, pl.i, pl.t)
        counts[key] = counts.get(key, 0) + pl.count
    placed = np.zeros(len(inst.classes), dtype=np.int64)
    for (c, _, _), k in counts.items():
        placed[c] += k
    for c, cls in enumerate(inst.classes):
        while cls.has_column and placed[c] < cls.n and _place_one(inst, res, counts, c):
            placed[c] += 1
    return [Placement(c, i, t, k) for (c, i, t), k in sorted(counts.items()) if k > 0]


def _pools(inst: Instance, cls: JobClass, i: int) -> set[int]:
    o = int(cls.offs[i])
    return {
        int(p)
        for p, a in zip(inst.draw_pool[o], inst.draw_amt[o], strict=True)
        if a > 0 and p < inst.P
    }


def _place_one(
    inst: Instance, res: Residual, counts: dict[tuple[int, int, int], int], c: int
) -> bool:
    cls = inst.classes[c]
    ii, tt = np.nonzero(cls.feasible)
    order = np.argsort(cls.cost[ii, tt], kind="stable")[:COLUMNS_TRIED]
    for i, t in zip(ii[order].tolist(), tt[order].tolist(), strict=True):
        if res.room(cls, i, t) > 0:
            res.take(cls, i, t, 1)
            counts[(c, i, t)] = counts.get((c, i, t), 0) + 1
            return True
        need = _pools(inst, cls, i)
        end = t + int(cls.occupancy[i])
        blockers = [
            key
            for key, k in counts.items()
            if k > 0
            and key[0] != c
            and key[2] < end
            and key[2] + int(inst.classes[key[0]].occupancy[key[1]]) > t
            and need & _pools(inst, inst.classes[key[0]], key[1])
        ]
        for qc, qi, qt in blockers[:EVICTIONS_TRIED]:
            other = inst.classes[qc]
            res.take(other, qi, qt, -1)
            if res.room(cls, i, t) > 0:
                res.take(cls, i, t, 1)
                room = res.copies(other)
                room[qi, qt] = 0
                ok = other.feasible & (room > 0)
                if ok.any():
                    flat = int(np.argmin(np.where(ok, other.cost, np.iinfo(np.int64).max)))
                    ni, nt = divmod(flat, inst.T)
                    res.take(other, ni, nt, 1)
                    counts[(qc, qi, qt)] -= 1
                    counts[(qc, ni, nt)] = counts.get((qc, ni, nt), 0) + 1
                    counts[(c, i, t)] = counts.get((c, i, t), 0) + 1
                    return True
                res.take(cls, i, t, -1)
            res.take(other, qi, qt, 1)
    return False
