"""Row <-> domain conversion and the one way a job changes state (with its event row)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session

from scheduler.domain import (
    AttemptState,
    AttemptView,
    JobSpec,
    JobState,
    JobView,
    Placement,
    Resources,
)
from scheduler.store.tables import AttemptRow, JobEventRow, JobRow
from solver.money import from_micros


def spec_to_json(spec: JobSpec) -> str:
    doc: dict[str, Any] = {
        "name": spec.name,
        "command": list(spec.command),
        "estimated_runtime_s": spec.estimated_runtime.total_seconds(),
        "deadline": spec.deadline.isoformat(),
        "resources": {
            "vcpus": spec.resources.vcpus,
            "memory_gib": spec.resources.memory_gib,
            "gpu_count": spec.resources.gpu_count,
            "gpu_type": spec.resources.gpu_type,
        },
        "labels": dict(spec.labels),
        "env": dict(spec.env),
        "spot_allowed": spec.spot_allowed,
        "allowed_clouds": list(spec.allowed_clouds),
        "allowed_regions": list(spec.allowed_regions),
        "checkpoint_interval_s": spec.checkpoint_interval.total_seconds(),
        "client_request_id": spec.client_request_id,
    }
    return json.dumps(doc, sort_keys=True)


def spec_from_json(text: str) -> JobSpec:
    d = json.loads(text)
    r = d["resources"]
    return JobSpec(
        name=d["name"],
        command=tuple(d["command"]),
        estimated_runtime=timedelta(seconds=d["estimated_runtime_s"]),
        deadline=datetime.fromisoformat(d["deadline"]),
        resources=Resources(r["vcpus"], r["memory_gib"], r["gpu_count"], r["gpu_type"]),
        labels=d["labels"],
        env=d["env"],
        spot_allowed=d["spot_allowed"],
        allowed_clouds=tuple(d["allowed_clouds"]),
        allowed_regions=tuple(d["allowed_regions"]),
        checkpoint_interval=timedelta(seconds=d["checkpoint_interval_s"]),
        client_request_id=d["client_request_id"],
    )


def attempt_view(row: AttemptRow) -> AttemptView:
    return AttemptView(
        id=row.id,
        job_id=row.job_id,
        number=row.number,
        placement=Placement(
            cloud=row.cloud,
            region=row.region,
            zone=row.zone,
            instance_type=row.instance_type,
            market=row.market,
            price_per_hour=from_micros(row.price_micros_per_hour),
        ),
        state=AttemptState(row.state),
        node_id=row.node_id,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        exit_code=row.exit_code,
        preempted=row.preempted,
        progress=row.progress,
        cost=from_micros(row.cost_micros),
        last_heartbeat=row.last_heartbeat,
    )


def job_view(
    row: JobRow | Row[Any], attempts: list[AttemptRow] | None = None, *, spec: JobSpec | None = None
) -> JobView:
    """The view of a job row (an ORM row, or a plain row of the ``jobs`` table); ``spec``
    when the caller parsed ``spec_json`` already."""
    return JobView(
        id=row.id,
        tenant=row.tenant,
        spec=spec if spec is not None else spec_from_json(row.spec_json),
        state=JobState(row.state),
        state_reason=row.state_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        progress=row.progress,
        checkpoint_progress=row.checkpoint_progress,
        checkpoint_seq=row.checkpoint_seq,
        preemptions=row.preemptions,
        failures=row.failures,
        cost=from_micros(row.cost_micros),
        exit_code=row.exit_code,
        finished_at=row.finished_at,
        attempts=tuple(attempt_view(a) for a in sorted(attempts or [], key=lambda a: a.number)),
        planned_offering=row.planned_offering,
    )


def transition(
    session: Session,
    job: JobRow,
    to: JobState,
    *,
    at: datetime,
    reason: str,
    detail: str = "",
    attempt_id: str = "",
) -> None:
    """Move ``job`` to ``to`` and append the event row, in the caller's transaction."""
    session.add(
        JobEventRow(
            job_id=job.id,
            tenant=job.tenant,
            from_state=job.state,
            to_state=to.value,
            at=at,
            reason=reason,
            detail=detail,
            attempt_id=attempt_id,
        )
    )
    job.state = to.value
    job.state_reason = reason
    job.updated_at = at
    if to.terminal:
        job.finished_at = at
    session.add(job)
