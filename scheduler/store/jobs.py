"""The job side of the store: submit (idempotent), get, list (paged), cancel, events."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from scheduler.domain import JobEvent, JobSpec, JobState, JobView
from scheduler.errors import InvalidArgument, NotFound
from scheduler.store.database import Database
from scheduler.store.raw import SqliteTimes, table_of
from scheduler.store.records import job_view, spec_to_json, transition
from scheduler.store.tables import AttemptRow, JobEventRow, JobLabelRow, JobRow

MAX_PAGE_SIZE = 1000
#: Rows per multi-row INSERT on SQLite, within its limit of bound variables.
ROWS_PER_INSERT = 500
SQLITE_MAX_VARIABLES = 32_766
#: One submit: the tenant, its specs and the clock reading they were accepted at.
SubmitGroup = tuple[str, Sequence[JobSpec], datetime]
DEFAULT_PAGE_SIZE = 100


def new_job_id() -> str:
    return f"j-{uuid.uuid4().hex[:16]}"


def new_job_ids(n: int) -> list[str]:
    """``n`` ids like :func:`new_job_id`'s from one read of the system's randomness: a
    read per id released the GIL each time, and a busy server took long to get it back."""
    raw = os.urandom(8 * n).hex()
    return [f"j-{raw[16 * i : 16 * i + 16]}" for i in range(n)]


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def submit(
        self, tenant: str, specs: Sequence[JobSpec], now: datetime
    ) -> list[tuple[JobView, bool]]:
        """Store every spec in one transaction; a known request id returns the first job."""
        [out] = self.submit_groups([(tenant, specs, now)])
        return out

    def submit_groups(self, groups: Sequence[SubmitGroup]) -> list[list[tuple[JobView, bool]]]:
        """Several submits, each ``(tenant, specs, clock reading)``, in one transaction
        (the API's group commit): all stored or none. A request id known to the tenant,
        in the store or earlier in ``groups``, returns the first job."""
        for attempt in range(3):
            try:
                with self.db.write() as s:
                    return _submit_groups(s, groups)
            except IntegrityError:
                # A concurrent submit with the same request id won the race (PostgreSQL);
                # the retry finds its job.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

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

    def last_event_seq(self) -> int:
        """The newest event's sequence number (0 when there is none)."""
        with self.db.read() as s:
            return s.exec(select(func.max(JobEventRow.seq))).one() or 0

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


#: Columns a new job sets; the rest take their defaults (identical for every new job).
_JOB_COLUMNS = ("id", "tenant", "request_id", "name", "spec_json", "deadline")
_NEW_JOB = {
    "state": JobState.PENDING.value,
    "state_reason": "submitted",
    "progress": 0.0,
    "checkpoint_progress": 0.0,
    "checkpoint_seq": 0,
    "preemptions": 0,
    "failures": 0,
    "node_losses": 0,
    "attempts": 0,
    "cost_micros": 0,
    "planned_offering": "",
}
_NEW_EVENT = {
    "from_state": None,
    "to_state": JobState.PENDING.value,
    "reason": "submitted",
    "detail": "",
    "attempt_id": "",
}


def _submit_groups(s: Session, groups: Sequence[SubmitGroup]) -> list[list[tuple[JobView, bool]]]:
    """One query per group for the request ids already known, then three bulk inserts
    (jobs, labels, events): per-row ORM flushes made a batch of 1,000 take most of a
    second."""
    known: dict[tuple[str, str], JobView] = {}
    rows = _NewRows()
    outs = []
    ids = iter(new_job_ids(sum(len(specs) for _, specs, _ in groups)))
    for tenant, specs, now in groups:
        asked = {spec.client_request_id for spec in specs if spec.client_request_id}
        stored = _known_requests(s, tenant, {r for r in asked if (tenant, r) not in known})
        known.update(((tenant, r), view) for r, view in stored.items())
        out: list[tuple[JobView, bool]] = []
        for spec in specs:
            rid = spec.client_request_id
            if rid and (tenant, rid) in known:
                out.append((known[tenant, rid], False))
                continue
            view = _new_job(next(ids), tenant, spec, now)
            if rid:
                known[tenant, rid] = view
            rows.add(view)
            out.append((view, True))
        outs.append(out)
    if rows.jobs:
        _insert_new(s, rows)
    return outs


class _NewRows:
    """Rows of new jobs, their labels and their ``submitted`` events, for bulk inserts."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Any, ...]] = []
        self.labels: list[tuple[str, str, str]] = []
        self.events: list[tuple[str, str, datetime]] = []

    def add(self, job: JobView) -> None:
        spec = job.spec
        self.jobs.append(
            (
                job.id,
                job.tenant,
                spec.client_request_id or None,
                spec.name,
                spec_to_json(spec),
                spec.deadline,
                job.created_at,
            )
        )
        self.labels.extend((job.id, key, value) for key, value in spec.labels.items())
        self.events.append((job.id, job.tenant, job.created_at))


def _new_job(job_id: str, tenant: str, spec: JobSpec, now: datetime) -> JobView:
    return JobView(
        id=job_id,
        tenant=tenant,
        spec=spec,
        state=JobState.PENDING,
        state_reason="submitted",
        created_at=now,
        updated_at=now,
        progress=0.0,
        checkpoint_progress=0.0,
        checkpoint_seq=0,
        preemptions=0,
        failures=0,
        cost=Decimal(0),
        exit_code=None,
        finished_at=None,
    )


def _known_requests(s: Session, tenant: str, request_ids: set[str]) -> dict[str, JobView]:
    """Jobs of ``tenant`` already stored under any of ``request_ids``."""
    out: dict[str, JobView] = {}
    ids = sorted(request_ids)
    for i in range(0, len(ids), 500):
        rows = s.exec(
            select(JobRow).where(
                JobRow.tenant == tenant, col(JobRow.request_id).in_(ids[i : i + 500])
            )
        ).all()
        attempts = _attempts_of(s, [r.id for r in rows])
        for r in rows:
            assert r.request_id is not None
            out[r.request_id] = job_view(r, attempts.get(r.id, []))
    return out


def _insert_new(s: Session, rows: _NewRows) -> None:
    """Bulk-insert new jobs with their labels and ``submitted`` events.

    On SQLite the rows go to the driver as multi-row ``INSERT``s (SQLAlchemy's per-row
    parameter processing would be most of the time); elsewhere Core inserts."""
    conn = s.connection()
    if conn.dialect.name == "sqlite":
        at = SqliteTimes()

        fixed = tuple(_NEW_JOB.values())
        _insert_rows(
            conn,
            "jobs",
            (*_JOB_COLUMNS, "created_at", "updated_at", *_NEW_JOB),
            [(*j[:5], at(j[5]), at(j[6]), at(j[6]), *fixed) for j in rows.jobs],
        )
        _insert_rows(conn, "job_labels", ("job_id", "key", "value"), rows.labels)
        _insert_rows(
            conn,
            "job_events",
            ("job_id", "tenant", "at", *_NEW_EVENT),
            [(j, tenant, at(now), *_NEW_EVENT.values()) for j, tenant, now in rows.events],
        )
        return
    conn.execute(
        insert(table_of(JobRow)),
        [
            {
                **dict(zip(_JOB_COLUMNS, j[:6], strict=True)),
                "created_at": j[6],
                "updated_at": j[6],
                **_NEW_JOB,
            }
            for j in rows.jobs
        ],
    )
    if rows.labels:
        conn.execute(
            insert(table_of(JobLabelRow)),
            [{"job_id": j, "key": k, "value": v} for j, k, v in rows.labels],
        )
    conn.execute(
        insert(table_of(JobEventRow)),
        [{"job_id": j, "tenant": t, "at": now, **_NEW_EVENT} for j, t, now in rows.events],
    )


def _insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """SQLite: many rows per ``INSERT ... VALUES (...), (...)``. The driver's executemany
    steps once per row and releases the GIL at every step; on a busy server each release
    let another thread in for up to the switch interval (5 ms), so a 1,000-job batch
    crawled. One statement per :data:`ROWS_PER_INSERT` rows steps once."""
    per = max(1, min(ROWS_PER_INSERT, SQLITE_MAX_VARIABLES // len(columns)))
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    one = f"({', '.join('?' * len(columns))})"
    for i in range(0, len(rows), per):
        chunk = rows[i : i + per]
        conn.exec_driver_sql(
            head + ", ".join([one] * len(chunk)), tuple(x for row in chunk for x in row)
        )
