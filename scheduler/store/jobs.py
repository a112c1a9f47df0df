"""The job side of the store: submit (idempotent), get, list (paged), cancel, events."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from scheduler.domain import JobEvent, JobSpec, JobState, JobView
from scheduler.errors import InvalidArgument, NotFound
from scheduler.store.database import Database
from scheduler.store.records import job_view, spec_to_json, transition
from scheduler.store.tables import AttemptRow, JobEventRow, JobLabelRow, JobRow

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


def new_job_id() -> str:
    return f"j-{uuid.uuid4().hex[:16]}"


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def submit(
        self, tenant: str, specs: Sequence[JobSpec], now: datetime
    ) -> list[tuple[JobView, bool]]:
        """Store every spec in one transaction; a known request id returns the first job."""
        for attempt in range(3):
            try:
                with self.db.write() as s:
                    return [self._submit_one(s, tenant, spec, now) for spec in specs]
            except IntegrityError:
                # A concurrent submit with the same request id won the race (PostgreSQL);
                # the retry finds its job.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _submit_one(
        self, s: Session, tenant: str, spec: JobSpec, now: datetime
    ) -> tuple[JobView, bool]:
        if spec.client_request_id:
            existing = s.exec(
                select(JobRow).where(
                    JobRow.tenant == tenant, JobRow.request_id == spec.client_request_id
                )
            ).first()
            if existing is not None:
                return job_view(existing, _attempts(s, existing.id)), False
        row = JobRow(
            id=new_job_id(),
            tenant=tenant,
            request_id=spec.client_request_id or None,
            name=spec.name,
            spec_json=spec_to_json(spec),
            state=JobState.PENDING.value,
            state_reason="submitted",
            created_at=now,
            updated_at=now,
            deadline=spec.deadline,
        )
        s.add(row)
        for key, value in spec.labels.items():
            s.add(JobLabelRow(job_id=row.id, key=key, value=value))
        s.add(
            JobEventRow(
                job_id=row.id,
                tenant=tenant,
                from_state=None,
                to_state=JobState.PENDING.value,
                at=now,
                reason="submitted",
            )
        )
        s.flush()
        return job_view(row, []), True

    def get(self, tenant: str | None, job_id: str) -> JobView:
        """A job with its attempts. ``tenant=None`` is the control loop's view (any tenant)."""
        with self.db.read() as s:
            row = _job(s, tenant, job_id)
            return job_view(row, _attempts(s, job_id))

    def list_page(
        self,
        tenant: str | None,
        *,
        states: Sequence[JobState] = (),
        labels: Mapping[str, str] | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[list[JobView], str]:
        size = page_size or DEFAULT_PAGE_SIZE
        if size < 0 or size > MAX_PAGE_SIZE:
            raise InvalidArgument("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        after = _parse_token(page_token)
        q = select(JobRow).where(col(JobRow.n) > after)
        if tenant is not None:
            q = q.where(JobRow.tenant == tenant)
        if states:
            q = q.where(col(JobRow.state).in_([st.value for st in states]))
        for key, value in (labels or {}).items():
            q = q.where(
                col(JobRow.id).in_(
                    select(JobLabelRow.job_id).where(
                        JobLabelRow.key == key, JobLabelRow.value == value
                    )
                )
            )
        q = q.order_by(col(JobRow.n)).limit(size + 1)
        with self.db.read() as s:
            rows = list(s.exec(q).all())
            more = len(rows) > size
            rows = rows[:size]
            attempts = _attempts_of(s, [r.id for r in rows])
            views = [job_view(r, attempts.get(r.id, [])) for r in rows]
        token = f"n{rows[-1].n}" if more and rows else ""
        return views, token

    def cancel(self, tenant: str | None, job_id: str, reason: str, now: datetime) -> JobView:
        """Idempotent: a job already finished is returned as it is."""
        with self.db.write() as s:
            row = _job(s, tenant, job_id)
            if not JobState(row.state).terminal:
                transition(
                    s,
                    row,
                    JobState.CANCELLED,
                    at=now,
                    reason="cancelled",
                    detail=reason or "cancelled by user",
                )
            return job_view(row, _attempts(s, job_id))

    def events_after(
        self, tenant: str | None, after_seq: int, job_ids: Sequence[str] = (), limit: int = 500
    ) -> list[JobEvent]:
        q = select(JobEventRow).where(col(JobEventRow.seq) > after_seq)
        if tenant is not None:
            q = q.where(JobEventRow.tenant == tenant)
        if job_ids:
            q = q.where(col(JobEventRow.job_id).in_(list(job_ids)))
        q = q.order_by(col(JobEventRow.seq)).limit(limit)
        with self.db.read() as s:
            return [
                JobEvent(
                    seq=e.seq or 0,
                    job_id=e.job_id,
                    tenant=e.tenant,
                    from_state=JobState(e.from_state) if e.from_state else None,
                    to_state=JobState(e.to_state),
                    at=e.at,
                    reason=e.reason,
                    detail=e.detail,
                    attempt_id=e.attempt_id,
                )
                for e in s.exec(q).all()
            ]


def _parse_token(token: str) -> int:
    if not token:
        return 0
    if not token.startswith("n") or not token[1:].isdigit():
        raise InvalidArgument("page_token", "not a token this server returned")
    return int(token[1:])


def _job(s: Session, tenant: str | None, job_id: str) -> JobRow:
    row = s.exec(select(JobRow).where(JobRow.id == job_id)).first()
    if row is None or (tenant is not None and row.tenant != tenant):
        # Another tenant's job is indistinguishable from a missing one.
        raise NotFound(f"job {job_id!r} not found")
    return row


def _attempts(s: Session, job_id: str) -> list[AttemptRow]:
    return list(s.exec(select(AttemptRow).where(AttemptRow.job_id == job_id)).all())


def _attempts_of(s: Session, job_ids: list[str]) -> dict[str, list[AttemptRow]]:
    out: dict[str, list[AttemptRow]] = {}
    if not job_ids:
        return out
    for a in s.exec(select(AttemptRow).where(col(AttemptRow.job_id).in_(job_ids))).all():
        out.setdefault(a.job_id, []).append(a)
    return out
