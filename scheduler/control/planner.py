"""Plan step: build the solver's ``Problem`` from the store and persist its decisions."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import solver
from adapters.base import Market, Offering, QuotaLimit
from scheduler.control.settings import ControlSettings
from scheduler.costs import CostModel
from scheduler.domain import JobState, JobView
from scheduler.store import AttemptStore, LiveAttempt, TenantStore
from solver.money import to_micros

log = logging.getLogger(__name__)


def _epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def solver_offering(o: Offering) -> solver.Offering:
    return solver.Offering(
        id=o.id,
        cloud=o.cloud,
        region=o.region,
        zone=o.zone,
        instance_type=o.instance_type,
        market=solver.Market(o.market.value),
        vcpus=o.vcpus,
        memory_gib=o.memory_gib,
        gpu_count=o.gpu_count,
        gpu_type=o.gpu_type,
        price_micros_per_hour=solver.money_to_micros(o.price_per_hour),
        hazard_per_hour=o.preemption_hazard_per_hour if o.market is Market.SPOT else 0.0,
        launch_delay_s=round(o.launch_delay_s),
        quota_draw=o.quota_draw,
    )


def runtime_factor(job: JobView, model: CostModel, settings: ControlSettings) -> float:
    """Pessimistic runtime / estimate for deadline safety: the cost model's upper
    quantile for the job's class, else the configured pessimism."""
    return model.runtime_factor(job.spec.class_key, settings.runtime_pessimism)


def solver_job(job: JobView, settings: ControlSettings, model: CostModel) -> solver.Job:
    s = job.spec
    remaining = s.estimated_runtime.total_seconds() * (1.0 - job.checkpoint_progress)
    remaining = max(1.0, remaining)
    pessimistic = max(remaining, remaining * runtime_factor(job, model, settings))
    return solver.Job(
        id=job.id,
        vcpus=s.resources.vcpus,
        memory_gib=s.resources.memory_gib,
        gpu_count=s.resources.gpu_count,
        gpu_type=s.resources.gpu_type,
        runtime_s=round(remaining),
        runtime_p_s=round(pessimistic),
        deadline=_epoch(s.deadline),
        earliest_start=0,
        spot_allowed=s.spot_allowed,
        restart_overhead_s=settings.restart_overhead_s,
        checkpoint_interval_s=round(s.checkpoint_interval.total_seconds()),
        allowed_clouds=frozenset(s.allowed_clouds),
        allowed_regions=frozenset(s.allowed_regions),
        tenant=job.tenant,
        arrival=_epoch(job.created_at),
        total_runtime_s=round(s.estimated_runtime.total_seconds()),
    )


def hold_ends(
    now: datetime,
    live: Sequence[LiveAttempt],
    jobs: Mapping[str, JobView],
    settings: ControlSettings,
    model: CostModel,
) -> dict[str, datetime]:
    """When each live attempt is expected to give its quota back: now plus what is left of
    its pessimistic runtime (plus a launch delay while it is still starting)."""
    out: dict[str, datetime] = {}
    for la in live:
        job = jobs.get(la.attempt.job_id)
        if job is None:
            continue
        left = job.spec.estimated_runtime * max(1.0, runtime_factor(job, model, settings))
        left *= max(0.0, 1.0 - la.attempt.progress)
        if la.attempt.started_at is None:
            left += timedelta(seconds=settings.launch_timeout_s)
        out[la.attempt.id] = now + left
    return out


def free_quota(
    quotas: Sequence[QuotaLimit],
    live: Sequence[LiveAttempt],
    offerings: Mapping[str, Offering],
    *,
    now: datetime,
    hold_until: Mapping[str, datetime],
    settings: ControlSettings,
) -> tuple[solver.QuotaPool, ...]:
    """Capacity per slot minus what live attempts hold until they are expected to end
    (an attempt with no estimate holds its quota through the whole horizon)."""
    T, slot = settings.plan_horizon_slots, settings.plan_slot_s
    free = {q.pool: [q.capacity] * T for q in quotas}
    for la in live:
        off = offerings.get(la.attempt.placement.offering_id)
        if off is None:
            continue
        end = hold_until.get(la.attempt.id)
        held = T if end is None else max(1, min(T, math.ceil((end - now).total_seconds() / slot)))
        for pool, amount in off.quota_draw:
            if pool in free:
                for t in range(held):
                    free[pool][t] -= amount
    return tuple(
        solver.QuotaPool(pool, slots[0], free_by_slot=tuple(slots)) for pool, slots in free.items()
    )


def build_problem(
    *,
    now: datetime,
    pending: Sequence[JobView],
    offerings: Sequence[Offering],
    quotas: Sequence[QuotaLimit],
    live: Sequence[LiveAttempt],
    live_jobs: Mapping[str, JobView],
    blocked: set[str],
    settings: ControlSettings,
    model: CostModel,
) -> solver.Problem:
    """The planning problem. Offerings are priced by the cost model (effective prices,
    learned hazards and launch delays); what is launched stays the catalog offering,
    so attempts record list prices and the next refit compares against them."""
    usable = [o for o in offerings if o.id not in blocked]
    by_id = {o.id: o for o in offerings}
    hold_until = hold_ends(now, live, live_jobs, settings, model)
    return solver.Problem(
        now=_epoch(now),
        jobs=tuple(solver_job(j, settings, model) for j in pending),
        offerings=tuple(solver_offering(model.offering(o)) for o in usable),
        quota_pools=free_quota(
            quotas, live, by_id, now=now, hold_until=hold_until, settings=settings
        ),
        slot_s=settings.plan_slot_s,
        horizon_slots=settings.plan_horizon_slots,
    )


# -- budgets ---------------------------------------------------------------------------


def committed_micros(
    now: datetime,
    live: Sequence[LiveAttempt],
    jobs: Mapping[str, JobView],
    hold_until: Mapping[str, datetime],
    *,
    tenant: str,
    start: datetime,
    end: datetime,
) -> int:
    """What the tenant's live attempts that started in ``[start, end)`` will cost: their
    price from launch until they are expected to end (at least until now)."""
    total = 0
    for la in live:
        a = la.attempt
        job = jobs.get(a.job_id)
        if job is None or job.tenant != tenant or not start <= a.created_at < end:
            continue
        began = la.launched_at or a.created_at
        until = max(now, hold_until.get(a.id, now))
        hours = max(0.0, (until - began).total_seconds()) / 3600
        total += math.ceil(to_micros(a.placement.price_per_hour) * hours)
    return total


class TenantBudgets:
    """What each tenant with a budget has left in its current window: the amount minus
    what its ended attempts cost and its live ones are expected to cost (an attempt
    counts against the window it started in, as the solver counts a start)."""

    def __init__(
        self,
        tenants: TenantStore,
        attempts: AttemptStore,
        *,
        settings: ControlSettings,
        model: Callable[[], CostModel] = CostModel.catalog,
    ) -> None:
        self.tenants = tenants
        self.attempts = attempts
        self.settings = settings
        self.model = model

    def __call__(self, now: datetime) -> tuple[solver.Budget, ...]:
        budgets = self.tenants.budgets()
        if not budgets:
            return ()
        live = self.attempts.live_attempts()
        jobs = {
            j.id: j
            for j in self.attempts.jobs_in(JobState.PLANNED, JobState.LAUNCHING, JobState.RUNNING)
        }
        hold_until = hold_ends(now, live, jobs, self.settings, self.model())
        out = []
        for b in budgets:
            start, end = b.bounds(now)
            if end <= now:
                continue
            spent = self.tenants.ended_spend_micros(b.tenant, start, end)
            spent += committed_micros(
                now, live, jobs, hold_until, tenant=b.tenant, start=start, end=end
            )
            left = max(0, to_micros(b.amount) - spent)
            out.append(solver.Budget(b.tenant, left, _epoch(start), _epoch(end)))
        return tuple(out)


BudgetSource = Callable[[datetime], tuple[solver.Budget, ...]]
