"""The harness: one job's life on recorded spot traces, its policy asked every tick.

A job of ``work_s`` seconds arrives at tick 0 of its window and is due
``deadline_s`` later (whole ticks: ``K = deadline_s // gap``). At each tick ``k``
(``[k g, (k + 1) g)``, ``g`` = the trace's gap):

1. a spot node whose zone has no spot at tick ``k`` is preempted (work done is kept,
   the paper's model); the job is then idle;
2. the policy gets a one-job :class:`~solver.Problem` of the present: ``now``, the
   remaining work (``runtime_s = runtime_p_s``), the deadline, ``arrival`` and
   ``total_runtime_s``, the node it runs on (``running_on``, ``running_since``), an
   on-demand offering in every zone and a spot offering in each zone that has spot
   at tick ``k`` (only those: absence = no capacity), ``slot_s = g``;
3. its decision for the job is applied: placed on an offering, starting now -> run
   there (keeping the node when it is the same offering); anything else -> idle;
4. every start of a node costs ``d`` seconds (the restart overhead; the offerings'
   ``launch_delay_s``) before work progresses; a node is paid for every second it
   exists, the last one until the work is done.

The job runs on past its deadline (late: a miss) until done or the trace runs out
(it wraps around once); a job unfinished then is charged its remaining work at
the spot price and counted unfinished.

Spot offerings carry a preemption hazard (given how long their spot has been up)
and the job a :class:`~solver.SpotOutlook` (spot in any zone), both fit on the week
before the job's arrival (:class:`History`, shrunk toward a heavy-tailed prior): what
a cost model refit on that history would know; nothing of the trace's future.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from solver import Job, Market, Offering, Plan, Problem
from solver.model import SpotOutlook
from solver.policies import Policy

BOOL = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

#: The job's arrival on the problems' time axis (any whole hour would do).
EPOCH = 1_700_002_800
JOB_ID = "job"
#: History the estimates look back on.
HISTORY_S = 7 * 24 * 3600
#: The outlook's age bins (minutes; where each bin but the last ends), and its prior:
#: heavy-tailed durations, the chance per hour that a run of spot (of no spot) of
#: age ``a`` hours ends being ``1 / (a + PRIOR_MEDIAN_H)`` (a run lasts as long again
#: as it has lasted, with half chance; medians 1 h and 15 min), worth
#: PRIOR_EXPOSURE_H hours of observation in each bin.
OUTLOOK_BINS_MIN = (10, 20, 30, 60, 120, 240, 480)
PRIOR_MEDIAN_UP_H = 1.0
PRIOR_MEDIAN_DOWN_H = 0.25
PRIOR_EXPOSURE_H = 1.0


@dataclass(frozen=True)
class Zone:
    name: str
    #: Per tick of the whole trace: spot capacity there.
    available: BOOL

    @property
    def region(self) -> str:
        return self.name.rstrip("abcdefghijklmnopqrstuvwxyz") if self.name[-1].isalpha() else ""


@dataclass(frozen=True)
class Setting:
    """Where the job may run: zones with their traces (same gap), one instance type."""

    name: str
    zones: tuple[Zone, ...]
    gap_s: int
    instance_type: str
    gpu_type: str
    od_micros_per_hour: int
    spot_micros_per_hour: int

    @property
    def ticks(self) -> int:
        return int(self.zones[0].available.size)


@dataclass(frozen=True)
class Case:
    work_s: int
    deadline_s: int
    overhead_s: int

    def deadline_ticks(self, gap_s: int) -> int:
        return self.deadline_s // gap_s


@dataclass
class Outcome:
    cost_micros: float = 0.0
    #: Seconds after arrival the work was done; None: not within the trace.
    finish_s: float | None = None
    missed: bool = False
    unfinished: bool = False
    spot_s: float = 0.0
    od_s: float = 0.0
    starts: int = 0
    preemptions: int = 0
    calls: int = 0
    policy_s: float = 0.0


class History:
    """Spot statistics from the trace before a tick: what a cost model fit on that
    history would say. Each estimate looks back ``HISTORY_S`` (less near the trace's
    start) and is shrunk toward a prior, so a job arriving at tick 0 gets the prior."""

    def __init__(self, setting: Setting) -> None:
        self.av: BOOL = np.stack([z.available for z in setting.zones]).astype(bool)
        self.any: BOOL = np.asarray(self.av.any(axis=0), dtype=bool)
        self.gap_h = setting.gap_s / 3600
        self.window = max(1, HISTORY_S // setting.gap_s)
        self.n = self.av.shape[1]
        # age (ticks, counting this one) of the run each tick is in; last row: "any"
        rows = np.vstack([self.av, self.any[None, :]])
        k = np.arange(self.n)
        change = np.ones_like(rows)
        change[:, 1:] = rows[:, 1:] != rows[:, :-1]
        first = np.maximum.accumulate(np.where(change, k[None, :], 0), axis=1)
        self._age = k[None, :] - first + 1
        self._zone_loss: dict[tuple[int, int], tuple[float, ...]] = {}

    def _span(self, tick: int) -> tuple[int, int]:
        return max(0, tick - self.window), tick

    def hazard_per_hour(self, zone: int, tick: int, since: int) -> float:
        """The zone's spot preemption hazard at ``tick`` given how long its spot has
        been up then: the chance per tick that a run of spot of that age ends,
        fit on the week before ``since`` (the job's arrival), as a rate per hour."""
        key = (zone, since)
        loss = self._zone_loss.get(key)
        if loss is None:
            a, b = self._span(since)
            loss = _age_hazards(
                self.av[zone, a:b], True, self.widths(), self.gap_h, PRIOR_MEDIAN_UP_H
            )
            self._zone_loss[key] = loss
        p = loss[self.bin_of(int(self._age[zone, tick % self.n]))]
        return -math.log(max(1e-12, 1.0 - p)) / self.gap_h

    def widths(self) -> tuple[int, ...]:
        """The outlook's age bins in ticks (see OUTLOOK_BINS_MIN)."""
        edges: list[int] = []
        for m in OUTLOOK_BINS_MIN:
            e = max(round(m * 60 / (self.gap_h * 3600)), (edges[-1] + 1) if edges else 1)
            edges.append(e)
        return tuple(b - a for a, b in zip([0, *edges[:-1]], edges, strict=True))

    def bin_of(self, age: int) -> int:
        edge = 0
        for k, w in enumerate(self.widths()):
            edge += w
            if age <= edge:
                return k
        return len(self.widths())

    def outlook(self, tick: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The chain of :class:`~solver.SpotOutlook` (spot in at least one zone), fit
        on the week before ``tick``: per age bin, the chance per tick that a run of
        spot (of no spot) ends."""
        a, b = self._span(tick)
        seen = self.any[a:b]
        widths = self.widths()
        loss = _age_hazards(seen, True, widths, self.gap_h, PRIOR_MEDIAN_UP_H)
        back = _age_hazards(seen, False, widths, self.gap_h, PRIOR_MEDIAN_DOWN_H)
        return loss, back

    def node_loss(self, tick: int) -> float:
        """Chance per tick that a zone's spot is lost while some zone still has spot,
        over the week before ``tick``, pooled over zones by their hours of spot (0
        with one zone: its loss is the loss of spot)."""
        a, b = self._span(tick)
        if b - a < 2:
            return 0.0
        up, nxt, any_next = self.av[:, a : b - 1], self.av[:, a + 1 : b], self.any[a + 1 : b]
        exposure = float(up.sum())
        lost = float((up & ~nxt & any_next[None, :]).sum())
        return round(lost / exposure, 4) if exposure else 0.0

    def age_s(self, tick: int) -> int:
        """How long the state of "spot in at least one zone" at ``tick`` has lasted,
        counting ``tick`` (at most into the last age bin)."""
        age = min(int(self._age[-1, tick % self.n]), sum(self.widths()) + 1)
        return round(age * self.gap_h * 3600)


def _age_hazards(
    seen: BOOL, value: bool, widths: tuple[int, ...], gap_h: float, median_h: float
) -> tuple[float, ...]:
    """Per age bin (``widths`` ticks each, the last open), the chance per tick that a
    run of ``value`` in ``seen`` whose age is in the bin ends at the next tick: runs
    ended in the bin over ticks spent in it; a run cut by the window's end is at
    risk, not ended. Shrunk toward the heavy-tailed prior (module docstring)."""
    x = seen.astype(np.int8)
    lengths = np.zeros(0, dtype=np.int64)
    censored = False
    if x.size:
        cuts = np.flatnonzero(np.diff(x)) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [x.size]])
        keep = x[starts] == int(value)
        lengths = (ends - starts)[keep]
        censored = bool(x[-1] == int(value))
    closed = lengths[:-1] if censored and lengths.size else lengths
    w = PRIOR_EXPOSURE_H / gap_h
    out = []
    lo = 1
    for k in range(len(widths) + 1):
        hi = lo + widths[k] - 1 if k < len(widths) else 1 << 40
        exposure = float(np.clip(np.minimum(lengths, hi) - lo + 1, 0, None).sum())
        ended = float(((closed >= lo) & (closed <= hi)).sum())
        mid_h = (lo - 1 + min(hi, lo + 2 * widths[-1])) / 2 * gap_h
        prior = 1 - math.exp(-gap_h / (mid_h + median_h))
        out.append(round((ended + prior * w) / (exposure + w), 6))
        lo = hi + 1
    return tuple(out)


class View(Protocol):
    """What a policy is shown of the problem (all of it, or one zone at a time)."""

    def show(self, problem: Problem, running_on: str) -> Problem: ...

    def after(self, spot_now: Sequence[bool]) -> None: ...


class RoundRobin:
    """Uniform Progress per zone, round-robin: the policy sees one *home* zone's
    offerings (plus the node the job runs on); after a tick in which the home zone
    had no spot, the next tick looks at the next zone, in a fixed order."""

    def __init__(self, zones: Sequence[str]) -> None:
        self.zones = tuple(zones)
        self.home = 0

    def show(self, problem: Problem, running_on: str) -> Problem:
        home = self.zones[self.home]
        offs = tuple(o for o in problem.offerings if o.zone == home or o.id == running_on)
        return replace(problem, offerings=offs)

    def after(self, spot_now: Sequence[bool]) -> None:
        if not spot_now[self.home]:
            self.home = (self.home + 1) % len(self.zones)


def offerings(setting: Setting, case: Case) -> tuple[list[Offering], list[Offering]]:
    """(on-demand, spot) offering per zone; ``launch_delay_s`` is the restart overhead."""
    od: list[Offering] = []
    spot: list[Offering] = []
    for z in setting.zones:
        for market, price, out in (
            (Market.ON_DEMAND, setting.od_micros_per_hour, od),
            (Market.SPOT, setting.spot_micros_per_hour, spot),
        ):
            out.append(
                Offering(
                    id=f"{z.name}/{setting.instance_type}/{market}",
                    cloud="aws",
                    region=z.region,
                    zone=z.name,
                    instance_type=setting.instance_type,
                    market=market,
                    vcpus=4,
                    memory_gib=61,
                    gpu_count=1,
                    gpu_type=setting.gpu_type,
                    price_micros_per_hour=price,
                    hazard_per_hour=0.0,
                    launch_delay_s=case.overhead_s,
                )
            )
    return od, spot


def simulate(
    policy: Policy,
    setting: Setting,
    case: Case,
    start: int,
    *,
    view: View | None = None,
    horizon_slots: int = 12,
    time_limit_s: float = 1.0,
    history: History | None = None,
    outlook: bool = True,
) -> Outcome:
    """Run one job from trace tick ``start`` under ``policy``. ``outlook``: give the
    job a :class:`~solver.SpotOutlook` fit on the week before its arrival."""
    g = setting.gap_s
    n = setting.ticks
    K = case.deadline_ticks(g)
    history = history or History(setting)
    od, spot = offerings(setting, case)
    price = {o.id: o.price_micros_per_hour for o in (*od, *spot)}
    zone_of = {o.id: i for i, o in enumerate(spot)}
    avail = np.stack([z.available for z in setting.zones])
    base_job = Job(
        id=JOB_ID,
        vcpus=4,
        memory_gib=61,
        runtime_s=case.work_s,
        runtime_p_s=case.work_s,
        deadline=EPOCH + K * g,
        gpu_count=1,
        gpu_type=setting.gpu_type,
        arrival=EPOCH,
        total_runtime_s=case.work_s,
    )
    chain = history.outlook(start) if outlook else None
    node_loss = history.node_loss(start)
    widths = history.widths()
    out = Outcome()
    remaining = case.work_s
    cur = ""
    since = 0
    overhead_left = 0
    hint: Plan | None = None
    for k in range(n):
        tick = (start + k) % n
        now = EPOCH + k * g
        spot_now = avail[:, tick]
        if cur in zone_of and not spot_now[zone_of[cur]]:
            cur, overhead_left = "", 0
            out.preemptions += 1
        listed = [*od]
        for z, o in enumerate(spot):
            if spot_now[z]:
                listed.append(replace(o, hazard_per_hour=history.hazard_per_hour(z, tick, start)))
        job = replace(
            base_job,
            runtime_s=remaining,
            runtime_p_s=remaining,
            running_on=cur,
            running_since=since if cur else 0,
            spot_outlook=None
            if chain is None
            else SpotOutlook(
                step_s=g,
                loss=chain[0],
                back=chain[1],
                widths=widths,
                age_s=history.age_s(tick),
                price_micros_per_hour=setting.spot_micros_per_hour,
                node_loss=node_loss,
            ),
        )
        problem = Problem(
            now=now,
            jobs=(job,),
            offerings=tuple(listed),
            slot_s=g,
            horizon_slots=horizon_slots,
        )
        if view is not None:
            problem = view.show(problem, cur)
        t0 = time.perf_counter()
        plan = policy(problem, time_limit_s=time_limit_s, hint=hint)
        out.policy_s += time.perf_counter() - t0
        out.calls += 1
        hint = plan
        if view is not None:
            view.after(list(spot_now))
        d = plan.decisions[JOB_ID]
        target = d.offering_id if d.offering_id and d.start is not None and d.start <= now else ""
        if target and target not in {o.id for o in problem.offerings}:
            raise RuntimeError(f"policy chose {target}, which is not listed at tick {k}")
        if target != cur:
            cur = target
            if cur:
                overhead_left = case.overhead_s
                since = now
                out.starts += 1
        if not cur:
            continue
        lost = min(overhead_left, g)
        overhead_left -= lost
        work = min(g - lost, remaining)
        remaining -= work
        used = g if remaining > 0 else lost + work
        out.cost_micros += price[cur] * used / 3600
        if cur in zone_of:
            out.spot_s += used
        else:
            out.od_s += used
        if remaining <= 0:
            out.finish_s = k * g + used
            out.missed = out.finish_s > K * g
            return out
    out.unfinished = out.missed = True
    out.cost_micros += setting.spot_micros_per_hour * remaining / 3600
    return out


def on_demand_cost(setting: Setting, case: Case) -> float:
    """Micro-dollars of the job on on-demand from its arrival: the normalizer."""
    return setting.od_micros_per_hour * (case.overhead_s + case.work_s) / 3600


def window(setting: Setting, start: int, ticks: int) -> BOOL:
    """Availability of every zone over ``ticks`` ticks from ``start`` (wrapping)."""
    idx = (start + np.arange(ticks)) % setting.ticks
    out: BOOL = np.stack([z.available[idx] for z in setting.zones])
    return out


def ceil_ticks(seconds: float, gap_s: int) -> int:
    return math.ceil(seconds / gap_s)
