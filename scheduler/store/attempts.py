"""The control loop's and the workers' side of the store: plans, attempts, nodes.

Every method is one transaction and is idempotent: it acts only when the rows are
still in the state it expects (a repeated call, after a crash or a retry, is a no-op).
Retry budgets: a preemption, a lost node and a non-zero exit each have their own.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from scheduler.domain import (
    ACTIVE_STATES,
    AttemptState,
    AttemptView,
    JobSpec,
    JobState,
    JobView,
    Placement,
)
from scheduler.store.database import Database
from scheduler.store.raw import table_of
from scheduler.store.records import attempt_view, job_view, spec_from_json, transition
from scheduler.store.tables import AttemptRow, JobRow, NodeRow, SecretRow
from solver.money import to_micros

_ACTIVE = frozenset(st.value for st in ACTIVE_STATES)
#: Jobs planned per write transaction (each writes an event row too).
PLAN_CHUNK = 20
#: Waiting reasons noted per write transaction: the write lock is held for a few ms
#: at a time, so submissions get their turn while a tick persists 10,000 decisions.
NOTE_CHUNK = 200
#: Parsed specs kept between ticks (a job's spec never changes).
SPEC_CACHE = 50_000


@dataclass(frozen=True)
class RetryBudgets:
    preemptions: int = 20
    node_losses: int = 3
    failures: int = 0  # a non-zero exit is the job's own verdict: no retry by default


@dataclass(frozen=True)
class LiveAttempt:
    attempt: AttemptView
    job_state: JobState
    launched_at: datetime | None


class AttemptStore:
    def __init__(self, db: Database, budgets: RetryBudgets | None = None) -> None:
        self.db = db
        self.budgets = budgets or RetryBudgets()
        self._specs: dict[str, JobSpec] = {}

    # -- planning ---------------------------------------------------------------

    def jobs_in(self, *states: JobState) -> list[JobView]:
        """Jobs in ``states``, oldest first, without their attempts. Plain rows and specs
        parsed on an earlier call: building 10,000 ORM objects and parsing their specs
        every tick was most of a plan's reading (and held the GIL the API needs)."""
        table = table_of(JobRow)
        q = table.select().where(table.c.state.in_([st.value for st in states])).order_by(table.c.n)
        with self.db.read() as s:
            rows = s.connection().execute(q).all()
        return [self._job_view(r) for r in rows]

    def _job_view(self, r: Any) -> JobView:
        """``records.job_view`` of a plain row (no attempts), its spec from the cache."""
        spec = self._specs.get(r.id)
        if spec is None:
            if len(self._specs) >= SPEC_CACHE:
                # Oldest first out (dicts keep insertion order).
                for key in list(self._specs)[: SPEC_CACHE // 4]:
                    self._specs.pop(key, None)
            spec = self._specs[r.id] = spec_from_json(r.spec_json)
        return job_view(r, spec=spec)

    def plan(self, job_id: str, offering_id: str, now: datetime, detail: str = "") -> bool:
        """PENDING -> PLANNED on ``offering_id``; False if the job moved meanwhile."""
        with self.db.write() as s:
            job = _job(s, job_id)
            if job.state != JobState.PENDING.value:
                return False
            job.planned_offering = offering_id
            transition(
                s, job, JobState.PLANNED, at=now, reason="planned", detail=detail or offering_id
            )
            return True

    def plan_many(self, decisions: Sequence[tuple[str, str, str]], now: datetime) -> int:
        """:meth:`plan` for each ``(job id, offering id, detail)``, :data:`PLAN_CHUNK` to
        a transaction; returns how many were planned."""
        planned = 0
        for i in range(0, len(decisions), PLAN_CHUNK):
            with self.db.write() as s:
                for job_id, offering_id, detail in decisions[i : i + PLAN_CHUNK]:
                    job = _job(s, job_id)
                    if job.state != JobState.PENDING.value:
                        continue
                    job.planned_offering = offering_id
                    transition(
                        s,
                        job,
                        JobState.PLANNED,
                        at=now,
                        reason="planned",
                        detail=detail or offering_id,
                    )
                    planned += 1
        return planned

    def note_waiting_many(self, waiting: Sequence[tuple[str, str]], now: datetime) -> None:
        """:meth:`note_waiting` for each ``(job id, reason)``, one statement per
        :data:`NOTE_CHUNK` jobs."""
        table = table_of(JobRow)
        stmt = (
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                table.c.state == JobState.PENDING.value,
                table.c.state_reason != bindparam("b_reason"),
            )
            .values(state_reason=bindparam("b_reason"), updated_at=now)
        )
        for i in range(0, len(waiting), NOTE_CHUNK):
            chunk = [{"b_id": j, "b_reason": r} for j, r in waiting[i : i + NOTE_CHUNK]]
            with self.db.write() as s:
                s.connection().execute(stmt, chunk)

    def note_waiting(self, job_id: str, reason: str, now: datetime) -> None:
        """Why a pending job was not placed (not a state change: no event row)."""
        with self.db.write() as s:
            job = _job(s, job_id)
            if job.state == JobState.PENDING.value and job.state_reason != reason:
                job.state_reason = reason
                job.updated_at = now
                s.add(job)

    def unplan(self, job_id: str, reason: str, now: datetime) -> None:
        with self.db.write() as s:
            job = _job(s, job_id)
            if job.state == JobState.PLANNED.value:
                job.planned_offering = ""
                transition(s, job, JobState.PENDING, at=now, reason=reason)

    def start_attempt(self, job_id: str, placement: Placement, now: datetime) -> AttemptView | None:
        """PLANNED -> LAUNCHING with a new attempt row, durable before any cloud call."""
        with self.db.write() as s:
            job = _job(s, job_id)
            if job.state != JobState.PLANNED.value:
                return None
            job.attempts += 1
            row = AttemptRow(
                id=f"a-{uuid.uuid4().hex[:16]}",
                job_id=job_id,
                number=job.attempts,
                cloud=placement.cloud,
                region=placement.region,
                zone=placement.zone,
                instance_type=placement.instance_type,
                market=placement.market,
                price_micros_per_hour=to_micros(placement.price_per_hour),
                state=AttemptState.LAUNCHING.value,
                created_at=now,
                start_progress=job.checkpoint_progress,
            )
            s.add(row)
            transition(
                s,
                job,
                JobState.LAUNCHING,
                at=now,
                reason="launching",
                detail=placement.offering_id,
                attempt_id=row.id,
            )
            s.flush()
            return attempt_view(row)

    # -- launching and reconciling ---------------------------------------------

    def live_attempts(self) -> list[LiveAttempt]:
        with self.db.read() as s:
            rows = s.exec(
                select(AttemptRow, JobRow)
                .join(JobRow, col(JobRow.id) == col(AttemptRow.job_id))
                .where(col(AttemptRow.state).in_([st.value for st in AttemptState if st.live]))
            ).all()
            return [LiveAttempt(attempt_view(a), JobState(j.state), a.launched_at) for a, j in rows]

    def attempt_launched(
        self, attempt_id: str, *, node_id: str, region: str, instance_type: str, now: datetime
    ) -> None:
        with self.db.write() as s:
            att = _attempt(s, attempt_id)
            if att.node_id:
                return
            att.node_id = node_id
            att.launched_at = now
            s.add(att)
            if s.get(NodeRow, node_id) is None:
                s.add(
                    NodeRow(
                        id=node_id,
                        cloud=att.cloud,
                        region=region,
                        instance_type=instance_type,
                        market=att.market,
                        attempt_id=attempt_id,
                        state="running",
                        created_at=now,
                    )
                )

    def launch_failed(self, attempt_id: str, reason: str, now: datetime) -> None:
        """The cloud refused the launch (capacity, quota, ...): back to planning."""
        with self.db.write() as s:
            att = _attempt(s, attempt_id)
            if not AttemptState(att.state).live:
                return
            job = _job(s, att.job_id)
            self._end(s, att, AttemptState.FAILED, now, reason)
            if job.state in _ACTIVE:
                job.planned_offering = ""
                transition(s, job, JobState.PENDING, at=now, reason=reason, attempt_id=att.id)

    def node_lost(self, attempt_id: str, *, preempted: bool, reason: str, now: datetime) -> None:
        """The node under a live attempt vanished, was reclaimed, or went silent."""
        with self.db.write() as s:
            att = _attempt(s, attempt_id)
            if not AttemptState(att.state).live:
                return
            if preempted:
                self._preempted(s, att, now, reason)
            else:
                job = _job(s, att.job_id)
                self._end(s, att, AttemptState.FAILED, now, reason)
                if job.state in _ACTIVE:
                    job.node_losses += 1
                    over = job.node_losses > self.budgets.node_losses
                    to = JobState.FAILED if over else JobState.PENDING
                    detail = "node-loss retry budget exhausted" if over else ""
                    transition(s, job, to, at=now, reason=reason, detail=detail, attempt_id=att.id)

    def nodes_to_terminate(self) -> list[tuple[str, str]]:
        """(cloud, node id) of nodes still up whose attempt is over or whose job ended."""
        with self.db.read() as s:
            rows = s.exec(
                select(NodeRow, AttemptRow, JobRow)
                .join(AttemptRow, col(AttemptRow.id) == col(NodeRow.attempt_id))
                .join(JobRow, col(JobRow.id) == col(AttemptRow.job_id))
                .where(NodeRow.state != "terminated")
            ).all()
            return [
                (n.cloud, n.id)
                for n, a, j in rows
                if not AttemptState(a.state).live or JobState(j.state).terminal
            ]

    def node_terminated(self, node_id: str, now: datetime) -> None:
        """Record that a node is gone; a live attempt on it whose job ended is cancelled."""
        with self.db.write() as s:
            node = s.get(NodeRow, node_id)
            if node is None or node.state == "terminated":
                return
            node.state = "terminated"
            node.terminated_at = now
            s.add(node)
            att = s.get(AttemptRow, node.attempt_id)
            if att is not None and AttemptState(att.state).live:
                job = _job(s, att.job_id)
                if JobState(job.state).terminal:
                    self._end(s, att, AttemptState.CANCELLED, now, "job ended")

    def known_node_ids(self) -> set[str]:
        with self.db.read() as s:
            return set(s.exec(select(NodeRow.id)).all())

    # -- workers ----------------------------------------------------------------

    def attempt(self, attempt_id: str) -> tuple[AttemptView, JobView] | None:
        with self.db.read() as s:
            att = s.get(AttemptRow, attempt_id)
            if att is None:
                return None
            return attempt_view(att), job_view(_job(s, att.job_id))

    def heartbeat(self, attempt_id: str, progress: float, now: datetime) -> bool:
        """Record progress; True while the worker should keep going."""
        with self.db.write() as s:
            att = _attempt(s, attempt_id)
            job = _job(s, att.job_id)
            if not AttemptState(att.state).live or JobState(job.state).terminal:
                return False
            att.last_heartbeat = now
            att.progress = progress
            if att.state == AttemptState.LAUNCHING.value:
                att.state = AttemptState.RUNNING.value
                att.started_at = now
            s.add(att)
            job.progress = max(progress, job.checkpoint_progress)
            job.updated_at = now
            if job.state == JobState.LAUNCHING.value:
                transition(
                    s, job, JobState.RUNNING, at=now, reason="worker started", attempt_id=att.id
                )
            s.add(job)
            return True

    def report_checkpoint(self, attempt_id: str, seq: int, progress: float, now: datetime) -> None:
        with self.db.write() as s:
            att = _attempt(s, attempt_id)
            job = _job(s, att.job_id)
            if seq > job.checkpoint_seq:
                job.checkpoint_seq = seq
                job.checkpoint_progress = progress
                job.updated_at = now
                s.add(job)

    def finish(
        self, attempt_id: str, exit_code: int, interrupted: bool, message: str, now: datetime
    ) -> None:
        with self.db.write() as s:
            att = _attempt(s, attempt_id)
            if not AttemptState(att.state).live:
                return
            att.exit_code = exit_code
            job = _job(s, att.job_id)
            if JobState(job.state).terminal:
                self._end(s, att, AttemptState.CANCELLED, now, "job ended")
            elif interrupted:
                self._preempted(s, att, now, message or "worker interrupted")
            elif exit_code == 0:
                self._end(s, att, AttemptState.SUCCEEDED, now, "exit 0")
                job.exit_code = 0
                job.progress = 1.0
                transition(
                    s, job, JobState.SUCCEEDED, at=now, reason="succeeded", attempt_id=att.id
                )
            else:
                self._end(s, att, AttemptState.FAILED, now, f"exit {exit_code}")
                job.failures += 1
                job.exit_code = exit_code
                over = job.failures > self.budgets.failures
                transition(
                    s,
                    job,
                    JobState.FAILED if over else JobState.PENDING,
                    at=now,
                    reason=f"command exited with {exit_code}",
                    detail=message,
                    attempt_id=att.id,
                )

    def secret(self, name: str) -> str:
        """A server secret, created on first use (shared by every replica)."""
        with self.db.write() as s:
            row = s.get(SecretRow, name)
            if row is None:
                row = SecretRow(name=name, value=secrets.token_hex(32))
                s.add(row)
            return row.value

    # -- helpers ------------------------------------------------------------------

    def _preempted(self, s: Session, att: AttemptRow, now: datetime, reason: str) -> None:
        job = _job(s, att.job_id)
        self._end(s, att, AttemptState.PREEMPTED, now, reason, preempted=True)
        if job.state not in _ACTIVE:
            return
        job.preemptions += 1
        job.progress = job.checkpoint_progress
        transition(s, job, JobState.PREEMPTED, at=now, reason=reason, attempt_id=att.id)
        if job.preemptions > self.budgets.preemptions:
            transition(
                s,
                job,
                JobState.FAILED,
                at=now,
                reason="preemption budget exhausted",
                attempt_id=att.id,
            )
        else:
            job.planned_offering = ""
            transition(
                s,
                job,
                JobState.PENDING,
                at=now,
                reason="requeued after preemption",
                detail=f"resumes from checkpoint {job.checkpoint_seq} "
                f"({job.checkpoint_progress:.0%})",
                attempt_id=att.id,
            )

    def _end(
        self,
        s: Session,
        att: AttemptRow,
        state: AttemptState,
        now: datetime,
        reason: str,
        *,
        preempted: bool = False,
    ) -> None:
        att.state = state.value
        att.ended_at = now
        att.end_reason = reason
        att.preempted = preempted
        if att.launched_at is not None:
            seconds = max(0.0, (now - att.launched_at).total_seconds())
            att.cost_micros = round(att.price_micros_per_hour * seconds / 3600)
            job = _job(s, att.job_id)
            job.cost_micros += att.cost_micros
            s.add(job)
        s.add(att)


def _job(s: Session, job_id: str) -> JobRow:
    row = s.exec(select(JobRow).where(JobRow.id == job_id)).first()
    if row is None:
        raise LookupError(f"job {job_id} vanished from the store")
    return row


def _attempt(s: Session, attempt_id: str) -> AttemptRow:
    row = s.get(AttemptRow, attempt_id)
    if row is None:
        raise LookupError(f"attempt {attempt_id} not in the store")
    return row
