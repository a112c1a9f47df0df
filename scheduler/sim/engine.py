"""The discrete-event simulation: the live control loop, a virtual clock, simulated
clouds and simulated workers.

:func:`simulate` assembles what ``skybatch serve`` assembles -- a fresh SQLite store,
:class:`~scheduler.offerings.OfferingCatalog`, :class:`~scheduler.control.launcher.
Launcher`, :class:`~scheduler.control.ControlLoop` with its
:class:`~scheduler.control.costmodel.CostModelKeeper` -- over
:class:`~adapters.sim.SimCloud`\\ s and a :class:`~scheduler.sim.clock.VirtualClock`,
and replays a workload through it:

- a job is submitted through :meth:`JobStore.submit` at its arrival;
- the loop's :meth:`~scheduler.control.ControlLoop.tick` (plan, launch, reconcile) runs
  on a grid of ``tick_s`` virtual seconds, but only at grid points where something
  happened since the last tick (an arrival, a worker's end, a preemption, a quota or
  spot change while jobs wait, a cooldown running out, a planned start coming due) or,
  while jobs wait, every ``wait_tick_s``; idle stretches cost nothing;
- a simulated worker (:mod:`scheduler.sim.workers`) starts when its node runs and
  makes the calls the worker agent makes through ``WorkerService``, on the same
  :class:`~scheduler.store.AttemptStore` methods, at virtual times; what it sends
  between two ticks is delivered just before the next one, when the loop can see it.

The store it writes is :class:`~scheduler.sim.store.CachedAttemptStore` (the real one,
with reads remembered until a write can change them) and the cost-model keeper
:class:`~scheduler.sim.keeper.SimCostModelKeeper`: both answer the loop exactly as the
plain ones would, faster.

Nothing here reads the wall clock except to measure how long the run took.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.base import CloudPort
from adapters.sim import SimCloud, SimNode
from scheduler.control import ControlLoop
from scheduler.control.costmodel import CostModelKeeper
from scheduler.control.launcher import Launcher
from scheduler.offerings import OfferingCatalog
from scheduler.sim.clock import EventQueue, VirtualClock
from scheduler.sim.config import SimConfig
from scheduler.sim.keeper import SimCostModelKeeper
from scheduler.sim.policy import planning_function
from scheduler.sim.result import SimResult, read_outcomes, summarize
from scheduler.sim.store import CachedAttemptStore
from scheduler.sim.workers import Workers
from scheduler.sim.workload import SimWorkload
from scheduler.store import (
    BillingStore,
    CostModelStore,
    Database,
    HistoryStore,
    JobStore,
)
from scheduler.store.engine import sqlite_url
from solver import Unplaced

log = logging.getLogger(__name__)

DB_NAME = "skybatch.db"
#: Ticks meant to observe a change in a simulated cloud come this long after it, so the
#: cloud (which compares POSIX floats) is past it too.
_AFTER = 1e-3
#: Loggers of the loop that warn on every preemption and refused launch: routine in a
#: simulation, so quieted to errors while one runs (``quiet=False`` keeps them).
_LOOP_LOGGERS = (
    "scheduler.control.loop",
    "scheduler.control.launcher",
    "scheduler.control.reconciler",
    "scheduler.control.costmodel",
    "scheduler.offerings",
)

_ARRIVE, _START, _END, _NOTICE = range(4)


class Simulation:
    """One run of a scenario; :func:`simulate` is the way in.

    Exposed for tests and tools that want to look inside (the loop, the clouds, the
    stores) after :meth:`run`.
    """

    def __init__(
        self,
        config: SimConfig,
        workload: SimWorkload,
        store_dir: Path,
        *,
        quiet: bool = True,
        remember: bool = True,
    ) -> None:
        started = time.perf_counter()
        self.config = config
        self.workload = workload
        self.quiet = quiet
        #: store job id -> the id the policy sees (submission order), when stable_ids.
        self.stable: dict[str, str] = {}
        # Resolved first: an unknown policy name leaves no half-made store behind.
        solve = planning_function(config.policy, self.stable if config.stable_ids else None)
        store_dir.mkdir(parents=True, exist_ok=True)
        db_path = store_dir / DB_NAME
        if db_path.exists():
            raise FileExistsError(f"{db_path} exists: a simulation writes a fresh store")
        self.db_url = sqlite_url(db_path)
        self.db = Database(self.db_url)
        self.clock = VirtualClock(config.start)
        self.clouds: list[SimCloud] = config.clouds(self.clock.now)
        ports: list[CloudPort] = list(self.clouds)
        self.catalog = OfferingCatalog(ports)
        self.jobs = JobStore(self.db)
        # remember=False: every read asks the database, and the cost model is the plain
        # keeper's (to measure what remembering saves; the answers are the same).
        self.attempts = CachedAttemptStore(self.db, remember=remember)
        settings = config.control_settings
        keeper = SimCostModelKeeper if remember else CostModelKeeper
        self.keeper = keeper(
            HistoryStore(self.db),
            BillingStore(self.db),
            CostModelStore(self.db),
            self.catalog,
            clock=self.clock.now,
            interval_s=0,
        )
        self.launcher = Launcher(
            self.attempts,
            self.catalog,
            secret=self.attempts.secret("attempt-token-hmac"),
            server_address="simulated:0",
            worker_python="python",
            settings=settings,
            clock=self.clock.now,
            monotonic=self.clock.monotonic,
        )
        self.loop = ControlLoop(
            self.attempts,
            self.catalog,
            self.launcher,
            settings=settings,
            clock=self.clock.now,
            costs=self.keeper,
            solve=solve,
        )
        self.events: EventQueue[tuple[int, object]] = EventQueue()
        #: Grid times a tick is due at (a heap), and what asked for each first.
        self._ticks_due: list[float] = []
        self._why: dict[float, str] = {}
        #: Ticks run, by what asked for them.
        self.ticks_by_cause: dict[str, int] = {}
        self._last_tick = -math.inf
        self._job_index: dict[str, int] = {}
        self.workers = Workers(self.attempts, self.clock, config, workload.jobs)
        self._seen = [0] * len(self.clouds)
        self._epoch = config.start.timestamp()
        last_deadline = max((j.deadline_s for j in workload.jobs), default=0.0)
        self.horizon = config.horizon_s if config.horizon_s is not None else last_deadline + 86400
        self._next_refit = config.refit_interval_s or math.inf
        self._refit_marker: tuple[int, int] = (0, 0)
        self.ticks = 0
        self.plan_ticks = 0
        self.solver_s = 0.0
        #: Per tick: (virtual time, jobs planned for, jobs started, solver s, tick s).
        self.tick_log: list[tuple[float, int, int, float, float]] = []
        self.event_count = 0
        self.timings: dict[str, float] = {
            "setup": time.perf_counter() - started,
            "submit": 0.0,
            "tick": 0.0,
            "solver": 0.0,
            "workers": 0.0,
            "wake": 0.0,
            "refit": 0.0,
            "collect": 0.0,
        }

    # -- running --------------------------------------------------------------------------

    def run(self) -> SimResult:
        started = time.perf_counter()
        cpu = time.process_time()
        for k, job in enumerate(self.workload.jobs):
            self.events.put(job.arrival_s, (_ARRIVE, k))
        with _quieted(self.quiet):
            self._loop()
        t0 = time.perf_counter()
        outcomes = read_outcomes(self.jobs, self.workload.jobs)
        self.timings["collect"] = time.perf_counter() - t0
        wall = time.perf_counter() - started + self.timings["setup"]
        self.timings["total"] = wall
        self.timings["cpu"] = time.process_time() - cpu
        summary = summarize(
            outcomes,
            jobs=len(self.workload.jobs),
            virtual_s=self.clock.t,
            wall_s=wall,
            ticks=self.ticks,
            plan_ticks=self.plan_ticks,
            solver_s=self.solver_s,
            events=self.event_count,
            launch_failures=self.launcher.launch_failures,
        )
        counters = {f"ticks:{k}": v for k, v in sorted(self.ticks_by_cause.items())}
        counters.update((f"writes:{k}", v) for k, v in sorted(self.attempts.writes.items()))
        counters["reads:remembered"] = self.attempts.hits
        counters["reads:store"] = self.attempts.misses
        counters["preemptions_seen_by_reconciler"] = self.loop.reconciler.preemptions_seen
        return SimResult(outcomes, summary, self.db_url, dict(self.timings), counters)

    def close(self) -> None:
        self.db.close()

    def _loop(self) -> None:
        while True:
            te = self.events.peek_time()
            te = math.inf if te is None else te
            tt = self._ticks_due[0] if self._ticks_due else math.inf
            t = min(te, tt)
            if t == math.inf or t > self.horizon:
                return
            self.clock.advance_to(t)
            if te <= tt:
                _, (kind, payload) = self.events.pop()
                self.event_count += 1
                self._handle(kind, payload, t)
            else:
                causes = set()
                while self._ticks_due and self._ticks_due[0] <= t:
                    causes.add(self._why.pop(heapq.heappop(self._ticks_due)))
                for cause in causes:
                    self.ticks_by_cause[cause] = self.ticks_by_cause.get(cause, 0) + 1
                self._tick(t)

    def _request_tick(self, at: float, why: str) -> None:
        """Tick at the first grid point at or after ``at`` (and after the last tick)."""
        step = self.config.tick_s
        due = math.ceil(at / step - 1e-9) * step
        if due <= self._last_tick:
            due = self._last_tick + step
        if due not in self._why:
            heapq.heappush(self._ticks_due, due)
            self._why[due] = why

    # -- events ---------------------------------------------------------------------------

    def _handle(self, kind: int, payload: object, t: float) -> None:
        started = time.perf_counter()
        if kind == _ARRIVE:
            assert isinstance(payload, int)
            self._arrive(payload, t)
            self.timings["submit"] += time.perf_counter() - started
            return
        if kind == _START:
            assert isinstance(payload, SimNode)
            self._start_worker(payload, t)
        elif kind == _END:
            assert isinstance(payload, str)
            self._end_worker(payload, t)
        else:
            assert isinstance(payload, SimNode)
            self._notice(payload, t)
        self.timings["workers"] += time.perf_counter() - started

    def _arrive(self, k: int, t: float) -> None:
        job = self.workload.jobs[k]
        [(view, _)] = self.jobs.submit(job.tenant, [job.spec(self.config.start)], self.clock.now())
        self.attempts.submitted()
        self._job_index[view.id] = k
        self.stable[view.id] = f"j{k:07d}"
        self.workers.planning_next = True
        self._request_tick(t, "arrival")

    def _start_worker(self, node: SimNode, t: float) -> None:
        k = self._job_index.get(node.tags.get("skybatch-job", ""))
        if k is None:
            return
        worker = self.workers.start(node, k, t)
        if worker is not None:
            self.events.put(worker.end_s, (_END, worker.attempt_id))
        elif node.alive_at(self._epoch + t):
            self._request_tick(t, "worker")  # stopped: its node is to be terminated

    def _end_worker(self, attempt_id: str, t: float) -> None:
        if self.workers.end(attempt_id, t):
            self._request_tick(t, "worker")

    def _notice(self, node: SimNode, t: float) -> None:
        if self.workers.notice(node, t):
            self.workers.planning_next = True  # its job is requeued
            self._request_tick(t, "preemption")
        if node.reclaim_at is not None:
            self._request_tick(node.reclaim_at - self._epoch + _AFTER, "preemption")

    # -- ticks ----------------------------------------------------------------------------

    def _tick(self, t: float) -> None:
        started = time.perf_counter()
        self.workers.before_tick(t)
        t1 = time.perf_counter()
        self.timings["workers"] += t1 - started
        writes = dict(self.attempts.writes)
        stats = self.loop.tick()
        t2 = time.perf_counter()
        self.timings["tick"] += t2 - t1
        self.timings["solver"] += stats.plan_seconds
        self.solver_s += stats.plan_seconds
        self.ticks += 1
        self.plan_ticks += 1 if stats.pending else 0
        self.tick_log.append((t, stats.pending, stats.planned, stats.plan_seconds, t2 - t1))
        self._last_tick = t
        self._follow_launches()
        self._wake_for_waiting(t, stats.pending > 0, writes)
        self.timings["wake"] += time.perf_counter() - t2
        if t >= self._next_refit:
            self._refit(t)

    def _follow_launches(self) -> None:
        """Put the nodes launched in this tick on the calendar: their workers start when
        they run, spot ones get their notice, and a node slower to boot than the launch
        timeout gets the tick at which the live loop would give up on it."""
        timeout = self.config.control.launch_timeout_s
        for c, cloud in enumerate(self.clouds):
            for node in cloud.ex_launched(self._seen[c]):
                ready = node.ready_at - self._epoch
                if node.notice_at is None or node.notice_at > node.ready_at:
                    self.events.put(ready, (_START, node))
                if node.notice_at is not None:
                    self.events.put(node.notice_at - self._epoch, (_NOTICE, node))
                if node.ready_at - node.launched_at > timeout:
                    at = node.launched_at - self._epoch + timeout + _AFTER
                    self._request_tick(at, "launch-timeout")
            self._seen[c] = cloud.ex_launch_count

    def _wake_for_waiting(self, t: float, planned: bool, writes: dict[str, int]) -> None:
        """Tick again for the jobs this tick left pending: when their planned start
        comes, when something that could place them changes (a spot or quota change, a
        cooldown running out), and at least every ``wait_tick_s``; at the next grid point
        for a job sent back to planning by a refused launch or a lost node.

        Which jobs are pending is known without asking the store: those this tick's
        plan did not start (``planned``: a plan was made), and those a refused launch
        or the reconciler sent back (counted by the store's writes)."""
        requeued = any(
            self.attempts.writes.get(name, 0) > writes.get(name, 0)
            for name in ("launch_failed", "node_lost", "unplan")
        )
        wakes: list[tuple[float, str]] = [(t + self.config.tick_s, "requeue")] if requeued else []
        waiting = False
        plan = self.loop.last_plan if planned else None
        if plan is not None:
            now_epoch = int(self.clock.now().timestamp())
            for d in plan.decisions.values():
                if d.offering_id is not None and d.start is not None and d.start <= now_epoch:
                    continue  # started now (a refused launch is counted above)
                if d.offering_id is not None and d.start is not None:
                    wakes.append((d.start - self._epoch, "planned-start"))
                    waiting = True
                elif d.reason is not Unplaced.NO_OFFERING:
                    waiting = True
        self.workers.planning_next = waiting or requeued
        if waiting:
            wakes.append((t + self.config.wait_tick_s, "waiting"))
            for cloud in self.clouds:
                change = cloud.ex_next_change(self.clock.now())
                if change is not None:
                    wakes.append((self.clock.seconds(change) + _AFTER, "cloud-change"))
            for until in self.launcher.blocked.values():
                wakes.append((until + _AFTER, "cooldown"))
        if wakes:
            at, why = min(wakes)
            self._request_tick(max(at, t), why)

    def _refit(self, t: float) -> None:
        started = time.perf_counter()
        while self._next_refit <= t:
            self._next_refit += self.config.refit_interval_s
        marker = (self.workers.ended, self.launcher.launch_failures)
        if marker != self._refit_marker:
            self._refit_marker = marker
            self.keeper.refit_now(trigger="schedule")
        self.timings["refit"] += time.perf_counter() - started


def simulate(
    config: SimConfig, workload: SimWorkload, store_dir: Path, *, quiet: bool = True
) -> SimResult:
    """Run ``workload`` through the control loop under ``config``; the store is left in
    ``store_dir/skybatch.db`` (which must not exist yet)."""
    sim = Simulation(config, workload, store_dir, quiet=quiet)
    try:
        return sim.run()
    finally:
        sim.close()


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


@contextmanager
def _quieted(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    quiet = _Quiet()
    loggers = [logging.getLogger(name) for name in _LOOP_LOGGERS]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)
