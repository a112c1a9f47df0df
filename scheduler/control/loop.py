"""The control loop: plan -> launch -> reconcile, one tick at a time.

Every step reads its inputs from the store and writes its outcome back before the
next acts on it, so the loop can die between any two lines and resume.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import solver
from scheduler.control.costmodel import CostModelKeeper
from scheduler.control.launcher import Launcher
from scheduler.control.planner import BudgetSource, build_problem
from scheduler.control.reconciler import Reconciler
from scheduler.control.runtime_tuning import after_tick, loop_tuning
from scheduler.control.settings import ControlSettings
from scheduler.costs import CostModel
from scheduler.domain import JobState
from scheduler.offerings import OfferingCatalog
from scheduler.store import AttemptStore
from solver.policies import Policy

log = logging.getLogger(__name__)

#: Job states whose attempts hold quota.
LIVE_STATES = (JobState.PLANNED, JobState.LAUNCHING, JobState.RUNNING)


@dataclass(frozen=True)
class TickStats:
    pending: int
    planned: int
    plan_seconds: float
    gap: float
    #: The cost-model version the plan was priced with (0: the catalog).
    cost_model_version: int = 0


class ControlLoop:
    def __init__(
        self,
        attempts: AttemptStore,
        catalog: OfferingCatalog,
        launcher: Launcher,
        *,
        settings: ControlSettings,
        clock: Callable[[], datetime],
        costs: CostModelKeeper | None = None,
        solve: Policy = solver.solve,
        budgets: BudgetSource | None = None,
    ) -> None:
        self.attempts = attempts
        #: Where the planner's prices, hazards and runtime factors come from; without
        #: one, the catalog as listed.
        self.costs = costs
        self.catalog = catalog
        self.launcher = launcher
        self.reconciler = Reconciler(attempts, catalog, launcher, settings=settings, clock=clock)
        self.settings = settings
        self.clock = clock
        #: What plans: ``solver.solve``, or a policy of ``solver.policies`` (simulations).
        self.solve = solve
        #: What each tenant with a budget has left, read at every plan; optional.
        self.budgets = budgets
        #: The last tick's problem and plan, replaced together in one assignment so a
        #: reader on another thread (``skybatch explain``) never sees a mismatched pair.
        self.last_tick: tuple[solver.Problem, solver.Plan] | None = None
        self.ticks = 0
        #: Told about every plan the solver made (the service's metrics); optional.
        self.on_plan: Callable[[TickStats], None] | None = None

    @property
    def last_plan(self) -> solver.Plan | None:
        return self.last_tick[1] if self.last_tick else None

    def tick(self) -> TickStats:
        # Nodes of attempts that ended since the last tick go first: the planner counts
        # their quota as free, and a launch into quota the cloud still counts as held
        # would be refused (and its offering blocked for a cooldown).
        self.reconciler.terminate_finished()
        stats = self.plan()
        self.launcher.launch_planned()
        self.reconciler.reconcile()
        self.ticks += 1
        return stats

    def plan(self) -> TickStats:
        begun = time.perf_counter()
        pending = self.attempts.jobs_in(JobState.PENDING)
        if not pending:
            return TickStats(0, 0, 0.0, 0.0)
        now = self.clock()
        version, model = self.costs.current() if self.costs else (0, CostModel.catalog())
        problem = build_problem(
            now=now,
            pending=pending,
            offerings=self.catalog.offerings(),
            quotas=self.catalog.quotas(),
            live=self.attempts.live_attempts(),
            live_jobs={j.id: j for j in self.attempts.jobs_in(*LIVE_STATES)},
            blocked=self.launcher.blocked_now(),
            settings=self.settings,
            model=model,
        )
        if self.budgets is not None and (found := self.budgets(now)):
            problem = replace(problem, budgets=(*problem.budgets, *found))
        started = time.perf_counter()
        plan = self.solve(
            problem, time_limit_s=self.settings.solver_time_limit_s, hint=self.last_plan
        )
        elapsed = time.perf_counter() - started
        self.last_tick = (problem, plan)
        starting: list[tuple[str, str, str]] = []
        waiting: list[tuple[str, str]] = []
        for job in pending:
            d = plan.decisions[job.id]
            if d.offering_id is not None and d.start is not None and d.start <= problem.now:
                note = f"{d.offering_id} (late: {d.reason})" if d.late else d.offering_id
                starting.append((job.id, d.offering_id, note))
                continue
            if d.offering_id is not None:
                why = f"waiting: planned to start later on {d.offering_id}"
            else:
                why = f"waiting: {d.reason}"
            if job.state_reason != why:
                waiting.append((job.id, why))
        # In short transactions: the API's writes get their turn in between.
        planned = self.attempts.plan_many(starting, now) if starting else 0
        if waiting:
            self.attempts.note_waiting_many(waiting, now)
        stats = TickStats(len(pending), planned, elapsed, plan.gap, version)
        log.info(
            "plan tick: %d pending, %d planned, build %.3f s, solve %.3f s, persist %.3f s"
            " (gap %.3g)",
            len(pending),
            planned,
            started - begun,
            elapsed,
            time.perf_counter() - started - elapsed,
            plan.gap,
        )
        if self.on_plan is not None:
            self.on_plan(stats)
        return stats

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set; a failing tick is logged and the next one runs."""
        runs = 0
        # The API threads first: GIL hand-over and garbage collection (runtime_tuning).
        with loop_tuning():
            while not stop.is_set():
                started = time.monotonic()
                try:
                    self.tick()
                except Exception:
                    log.exception("control loop tick failed; retrying next tick")
                runs += 1
                after_tick(runs)
                stop.wait(max(0.0, self.settings.tick_interval_s - (time.monotonic() - started)))
