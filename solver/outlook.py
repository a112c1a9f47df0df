"""The expected cost of a spot-allowed job's choices now, when spot comes and goes.

Without an outlook the solver knows only the present: spot columns exist while a
spot offering is listed, and a job with none listed starts on on-demand at once,
however much slack it has. With a :class:`~solver.model.SpotOutlook` (a chain over
the age of spot's present state: how likely spot that has been there ``k`` steps is
lost, how likely spot gone ``k`` steps is back) the job's columns are priced by a
finite-horizon Markov decision process instead:

State, at the start of a step of ``D`` seconds (the outlook's step, or a multiple
of it so that at most :data:`MAX_STEPS` steps reach the deadline): steps left
``r``; work left ``c`` (in steps of running); the job's node ``m`` -- none, spot or
on-demand, past its restart; the chain state ``z`` (spot there or not, and for how
long). Actions: wait (stop any node); keep the node; start spot (only when there)
or on-demand. Each start costs ``delta = (launch + restore + half a checkpoint
interval) / D`` steps, paid, before work progresses (``j = ceil(delta)`` steps of
which ``j - delta`` of the last is work, taken as one unit of work with that
probability). A spot node is lost when the chain goes to "not there", and also,
with the outlook's ``node_loss`` per step, while spot stays there elsewhere (another
zone: the job is then idle and may start spot again at once); a start on spot that
is lost pays for the steps it ran. Cost per step: the on-demand price, or the spot
price, of a step; a job not done when ``r = 0`` costs :data:`INF`. Backward::

    V_0(c > 0) = INF,  V_r(0) = 0
    Q_r(wait)      = E_z' V_{r-1}(c, none, z')
    Q_r(keep m)    = p_m + E_z' V_{r-1}(c - 1, m, z')        (spot: lost -> none)
    Q_r(start m)   = p_m j + E V_{r-j}(c - (j - delta), m, .) (spot: + loss en route)
    V_r(c, m, z)   = min over the actions open in (m, z)

Columns then cost (micro-dollars; ``ref`` is the cheapest listed offering of the
column's market, ``naive'`` the usual cost with the rework replaced by the chance
of being preempted there before the end times what a preemption loses -- half a
checkpoint interval, the restore and a new launch; later preemptions happen
wherever the job is by then, alike whatever it chooses now)::

    slot 0, the job's running node:   Q(keep) + naive'(o) - naive'(ref)
    slot 0, any other offering o:     Q(start market(o)) + naive'(o) - naive'(ref)
    slot t >= 1 (not now):            Q(wait) (1 + WAIT_TIE) + naive'(o, t) - naive'(ref, t)

so the models weigh "spot now", "on-demand now" and "wait for spot" at their
expected cost to finish, and offerings of one market by what sets them apart
(price, egress, hazard). Deadline rules are unchanged (a column must still be
timely as the formulation says); a job whose process has no finite value (it
cannot be sure to finish even on on-demand), that fits no on-demand offering, or
whose outlook is malformed, keeps the usual costs.

The decision process depends only on the outlook, the step, the restart and the
price ratio, so its tables are cached (:func:`_table`, a few per process) and
shared by every later tick that asks with the same parameters (less time and work
left is a smaller corner of the same table); one costs about 0.1-0.5 s to build.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from solver.model import Job, Market, SpotOutlook

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

#: Cost of not finishing by the deadline, in on-demand steps (finite: no 0 x inf).
INF = 1e12
#: At most this many decision steps to the deadline (longer steps beyond it).
MAX_STEPS = 600
#: Tables are built for sizes rounded up to a multiple of this, so later ticks (less
#: time, less work) reuse them.
BUCKET = 64
#: Waiting must be cheaper by more than this share to beat acting now: equal values
#: (up to the tables' float32 rounding) start now, keeping the slack.
WAIT_TIE = 1e-5
#: Node states.
NONE, SPOT, ON_DEMAND = 0, 1, 2


def chain(outlook: SpotOutlook, steps: int) -> tuple[F64, BOOL]:
    """Transition matrix over ``steps`` outlook steps, and which states have spot.

    States ``0 .. L-1``: spot there, in age bin 0 .. L-1 (L = len(loss)); then
    ``L .. L+M-1``: spot gone, in age bin 0 .. M-1. Per step a state is left with
    the chance its hazard says; otherwise its age moves on to the next bin with
    chance ``1 / width`` (a bin of ``width`` steps lasts that long on average).
    """
    loss, back = outlook.loss, outlook.back
    L, M = len(loss), len(back)
    T = np.zeros((L + M, L + M))
    for base, hazards, other in ((0, loss, L), (L, back, 0)):
        n = len(hazards)
        for k, p in enumerate(hazards):
            me = base + k
            T[me, other] += p
            if k + 1 < n:
                width = outlook.widths[k] if outlook.widths else 1
                T[me, me + 1] += (1.0 - p) / width
                T[me, me] += (1.0 - p) * (1.0 - 1.0 / width)
            else:
                T[me, me] += 1.0 - p
    up = np.zeros(L + M, dtype=bool)
    up[:L] = True
    return np.linalg.matrix_power(T, max(1, steps)), up


def state_of(outlook: SpotOutlook, spot_listed: bool) -> int:
    """The chain state of the present: spot listed or not, and for how long."""
    age = max(1, math.ceil(outlook.age_s / outlook.step_s)) if outlook.age_s > 0 else 1
    k = outlook.bin_of(age)
    if spot_listed:
        return min(k, len(outlook.loss) - 1)
    return len(outlook.loss) + min(k, len(outlook.back) - 1)


class Table:
    """The decision process's values ``V[r, m, z, c]`` for ``r <= R``, ``c <= C``, in
    units of one on-demand step; spot costs ``rho`` of that."""

    def __init__(
        self, T: F64, up: BOOL, delta: float, rho: float, R: int, C: int, node: float = 0.0
    ) -> None:
        self.T, self.up, self.delta, self.rho, self.R, self.C = T, up, delta, rho, R, C
        self.node = node
        Z = up.size
        self.j = max(1, math.ceil(delta - 1e-9))
        self.p_work = self.j - delta  # chance the start's last step does a unit of work
        self.Tj = np.linalg.matrix_power(T, self.j)
        up_next = np.where(up[None, :], T, 0.0)
        self.A = up_next * (1.0 - node)  # spot stays and so does the node
        self.D = np.where(up[None, :], 0.0, T) + up_next * node  # the node is lost
        self.c = np.arange(C + 1, dtype=np.float64)
        V = np.full((R + 1, 3, Z, C + 1), INF, dtype=np.float32)
        V[0, :, :, 0] = 0.0
        self.V = V
        for r in range(1, R + 1):
            q = self.q(r)
            idle = np.minimum(q["wait"], q["start_od"])
            idle = np.where(up[:, None], np.minimum(idle, q["start_spot"]), idle)
            V[r, NONE] = idle
            V[r, ON_DEMAND] = np.minimum(idle, q["keep_od"])
            V[r, SPOT] = np.where(up[:, None], np.minimum(idle, q["keep_spot"]), idle)
            V[r, :, :, 0] = 0.0

    def _after(
        self, prev: F64, same: F64, full: float, per_unit: float, paid: float, p_work: float
    ) -> F64:
        """Run for a stretch that costs ``full`` and does a unit of work with chance
        ``p_work``, then go on: from ``prev`` (values at one unit less work) when it
        worked, else from ``same``. A job whose last unit it does is done, paying
        ``paid`` plus that unit instead. Columns are at work ``self._cols``."""
        c = self._cols
        worked = np.where(c == 1, per_unit * (paid + 1.0), full + prev)
        out = p_work * worked + (1.0 - p_work) * (full + same)
        return np.minimum(np.where(c == 0, 0.0, out), INF)

    def q(self, r: int, z: I64 | None = None, cols: I64 | None = None) -> dict[str, F64]:
        """Values of every action with ``r`` steps left, per (z, c) -- for the chain
        states ``z`` and work ``cols`` given (all by default)."""
        V, T, rho = self.V, self.T, self.rho
        zs = np.arange(self.up.size) if z is None else z
        cs = np.arange(self.C + 1) if cols is None else cols
        self._cols = cs[None, :].astype(np.float64)
        less = np.maximum(cs - 1, 0)

        def layer(k: int, m: int, at: I64) -> F64:
            out: F64 = V[k, m][:, at].astype(np.float64)
            return out

        def ahead(M: F64, k: int, m: int) -> tuple[F64, F64]:
            """(M @ V_k[m]) at one unit less work, and at the same work; a spot node
            is lost with chance ``node`` even where spot stays (the job is then idle)."""
            if m == SPOT and self.node > 0:
                n = self.node
                return (
                    M @ ((1 - n) * layer(k, SPOT, less) + n * layer(k, NONE, less)),
                    M @ ((1 - n) * layer(k, SPOT, cs) + n * layer(k, NONE, cs)),
                )
            return M @ layer(k, m, less), M @ layer(k, m, cs)

        Tz = T[zs]
        out = {
            "wait": Tz @ layer(r - 1, NONE, cs),
            "keep_od": self._after(*ahead(Tz, r - 1, ON_DEMAND), 1.0, 1.0, 0.0, 1.0),
            "keep_spot": self._after(*ahead(Tz, r - 1, SPOT), rho, rho, 0.0, 1.0),
        }
        j, delta = self.j, self.delta
        if r < j:
            out["start_od"] = np.full((zs.size, cs.size), INF)
            out["start_spot"] = np.full((zs.size, cs.size), INF)
            return out
        out["start_od"] = self._after(
            *ahead(self.Tj[zs], r - j, ON_DEMAND), float(j), 1.0, delta, self.p_work
        )
        # spot: up (and the node kept) at every step boundary of the start, then on
        # from its last step
        stay = np.linalg.matrix_power(self.A, j - 1)[zs]
        survive = stay.sum(axis=1)
        norm = np.where(survive > 0, 1.0 / np.maximum(survive, 1e-300), 0.0)[:, None]
        w_less, w_same = ahead(stay @ T, r - j, SPOT)
        val = survive[:, None] * self._after(
            w_less * norm, w_same * norm, rho * j, rho, delta, self.p_work
        )
        walk = np.eye(self.up.size)[zs]
        for i in range(1, j):
            lost = walk @ self.D  # lost at the boundary after step i
            val = val + lost.sum(axis=1)[:, None] * rho * i + lost @ layer(r - i, NONE, cs)
            walk = walk @ self.A
        out["start_spot"] = np.minimum(np.where(self._cols == 0, 0.0, val), INF)
        return out

    def at(self, r: int, c: float, z: int) -> dict[str, float]:
        """Action values with ``r`` steps and ``c`` units of work left in state ``z``
        (work between grid points is interpolated)."""
        r = min(max(r, 0), self.R)
        c = min(max(c, 0.0), float(self.C))
        if r == 0:
            return {k: (0.0 if c <= 0 else INF) for k in _ACTIONS}
        lo = min(math.floor(c), self.C - 1) if self.C > 0 else 0
        cols = np.array([lo, min(lo + 1, self.C)], dtype=np.int64)
        q = self.q(r, np.array([z], dtype=np.int64), cols)
        w = c - lo
        return {k: float((1 - w) * v[0, 0] + w * v[0, 1]) for k, v in q.items()}


_ACTIONS = ("wait", "keep_od", "keep_spot", "start_od", "start_spot")


#: Tables kept (most recently used last); each is a few tens of MB at most.
CACHED_TABLES = 4
_TABLES: OrderedDict[tuple[object, ...], Table] = OrderedDict()
_LOCK = threading.Lock()


def _table(
    loss: tuple[float, ...],
    back: tuple[float, ...],
    widths: tuple[int, ...],
    node: float,
    steps: int,
    delta: float,
    rho: float,
    R: int,
    C: int,
) -> Table:
    """The table for these parameters, at least ``R`` steps and ``C`` units large:
    a cached one when it is (tables only shrink in use: time and work run down)."""
    key = (loss, back, widths, node, steps, delta, rho)
    with _LOCK:
        table = _TABLES.get(key)
        if table is not None and table.R >= R and table.C >= C:
            _TABLES.move_to_end(key)
            return table
    T, up = chain(SpotOutlook(step_s=1, loss=loss, back=back, widths=widths), steps)
    per_step = 1.0 - (1.0 - node) ** steps
    table = Table(T, up, delta, rho, _bucket(R), _bucket(C), per_step)
    with _LOCK:
        _TABLES[key] = table
        _TABLES.move_to_end(key)
        while len(_TABLES) > CACHED_TABLES:
            _TABLES.popitem(last=False)
    return table


@dataclass(frozen=True)
class Question:
    """One job's question to the decision process, and the answer's scale."""

    step_s: int
    r: int
    c: float
    c_keep: float
    z: int
    values: dict[str, float]
    #: Micro-dollars per unit of value (one on-demand step of the reference).
    scale: float


def ask(
    job: Job,
    now: int,
    *,
    spot_listed: bool,
    od_price: float,
    spot_price: float,
    restart_s: float,
    pending_s: float,
) -> Question | None:
    """The action values for ``job`` now, or None when the outlook cannot be used."""
    out = job.spot_outlook
    if out is None or not out.usable or not job.spot_allowed or od_price <= 0:
        return None
    price = spot_price or float(out.price_micros_per_hour)
    if price <= 0 or job.runtime_p_s <= 0:
        return None
    left = job.deadline - now
    if left <= 0:
        return None
    steps = max(1, math.ceil(left / (out.step_s * MAX_STEPS)))
    step_s = out.step_s * steps
    r = int(left // step_s)
    c = job.runtime_p_s / step_s
    c_keep = (job.runtime_p_s + pending_s) / step_s
    R = r
    C = math.ceil(max(c, c_keep)) + 1
    rho = round(min(price / od_price, 10.0), 4)
    delta = round(restart_s / step_s, 3)
    node = round(out.node_loss, 4)
    table = _table(
        tuple(out.loss), tuple(out.back), tuple(out.widths), node, steps, delta, rho, R, C
    )
    z = state_of(out, spot_listed)
    values = table.at(r, c, z)
    keep = table.at(r, c_keep, z)
    values["keep_od"], values["keep_spot"] = keep["keep_od"], keep["keep_spot"]
    if min(values.values()) >= INF / 2:
        return None
    return Question(step_s, r, c, c_keep, z, values, od_price * step_s / 3600)


def _bucket(n: int) -> int:
    return max(BUCKET, -(-n // BUCKET) * BUCKET)


def column_costs(
    job: Job,
    now: int,
    T: int,
    offering_ids: Sequence[str],
    markets: Sequence[Market],
    launch_s: F64,
    hazard: F64,
    price0: F64,
    compute: I64,
    egress: I64,
    pending_s: float,
) -> I64 | None:
    """Expected costs to finish per (offering, slot) for a job with an outlook (see
    the module docstring), or None to keep the usual ones. Arrays are over the
    offerings the job fits: their launch delay, hazard, price in slot 0, and the
    job's compute and egress cost per (offering, slot)."""
    spot = np.array([m is Market.SPOT for m in markets], dtype=bool)
    od = ~spot
    if not od.any() or job.runtime_s <= 0:
        return None
    # A start there, and its first preemption's relaunch (what follows one happens
    # wherever the job is by then, alike for every choice made now).
    lost_s = job.checkpoint_interval_s / 2 + job.restart_overhead_s + launch_s
    preempted = 1.0 - np.exp(-hazard * job.runtime_s / 3600)
    factor = 1.0 + (launch_s + preempted * lost_s) / job.runtime_s
    naive = compute * factor[:, None] + egress  # (n, T)
    ref = np.zeros(len(markets), dtype=np.int64)
    refs: dict[bool, int] = {}
    for is_spot in (False, True):
        mask = spot if is_spot else od
        if mask.any():
            k = int(np.flatnonzero(mask)[np.argmin(naive[mask, 0])])
            refs[is_spot] = k
            ref[mask] = k
    delta = naive - naive[ref]
    spot_listed = True in refs and job.spot_allowed
    restart = float(
        launch_s[[refs[k] for k in refs]].max()
        + job.restart_overhead_s
        + job.checkpoint_interval_s / 2
    )
    question = ask(
        job,
        now,
        spot_listed=spot_listed,
        od_price=float(price0[refs[False]]),
        spot_price=float(price0[refs[True]]) if True in refs else 0.0,
        restart_s=restart,
        pending_s=pending_s,
    )
    if question is None:
        return None
    v, scale = question.values, question.scale
    cost = np.empty((len(markets), T), dtype=np.float64)
    cost[:, 1:] = v["wait"] * (1.0 + WAIT_TIE) * scale + delta[:, 1:]
    start = np.where(spot, v["start_spot"], v["start_od"]) * scale
    if not spot_listed:
        start = np.where(spot, INF * scale, start)
    cost[:, 0] = start + delta[:, 0]
    if job.running_on in offering_ids:
        i = list(offering_ids).index(job.running_on)
        keep = v["keep_spot"] if spot[i] else v["keep_od"]
        cost[i, 0] = keep * scale + delta[i, 0]
    # Columns whose value is "cannot finish" keep a large, finite cost.
    out: I64 = np.rint(np.clip(cost, 0.0, INF * scale)).astype(np.int64)
    return out
