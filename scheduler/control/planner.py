"""Plan step: build the solver's ``Problem`` from the store and persist its decisions."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

import solver
from adapters.base import Market, Offering, QuotaLimit
from scheduler.control.settings import ControlSettings
from scheduler.domain import JobView
from scheduler.store import LiveAttempt

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


def solver_job(job: JobView, settings: ControlSettings) -> solver.Job:
    s = job.spec
    remaining = s.estimated_runtime.total_seconds() * (1.0 - job.checkpoint_progress)
    remaining = max(1.0, remaining)
    return solver.Job(
        id=job.id,
        vcpus=s.resources.vcpus,
        memory_gib=s.resources.memory_gib,
        gpu_count=s.resources.gpu_count,
        gpu_type=s.resources.gpu_type,
        runtime_s=round(remaining),
        runtime_p_s=round(remaining * settings.runtime_pessimism),
        deadline=_epoch(s.deadline),
        earliest_start=0,
        spot_allowed=s.spot_allowed,
        restart_overhead_s=settings.restart_overhead_s,
        checkpoint_interval_s=round(s.checkpoint_interval.total_seconds()),
        allowed_clouds=frozenset(s.allowed_clouds),
        allowed_regions=frozenset(s.allowed_regions),
        tenant=job.tenant,
    )


def free_quota(
    quotas: Sequence[QuotaLimit], live: Sequence[LiveAttempt], offerings: Mapping[str, Offering]
) -> tuple[solver.QuotaPool, ...]:
    """Capacity minus what live attempts hold."""
    free = {q.pool: q.capacity for q in quotas}
    for la in live:
        off = offerings.get(la.attempt.placement.offering_id)
        if off is None:
            continue
        for pool, amount in off.quota_draw:
            free[pool] = free.get(pool, 0.0) - amount
    return tuple(solver.QuotaPool(pool, amount) for pool, amount in free.items())


def build_problem(
    *,
    now: datetime,
    pending: Sequence[JobView],
    offerings: Sequence[Offering],
    quotas: Sequence[QuotaLimit],
    live: Sequence[LiveAttempt],
    blocked: set[str],
    settings: ControlSettings,
) -> solver.Problem:
    usable = [o for o in offerings if o.id not in blocked]
    return solver.Problem(
        now=_epoch(now),
        jobs=tuple(solver_job(j, settings) for j in pending),
        offerings=tuple(solver_offering(o) for o in usable),
        quota_pools=free_quota(quotas, live, {o.id: o for o in offerings}),
    )
