"""Aggregate queries behind the service's Prometheus metrics, and the store's liveness probe.

The store is the truth for what happened (jobs, launches, preemptions, spend), so the
metrics are counted here at scrape time rather than in the control loop: every replica
reports the same global numbers, and a restart loses nothing. A few ``GROUP BY``
queries, each one statement; the caller caches the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, case, create_engine, func, text
from sqlalchemy.pool import NullPool
from sqlmodel import col, select

from scheduler.domain import AttemptState, JobState
from scheduler.store.database import Database
from scheduler.store.tables import AttemptRow, JobRow

#: Launch-failure kinds, by the prefix of the ``end_reason`` that
#: ``scheduler.control.launcher`` writes (kept in step with it by a test).
FAILURE_KINDS: tuple[tuple[str, str], ...] = (
    ("capacity error%", "capacity"),
    ("quota%", "quota"),
    ("launch throttled%", "throttled"),
    ("offering vanished%", "offering_vanished"),
    ("launch failed%", "error"),
)
#: The reconciler's reason for giving up a launch because the job was cancelled: not a
#: failure of the cloud.
NOT_A_FAILURE = "job ended before launch"


@dataclass(frozen=True)
class StoreCounts:
    """What the store says, aggregated. Money is integer micro-dollars."""

    jobs_by_state: dict[str, int]
    #: (cloud, region) -> attempts that got a node
    launches: dict[tuple[str, str], int]
    #: (cloud, region, kind) -> attempts the cloud refused or that never got a node
    launch_failures: dict[tuple[str, str, str], int]
    #: (cloud, region) -> attempts ended by a spot preemption
    preemptions: dict[tuple[str, str], int]
    #: (tenant, cloud, region) -> micro-dollars of ended attempts
    spend_micros: dict[tuple[str, str, str], int]
    #: tenant -> jobs that succeeded or failed after their deadline
    deadline_misses: dict[str, int]
    #: tenant -> jobs not yet ended whose deadline has passed
    past_deadline: dict[str, int]


def store_counts(db: Database, now: datetime) -> StoreCounts:
    """One consistent-enough snapshot (several reads; counters only grow between them)."""
    kind = case(
        *((col(AttemptRow.end_reason).like(prefix), name) for prefix, name in FAILURE_KINDS),
        else_="other",
    )
    ended = [JobState.SUCCEEDED.value, JobState.FAILED.value]
    terminal = [s.value for s in JobState if s.terminal]
    with db.read() as s:
        states = s.exec(select(JobRow.state, func.count()).group_by(JobRow.state)).all()
        launches = s.exec(
            select(AttemptRow.cloud, AttemptRow.region, func.count())
            .where(col(AttemptRow.launched_at).is_not(None))
            .group_by(AttemptRow.cloud, AttemptRow.region)
        ).all()
        failures = s.exec(
            select(AttemptRow.cloud, AttemptRow.region, kind, func.count())
            .where(
                AttemptRow.state == AttemptState.FAILED.value,
                col(AttemptRow.launched_at).is_(None),
                AttemptRow.end_reason != NOT_A_FAILURE,
            )
            .group_by(AttemptRow.cloud, AttemptRow.region, kind)
        ).all()
        preemptions = s.exec(
            select(AttemptRow.cloud, AttemptRow.region, func.count())
            .where(col(AttemptRow.preempted).is_(True))
            .group_by(AttemptRow.cloud, AttemptRow.region)
        ).all()
        spend = s.exec(
            select(
                JobRow.tenant, AttemptRow.cloud, AttemptRow.region, func.sum(AttemptRow.cost_micros)
            )
            .join(JobRow, col(JobRow.id) == col(AttemptRow.job_id))
            .where(col(AttemptRow.ended_at).is_not(None))
            .group_by(JobRow.tenant, AttemptRow.cloud, AttemptRow.region)
        ).all()
        misses = s.exec(
            select(JobRow.tenant, func.count())
            .where(
                col(JobRow.state).in_(ended),
                col(JobRow.finished_at) > col(JobRow.deadline),
            )
            .group_by(JobRow.tenant)
        ).all()
        past = s.exec(
            select(JobRow.tenant, func.count())
            .where(col(JobRow.state).not_in(terminal), col(JobRow.deadline) < now)
            .group_by(JobRow.tenant)
        ).all()
    return StoreCounts(
        jobs_by_state={state: n for state, n in states},
        launches={(c, r): n for c, r, n in launches},
        launch_failures={(c, r, k): n for c, r, k, n in failures},
        preemptions={(c, r): n for c, r, n in preemptions},
        spend_micros={(t, c, r): int(m or 0) for t, c, r, m in spend},
        deadline_misses={t: n for t, n in misses},
        past_deadline={t: n for t, n in past},
    )


def ping(db: Database) -> bool:
    """True when the store answers ``SELECT 1`` now (a fresh check, not a cached one)."""
    return _select_one(db.engine)


def reachable(url: str, timeout_s: int = 3) -> bool:
    """True when the database at ``url`` accepts a connection and answers ``SELECT 1``.

    For waiting on a store before opening it (which creates or migrates its schema).
    SQLite is a local file the store creates: always reachable.
    """
    if url.startswith("sqlite"):
        return True
    args = {"connect_timeout": timeout_s} if url.startswith("postgresql") else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=args)
    try:
        return _select_one(engine)
    finally:
        engine.dispose()


def _select_one(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        # Any driver error (refused, reset, auth, timeout) means "not reachable now".
        return False
    return True
