"""The report's frames as per-job facts: each finished job with its attempts, events,
and what they add up to (cost, hours, preemptions, work lost, the all-on-demand cost).
Pure: frames in, frozen values out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import pandas as pd

from scheduler.analysis import counterfactual_on_demand
from scheduler.costs.frames import rows as records
from scheduler.reports.exact import exact_us, us

SPOT = "spot"
ON_DEMAND = "on-demand"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass(frozen=True)
class Job:
    job_id: str
    tenant: str
    name: str
    state: str
    created_at: datetime
    deadline: datetime
    finished_at: datetime
    estimated_us: int
    gpu_count: int
    checkpoint_progress: float


@dataclass(frozen=True)
class Attempt:
    attempt_id: str
    market: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    preempted: bool
    start_progress: float
    end_progress: float
    cost_micros: int

    @property
    def run_us(self) -> int:
        """Run time: started to ended (0 when it never started or has not ended)."""
        if self.started_at is None or self.ended_at is None:
            return 0
        return max(0, us(self.ended_at - self.started_at))


@dataclass(frozen=True)
class Event:
    seq: int
    from_state: str
    to_state: str
    at: datetime
    reason: str
    detail: str


@dataclass(frozen=True)
class Facts:
    """One finished job and what its attempts add up to."""

    job: Job
    #: Its value of the report's label key (``(none)`` without it).
    label: str
    attempts: tuple[Attempt, ...]
    cost_micros: int
    spot_micros: int
    node_us: int
    spot_us: int
    gpu_us: int
    preemptions: int
    lost_us: int
    on_demand_micros: int
    unpriced: int
    #: ``finished_at - deadline`` if it succeeded late, else None.
    lateness_us: int | None

    @property
    def outcome(self) -> str:
        """``on_time``, ``late``, ``failed`` or ``cancelled``."""
        if self.job.state == "SUCCEEDED":
            return "late" if self.lateness_us is not None else "on_time"
        return self.job.state.lower()


def time(value: Any) -> datetime | None:
    """A frame's time value as an aware datetime (None for NaT/None)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    raise TypeError(f"not a time: {value!r}")


def _required(value: Any, what: str) -> datetime:
    t = time(value)
    if t is None:
        raise ValueError(f"{what} is missing")
    return t


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def finished_jobs(
    jobs: pd.DataFrame, start: datetime | None, end: datetime | None, tenant: str | None
) -> list[Job]:
    """The jobs that finished in ``[start, end)`` (of ``tenant``), by finish time."""
    out = []
    for r in records(jobs):
        finished = time(r["finished_at"])
        if str(r["state"]) not in TERMINAL or finished is None:
            continue
        if (start is not None and finished < start) or (end is not None and finished >= end):
            continue
        if tenant is not None and str(r["tenant"]) != tenant:
            continue
        gpus = r.get("gpu_count")
        checkpoint = r.get("checkpoint_progress")
        out.append(
            Job(
                job_id=str(r["job_id"]),
                tenant=str(r["tenant"]),
                name=str(r["name"]),
                state=str(r["state"]),
                created_at=_required(r["created_at"], "created_at"),
                deadline=_required(r["deadline"], "deadline"),
                finished_at=finished,
                estimated_us=exact_us(float(r["estimated_runtime_s"])),
                gpu_count=0 if gpus is None or pd.isna(gpus) else int(gpus),
                checkpoint_progress=0.0 if checkpoint is None else float(checkpoint),
            )
        )
    return sorted(out, key=lambda j: (j.finished_at, j.job_id))


def attempts_of(attempts: pd.DataFrame, ids: set[str]) -> dict[str, list[Attempt]]:
    """The attempts of the jobs ``ids``, per job, in the order they were created."""
    out: dict[str, list[Attempt]] = defaultdict(list)
    for r in records(attempts):
        job_id = str(r["job_id"])
        if job_id not in ids:
            continue
        out[job_id].append(
            Attempt(
                attempt_id=str(r["attempt_id"]),
                market=str(r["market"]),
                created_at=_required(r["created_at"], "created_at"),
                started_at=time(r["started_at"]),
                ended_at=time(r["ended_at"]),
                preempted=bool(r["preempted"]),
                start_progress=float(r["start_progress"]),
                end_progress=float(r["end_progress"]),
                cost_micros=int(r["cost_micros"]),
            )
        )
    for mine in out.values():
        mine.sort(key=lambda a: (a.created_at, a.attempt_id))
    return out


def events_of(events: pd.DataFrame, ids: set[str]) -> dict[str, list[Event]]:
    """The events of the jobs ``ids``, per job, in order."""
    out: dict[str, list[Event]] = defaultdict(list)
    for r in records(events):
        job_id = str(r["job_id"])
        if job_id not in ids:
            continue
        out[job_id].append(
            Event(
                seq=int(r["seq"]),
                from_state=_text(r["from_state"]),
                to_state=_text(r["to_state"]),
                at=_required(r["at"], "event time"),
                reason=_text(r["reason"]),
                detail=_text(r["detail"]),
            )
        )
    for mine in out.values():
        mine.sort(key=lambda e: e.seq)
    return out


def label_values(labels: pd.DataFrame, key: str, ids: set[str]) -> dict[str, str]:
    """job id -> its value of label ``key`` (jobs without it are left out)."""
    if labels.empty:
        return {}
    mine = labels[labels["key"] == key]
    return {
        str(j): str(v) for j, v in zip(mine["job_id"], mine["value"], strict=True) if str(j) in ids
    }


def repriced(attempts: pd.DataFrame, prices: pd.DataFrame | None) -> dict[str, tuple[int, str]]:
    """attempt id -> (its all-on-demand cost in micro-dollars, where the on-demand price
    came from), by :func:`scheduler.analysis.counterfactual_on_demand` over *every*
    attempt (on-demand prices are looked up among all of them)."""
    if attempts.empty:
        return {}
    cf = counterfactual_on_demand(attempts, prices)
    return {
        str(a): (int(m), str(s))
        for a, m, s in zip(
            cf["attempt_id"], cf["counterfactual_micros"], cf["on_demand_source"], strict=True
        )
    }


def work_lost_us(job: Job, attempts: Sequence[Attempt], i: int) -> int:
    """The work preempted attempt ``i`` lost, in microseconds of the job's estimated
    runtime: ``max(0, its last reported progress - the checkpoint the job resumed
    from) x estimate``; it resumed from the next attempt's ``start_progress``, or
    (no next attempt) from the job's checkpoint."""
    restored = attempts[i + 1].start_progress if i + 1 < len(attempts) else job.checkpoint_progress
    with localcontext() as ctx:
        ctx.prec = 100  # floats are exact in Decimal: keep every digit until the rounding
        lost = max(Decimal(0), Decimal(attempts[i].end_progress) - Decimal(restored))
        return int((lost * job.estimated_us).to_integral_value(ROUND_HALF_EVEN))


def facts(
    job: Job, attempts: Sequence[Attempt], prices: dict[str, tuple[int, str]], label: str
) -> Facts:
    """Add up one job's attempts (``prices`` from :func:`repriced`)."""
    spot = [a for a in attempts if a.market == SPOT]
    node_us = sum(a.run_us for a in attempts)
    on_demand = unpriced = 0
    for a in attempts:
        micros, source = prices.get(a.attempt_id, (a.cost_micros, "unknown"))
        on_demand += micros
        unpriced += a.market != ON_DEMAND and source == "unknown"
    late = job.state == "SUCCEEDED" and job.finished_at > job.deadline
    return Facts(
        job=job,
        label=label,
        attempts=tuple(attempts),
        cost_micros=sum(a.cost_micros for a in attempts),
        spot_micros=sum(a.cost_micros for a in spot),
        node_us=node_us,
        spot_us=sum(a.run_us for a in spot),
        gpu_us=node_us * job.gpu_count,
        preemptions=sum(a.preempted for a in attempts),
        lost_us=sum(work_lost_us(job, attempts, i) for i, a in enumerate(attempts) if a.preempted),
        on_demand_micros=on_demand,
        unpriced=unpriced,
        lateness_us=us(job.finished_at - job.deadline) if late else None,
    )
