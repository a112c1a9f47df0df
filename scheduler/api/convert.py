"""Protobuf <-> domain conversion: the only place that knows both shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from scheduler.api.gen.skybatch.v1 import jobs_pb2 as pb
from scheduler.domain import (
    AttemptState,
    AttemptView,
    CostParts,
    JobEvent,
    JobExplanation,
    JobSpec,
    JobState,
    JobView,
    OptionLoss,
    Placement,
    PlanDecision,
    PlanOption,
    Resources,
)
from scheduler.errors import InvalidArgument, InvalidJobSpec

_STATE_TO_PB: dict[JobState, int] = {s: pb.JobState.Value(f"JOB_STATE_{s.value}") for s in JobState}
_PB_TO_STATE = {v: k for k, v in _STATE_TO_PB.items()}
_LOSS_TO_PB: dict[OptionLoss, int] = {x: pb.Loss.Value(f"LOSS_{x.name}") for x in OptionLoss}
_PB_TO_LOSS = {v: k for k, v in _LOSS_TO_PB.items()}


def state_to_pb(state: JobState) -> int:
    return _STATE_TO_PB[state]


def state_from_pb(value: int, field: str = "states") -> JobState:
    try:
        return _PB_TO_STATE[value]
    except KeyError:
        raise InvalidJobSpec(field, f"unknown job state {value}") from None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ts(dt: datetime | None) -> Timestamp | None:
    # What Timestamp.FromDatetime computes, without its time-tuple round trip (the
    # hot path of every response: three or four timestamps per job).
    if dt is None:
        return None
    delta = (dt if dt.tzinfo is not None else dt.astimezone(UTC)) - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def dur(td: timedelta) -> Duration:
    # Duration.FromTimedelta, directly: seconds and nanos carry the same sign.
    seconds, nanos = td.days * 86_400 + td.seconds, td.microseconds * 1000
    if seconds < 0 < nanos:
        seconds, nanos = seconds + 1, nanos - 1_000_000_000
    return Duration(seconds=seconds, nanos=nanos)


# The ranges google/protobuf/{timestamp,duration}.proto define (0001-01-01 to
# 9999-12-31; +-10,000 years): outside them a message is malformed, not just unusual.
_MIN_TS_SECONDS = -62_135_596_800
_MAX_TS_SECONDS = 253_402_300_799
_MAX_DURATION_SECONDS = 315_576_000_000


def timestamp_from_pb(t: Timestamp, field: str) -> datetime:
    """An aware UTC datetime, or :class:`InvalidArgument` naming ``field``."""
    if not _MIN_TS_SECONDS <= t.seconds <= _MAX_TS_SECONDS or not 0 <= t.nanos < 1_000_000_000:
        raise InvalidArgument(field, "not a valid timestamp (years 0001 to 9999)")
    return _EPOCH + timedelta(seconds=t.seconds, microseconds=t.nanos // 1000)


def duration_from_pb(d: Duration, field: str) -> timedelta:
    """A timedelta, or :class:`InvalidArgument` naming ``field``."""
    if (
        abs(d.seconds) > _MAX_DURATION_SECONDS
        or abs(d.nanos) >= 1_000_000_000
        or (d.seconds > 0 > d.nanos)
        or (d.seconds < 0 < d.nanos)
    ):
        raise InvalidArgument(field, "not a valid duration")
    try:
        return d.ToTimedelta()
    except OverflowError:  # more days than a timedelta holds
        raise InvalidArgument(field, "not a valid duration") from None


def spec_from_pb(m: pb.JobSpec, field: str = "spec") -> JobSpec:
    """Structural conversion; the rules live in ``scheduler.jobspec.validate``."""
    if not m.HasField("deadline"):
        raise InvalidJobSpec(f"{field}.deadline", "required")
    if not m.HasField("estimated_runtime"):
        raise InvalidJobSpec(f"{field}.estimated_runtime", "required")
    try:
        deadline = timestamp_from_pb(m.deadline, f"{field}.deadline")
        runtime = duration_from_pb(m.estimated_runtime, f"{field}.estimated_runtime")
        ckpt = duration_from_pb(m.checkpoint_interval, f"{field}.checkpoint_interval")
    except InvalidArgument as exc:
        raise InvalidJobSpec(exc.field, exc.problem) from None
    r = m.resources
    return JobSpec(
        name=m.name,
        command=tuple(m.command),
        estimated_runtime=runtime,
        deadline=deadline,
        resources=Resources(r.vcpus, r.memory_gib, r.gpu_count, r.gpu_type),
        labels=dict(m.labels),
        env=dict(m.env),
        spot_allowed=m.spot_allowed,
        allowed_clouds=tuple(m.allowed_clouds),
        allowed_regions=tuple(m.allowed_regions),
        checkpoint_interval=ckpt,
        client_request_id=m.client_request_id,
    )


def spec_to_pb(s: JobSpec) -> pb.JobSpec:
    return pb.JobSpec(
        name=s.name,
        labels=dict(s.labels),
        command=list(s.command),
        env=dict(s.env),
        resources=pb.Resources(
            vcpus=s.resources.vcpus,
            memory_gib=s.resources.memory_gib,
            gpu_count=s.resources.gpu_count,
            gpu_type=s.resources.gpu_type,
        ),
        estimated_runtime=dur(s.estimated_runtime),
        deadline=ts(s.deadline),
        spot_allowed=s.spot_allowed,
        allowed_clouds=list(s.allowed_clouds),
        allowed_regions=list(s.allowed_regions),
        checkpoint_interval=dur(s.checkpoint_interval),
        client_request_id=s.client_request_id,
    )


def attempt_to_pb(a: AttemptView) -> pb.Attempt:
    p = a.placement
    return pb.Attempt(
        id=a.id,
        number=a.number,
        placement=pb.Placement(
            cloud=p.cloud,
            region=p.region,
            zone=p.zone,
            instance_type=p.instance_type,
            market=p.market,
            price_per_hour_usd=str(p.price_per_hour),
        ),
        node_id=a.node_id,
        state=a.state.value,
        created_at=ts(a.created_at),
        started_at=ts(a.started_at),
        ended_at=ts(a.ended_at),
        exit_code=a.exit_code or 0,
        preempted=a.preempted,
        progress=a.progress,
        cost_usd=str(a.cost),
    )


def job_to_pb(j: JobView) -> pb.Job:
    return pb.Job(
        id=j.id,
        tenant=j.tenant,
        spec=spec_to_pb(j.spec),
        state=state_to_pb(j.state),  # type: ignore[arg-type]
        state_reason=j.state_reason,
        created_at=ts(j.created_at),
        updated_at=ts(j.updated_at),
        progress=j.progress,
        checkpoint_progress=j.checkpoint_progress,
        checkpoint_seq=j.checkpoint_seq,
        preemptions=j.preemptions,
        failures=j.failures,
        cost_usd=str(j.cost),
        exit_code=j.exit_code or 0,
        attempts=[attempt_to_pb(a) for a in j.attempts],
        finished_at=ts(j.finished_at),
    )


def event_to_pb(e: JobEvent) -> pb.JobEvent:
    return pb.JobEvent(
        cursor=str(e.seq),
        job_id=e.job_id,
        from_state=state_to_pb(e.from_state) if e.from_state else 0,  # type: ignore[arg-type]
        to_state=state_to_pb(e.to_state),  # type: ignore[arg-type]
        at=ts(e.at),
        reason=e.reason,
        detail=e.detail,
        attempt_id=e.attempt_id,
    )


def from_ts(t: Timestamp, present: bool, field: str = "timestamp") -> datetime | None:
    """``None`` when absent; a malformed one raises :class:`InvalidArgument` naming ``field``."""
    return timestamp_from_pb(t, field) if present else None


def attempt_from_pb(a: pb.Attempt, job_id: str) -> AttemptView:
    p = a.placement
    return AttemptView(
        id=a.id,
        job_id=job_id,
        number=a.number,
        placement=Placement(
            p.cloud, p.region, p.zone, p.instance_type, p.market, Decimal(p.price_per_hour_usd or 0)
        ),
        state=AttemptState(a.state),
        node_id=a.node_id,
        created_at=a.created_at.ToDatetime(tzinfo=UTC),
        started_at=from_ts(a.started_at, a.HasField("started_at")),
        ended_at=from_ts(a.ended_at, a.HasField("ended_at")),
        exit_code=a.exit_code if a.HasField("ended_at") else None,
        preempted=a.preempted,
        progress=a.progress,
        cost=Decimal(a.cost_usd or 0),
        last_heartbeat=None,
    )


def job_from_pb(j: pb.Job) -> JobView:
    state = _PB_TO_STATE[j.state]
    return JobView(
        id=j.id,
        tenant=j.tenant,
        spec=spec_from_pb(j.spec),
        state=state,
        state_reason=j.state_reason,
        created_at=j.created_at.ToDatetime(tzinfo=UTC),
        updated_at=j.updated_at.ToDatetime(tzinfo=UTC),
        progress=j.progress,
        checkpoint_progress=j.checkpoint_progress,
        checkpoint_seq=j.checkpoint_seq,
        preemptions=j.preemptions,
        failures=j.failures,
        cost=Decimal(j.cost_usd or 0),
        exit_code=j.exit_code if state.terminal else None,
        finished_at=from_ts(j.finished_at, j.HasField("finished_at")),
        attempts=tuple(attempt_from_pb(a, j.id) for a in j.attempts),
    )


def event_from_pb(e: pb.JobEvent, tenant: str = "") -> JobEvent:
    return JobEvent(
        seq=int(e.cursor),
        job_id=e.job_id,
        tenant=tenant,
        from_state=_PB_TO_STATE[e.from_state] if e.from_state else None,
        to_state=_PB_TO_STATE[e.to_state],
        at=e.at.ToDatetime(tzinfo=UTC),
        reason=e.reason,
        detail=e.detail,
        attempt_id=e.attempt_id,
    )


def _usd(amount: Decimal | None) -> str:
    return "" if amount is None else str(amount)


def option_to_pb(o: PlanOption) -> pb.PlanOption:
    c = o.cost
    return pb.PlanOption(
        offering_id=o.offering_id,
        start=ts(o.start),
        compute_cost_usd=str(c.compute),
        rework_cost_usd=str(c.rework),
        egress_cost_usd=str(c.egress),
        launch_cost_usd=str(c.launch),
        total_cost_usd=str(c.total),
        loss=_LOSS_TO_PB[o.loss] if o.loss is not None else 0,  # type: ignore[arg-type]
        detail=o.detail,
    )


def explanation_to_pb(e: JobExplanation) -> pb.ExplainJobResponse:
    d = e.decision
    return pb.ExplainJobResponse(
        job_id=e.job_id,
        state=state_to_pb(e.state),  # type: ignore[arg-type]
        decision=pb.PlanDecision(
            placed=d.placed,
            offering_id=d.offering_id,
            start=ts(d.start),
            expected_cost_usd=_usd(d.expected_cost),
            reason=d.reason,
            late=d.late,
        ),
        chosen=option_to_pb(e.chosen) if e.chosen else None,
        alternatives=[option_to_pb(o) for o in e.alternatives],
        considered=e.considered,
        not_fitting=e.not_fitting,
        planned_at=ts(e.planned_at),
        note=e.note,
    )


def option_from_pb(o: pb.PlanOption) -> PlanOption:
    return PlanOption(
        offering_id=o.offering_id,
        start=o.start.ToDatetime(tzinfo=UTC),
        cost=CostParts(
            compute=Decimal(o.compute_cost_usd or 0),
            rework=Decimal(o.rework_cost_usd or 0),
            egress=Decimal(o.egress_cost_usd or 0),
            launch=Decimal(o.launch_cost_usd or 0),
        ),
        loss=_PB_TO_LOSS.get(o.loss),
        detail=o.detail,
    )


def explanation_from_pb(r: pb.ExplainJobResponse) -> JobExplanation:
    d = r.decision
    return JobExplanation(
        job_id=r.job_id,
        state=_PB_TO_STATE[r.state],
        decision=PlanDecision(
            placed=d.placed,
            offering_id=d.offering_id,
            start=from_ts(d.start, d.HasField("start")),
            expected_cost=Decimal(d.expected_cost_usd) if d.expected_cost_usd else None,
            reason=d.reason,
            late=d.late,
        ),
        chosen=option_from_pb(r.chosen) if r.HasField("chosen") else None,
        alternatives=tuple(option_from_pb(o) for o in r.alternatives),
        considered=r.considered,
        not_fitting=r.not_fitting,
        planned_at=from_ts(r.planned_at, r.HasField("planned_at")),
        note=r.note,
    )
