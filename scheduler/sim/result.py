"""What a simulation returns: per-job outcomes read back from its store, and a summary.

The store the simulation leaves behind is the source of truth: outcomes are read from
it through :class:`~scheduler.store.JobStore` as any client would, so a report over
the store (``skybatch report sla --db-url sqlite:///...``) and this summary agree.
Money is exact (``Decimal`` from the store's micro-dollars).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from scheduler.domain import AttemptState, JobState, JobView
from scheduler.sim.workload import SimJob
from scheduler.store import JobStore


@dataclass(frozen=True)
class AttemptOutcome:
    offering_id: str
    market: str
    state: AttemptState
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    preempted: bool
    cost: Decimal

    @property
    def run_s(self) -> float:
        """Seconds its worker ran (first heartbeat to end)."""
        if self.started_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


@dataclass(frozen=True)
class JobOutcome:
    key: str
    job_id: str
    tenant: str
    state: JobState
    arrival: datetime
    deadline: datetime
    finished_at: datetime | None
    #: The truth and what the scheduler was told.
    runtime_s: float
    estimate_s: float
    spot_allowed: bool
    preemptions: int
    cost: Decimal
    attempts: tuple[AttemptOutcome, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def offerings(self) -> tuple[str, ...]:
        """The offering of each attempt, in order."""
        return tuple(a.offering_id for a in self.attempts)

    @property
    def met_deadline(self) -> bool:
        return (
            self.state is JobState.SUCCEEDED
            and self.finished_at is not None
            and self.finished_at <= self.deadline
        )

    @property
    def lateness_s(self) -> float | None:
        """Seconds past the deadline it finished (0 when on time; None: never finished)."""
        if self.state is not JobState.SUCCEEDED or self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.deadline).total_seconds())


@dataclass(frozen=True)
class SimSummary:
    jobs: int
    succeeded: int
    failed: int
    cancelled: int
    #: Not over when the simulation stopped (at its horizon).
    unfinished: int
    cost: Decimal
    deadlines_met: int
    #: Share of all jobs that succeeded by their deadline.
    attainment: float
    late: int
    mean_lateness_s: float
    p95_lateness_s: float
    max_lateness_s: float
    preemptions: int
    attempts: int
    #: Spot's share of the cost, and of the hours workers ran.
    spot_cost_share: float
    spot_hours_share: float
    node_hours: float
    #: Virtual seconds simulated, and what it took.
    virtual_s: float
    wall_s: float
    ticks: int
    plan_ticks: int
    solver_s: float
    events: int
    launch_failures: int


@dataclass(frozen=True)
class SimResult:
    outcomes: tuple[JobOutcome, ...]
    summary: SimSummary
    #: The store the simulation left (``sqlite:///...``).
    db_url: str
    #: Wall seconds per part of the run (setup, submit, tick (solver included), solver,
    #: workers, wake, refit, collect, total) and the process's CPU seconds (cpu).
    timings: Mapping[str, float] = field(default_factory=dict)
    #: What the run did: ticks by what asked for them (``ticks:arrival``, ...), store
    #: writes by method (``writes:heartbeat``, ...), reads answered from memory and by
    #: the database (``reads:remembered``, ``reads:store``).
    counters: Mapping[str, int] = field(default_factory=dict)

    def outcome(self, key: str) -> JobOutcome:
        for o in self.outcomes:
            if o.key == key:
                return o
        raise KeyError(key)

    def decisions(self) -> dict[str, tuple[tuple[str, ...], JobState]]:
        """Per job key: the offerings its attempts ran on, in order, and its final state
        (what the live-vs-simulated validation compares)."""
        return {o.key: (o.offerings, o.state) for o in self.outcomes}

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready document (money as decimal strings, times as ISO 8601)."""
        s = self.summary
        summary = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in vars(s).items()}
        return {
            "db_url": self.db_url,
            "summary": summary,
            "timings": dict(self.timings),
            "counters": dict(self.counters),
            "jobs": [
                {
                    "key": o.key,
                    "job_id": o.job_id,
                    "tenant": o.tenant,
                    "state": o.state.value,
                    "arrival": o.arrival.isoformat(),
                    "deadline": o.deadline.isoformat(),
                    "finished_at": o.finished_at.isoformat() if o.finished_at else None,
                    "met_deadline": o.met_deadline,
                    "lateness_s": o.lateness_s,
                    "runtime_s": o.runtime_s,
                    "estimate_s": o.estimate_s,
                    "cost": str(o.cost),
                    "preemptions": o.preemptions,
                    "attempts": [
                        {
                            "offering": a.offering_id,
                            "state": a.state.value,
                            "preempted": a.preempted,
                            "cost": str(a.cost),
                        }
                        for a in o.attempts
                    ],
                }
                for o in self.outcomes
            ],
        }


def read_outcomes(jobs: JobStore, workload: Sequence[SimJob]) -> tuple[JobOutcome, ...]:
    """Every workload job as the store has it, in workload order (a job never
    submitted, because the horizon came first, is left out)."""
    views: dict[str, JobView] = {}
    token = ""
    while True:
        page, token = jobs.list_page(None, page_size=1000, page_token=token)
        views.update((v.spec.name, v) for v in page)
        if not token:
            break
    out = []
    for job in workload:
        v = views.get(job.key)
        if v is None:
            continue
        out.append(
            JobOutcome(
                key=job.key,
                job_id=v.id,
                tenant=v.tenant,
                state=v.state,
                arrival=v.created_at,
                deadline=v.spec.deadline,
                finished_at=v.finished_at,
                runtime_s=job.runtime_s,
                estimate_s=job.estimate_s,
                spot_allowed=v.spec.spot_allowed,
                preemptions=v.preemptions,
                cost=v.cost,
                attempts=tuple(
                    AttemptOutcome(
                        offering_id=a.placement.offering_id,
                        market=a.placement.market,
                        state=a.state,
                        created_at=a.created_at,
                        started_at=a.started_at,
                        ended_at=a.ended_at,
                        preempted=a.preempted,
                        cost=a.cost,
                    )
                    for a in v.attempts
                ),
                labels=dict(v.spec.labels),
            )
        )
    return tuple(out)


def summarize(outcomes: Sequence[JobOutcome], *, jobs: int, **run: Any) -> SimSummary:
    """The summary of ``outcomes`` (``jobs``: how many the workload had; ``run``: the
    run's own counters, see :class:`SimSummary`)."""
    states = [o.state for o in outcomes]
    lateness = [o.lateness_s for o in outcomes if o.lateness_s is not None]
    late = [x for x in lateness if x > 0]
    attempts = [a for o in outcomes for a in o.attempts]
    cost = sum((o.cost for o in outcomes), Decimal(0))
    spot_cost = sum((a.cost for a in attempts if a.market == "spot"), Decimal(0))
    hours = sum(a.run_s for a in attempts) / 3600
    spot_hours = sum(a.run_s for a in attempts if a.market == "spot") / 3600
    met = sum(1 for o in outcomes if o.met_deadline)
    return SimSummary(
        jobs=jobs,
        succeeded=states.count(JobState.SUCCEEDED),
        failed=states.count(JobState.FAILED),
        cancelled=states.count(JobState.CANCELLED),
        unfinished=jobs - sum(1 for s in states if s.terminal),
        cost=cost,
        deadlines_met=met,
        attainment=met / jobs if jobs else 1.0,
        late=len(late),
        mean_lateness_s=sum(late) / len(late) if late else 0.0,
        p95_lateness_s=_quantile(lateness, 0.95),
        max_lateness_s=max(lateness, default=0.0),
        preemptions=sum(o.preemptions for o in outcomes),
        attempts=len(attempts),
        spot_cost_share=float(spot_cost / cost) if cost else 0.0,
        spot_hours_share=spot_hours / hours if hours else 0.0,
        node_hours=hours,
        **run,
    )


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[k]
