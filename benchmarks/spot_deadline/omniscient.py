"""The omniscient optimum: the cheapest way to finish one job by its deadline when
the whole future of every spot market is known. The lower bound of every policy.

It is not a :class:`~solver.policies.Policy` (those see only the present); it reads
the availability trace of the job's window directly.

The model is exactly the harness's (:mod:`benchmarks.spot_deadline.sim`): time in
ticks of ``gap`` seconds; in each tick the job is idle, on on-demand (always there)
or on the spot market of one zone (there only in ticks its trace says so). Every
start of a node -- the first, after a preemption, on switching market or zone --
costs ``d`` seconds of paid time before work progresses again; a spot node is lost
at the first tick its zone has no spot, keeping the work done. A node is paid for
every second it exists; the job's last node stops when the work is done.

Dynamic program, backward over ticks ``k = K-1 .. 0`` with states "node m running
and past its restart" or idle, and the work still to do ``w``::

    V_k(idle, w) = min( V_{k+1}(idle, w),  min_m L_k(m, w) )
    V_k(m, w)    = min( V_k(idle, w),  p_m g + V_{k+1}(m, w - g) )   m there at k
    V_k(m, w)    = V_k(idle, w)                                      m gone at k
    L_k(m, w)    = p_m j g + V_{k+j}(m, w - (j g - d)),  j = ceil(d / g)

with the last tick of a node paid pro rata when it finishes the job, ``V_K(., w) =
inf`` for ``w > 0`` and ``0`` at ``w = 0``. A start ``L_k`` is taken only when the
market is there through the whole restart (``j`` ticks): a node started and lost or
left before its restart is over pays and gains nothing, which no optimum does, so
leaving those out loses nothing.

Work is counted in units of ``gcd(g, d)`` seconds, where every amount of work a tick
can do is a whole number of units: the program is then exact. Coarser units
(``unit_s``) round every tick's work *up*, so the result stays a lower bound.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

#: Exact units are used while the work takes at most this many of them.
MAX_EXACT_UNITS = 20_000


def work_unit(gap_s: int, overhead_s: int, work_s: int) -> int:
    """The exact unit: every amount of work a tick can do is a whole number of it."""
    return math.gcd(math.gcd(int(gap_s), int(overhead_s)), int(work_s)) or int(gap_s)


def omniscient_cost(
    spot_available: BOOL,
    *,
    gap_s: int,
    overhead_s: int,
    work_s: int,
    deadline_ticks: int,
    od_per_hour: float,
    spot_per_hour: npt.ArrayLike,
    unit_s: int | None = None,
) -> float:
    """Least cost (in the price's unit) to do ``work_s`` of work within
    ``deadline_ticks`` ticks; ``inf`` when even on-demand from the start is too late.

    ``spot_available``: ``(zones, ticks)`` (or one zone's ``(ticks,)``), tick 0 = the
    job's arrival; ``spot_per_hour`` one price per zone (or one for all).
    """
    avail = np.atleast_2d(np.asarray(spot_available, dtype=bool))
    Z = avail.shape[0]
    K = int(deadline_ticks)
    if avail.shape[1] < K:
        raise ValueError(f"trace has {avail.shape[1]} ticks, the deadline needs {K}")
    spot_price = np.broadcast_to(np.asarray(spot_per_hour, dtype=np.float64), (Z,))
    g, d = int(gap_s), int(overhead_s)
    u = work_unit(g, d, work_s)
    if unit_s or work_s // u > MAX_EXACT_UNITS:
        u = int(unit_s) if unit_s else -(-int(work_s) // MAX_EXACT_UNITS)
    # Not exact (u does not divide an amount): less work, more per tick -- a lower bound.
    W = int(work_s) // u
    # markets: 0 = on-demand, 1..Z = spot of each zone; per second prices
    price = np.concatenate([[od_per_hour], spot_price]) / 3600.0
    M = Z + 1
    j = max(1, -(-d // g))  # ticks a restart spans
    tick_units = g // u if g % u == 0 else -(-g // u)
    launch_units = max(0, -(-(j * g - d) // u))  # work done in the restart's ticks
    w_sec = np.arange(W + 1, dtype=np.float64) * u  # seconds of work left per index
    inf = np.inf
    # V[k % (j + 1)] holds V_k for the markets and idle (index M)
    ring = np.full((j + 1, M + 1, W + 1), inf)
    done_row = np.full(M + 1, 0.0)
    base = K % (j + 1)
    ring[base] = inf
    ring[base, :, 0] = done_row
    for k in range(K - 1, -1, -1):
        cur = ring[k % (j + 1)]
        nxt = ring[(k + 1) % (j + 1)]
        there = np.ones(M, dtype=bool)
        there[1:] = avail[:, k]
        # starts: need the market through the whole restart, ending by the deadline
        best_start = np.full(W + 1, inf)
        if k + j <= K:
            later = ring[(k + j) % (j + 1)]
            through = np.ones(M, dtype=bool)
            through[1:] = avail[:, k : k + j].all(axis=1)
            for m in np.flatnonzero(through).tolist():
                cand = _advance(later[m], launch_units, price[m] * j * g, price[m], d, w_sec)
                np.minimum(best_start, cand, out=best_start)
        idle = np.minimum(nxt[M], best_start)
        idle[0] = 0.0
        for m in range(M):
            if there[m]:
                cont = _advance(nxt[m], tick_units, price[m] * g, price[m], 0, w_sec)
                cur[m] = np.minimum(idle, cont)
            else:
                cur[m] = idle
        cur[M] = idle
    return float(ring[0][M][W])


def _advance(
    after: F64, step: int, full_cost: float, per_s: float, paid_before: int, w_sec: F64
) -> F64:
    """Cost of running a node for a stretch that does ``step`` units of work and costs
    ``full_cost`` (or finishes inside it: pays ``paid_before`` seconds plus the work
    left), then continuing from ``after`` (values by work left)."""
    n = after.size
    out = np.empty(n)
    finish = min(step, n - 1)
    out[: finish + 1] = per_s * (paid_before + w_sec[: finish + 1])
    if step < n - 1:
        out[step + 1 :] = full_cost + after[1 : n - step]
    if step == 0:
        out[:] = full_cost + after
        out[0] = 0.0
    return out
