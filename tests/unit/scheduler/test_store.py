"""The store on real SQLite: WAL, UTC, idempotent transitions and retry budgets."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from scheduler.domain import AttemptState, JobSpec, JobState, Placement
from scheduler.store import AttemptStore, Database, HistoryStore, JobStore, RetryBudgets
from scheduler.store.tables import JobRow

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PLACE = Placement(
    "local", "us-central1", "us-central1-a", "e2-standard-2", "spot", Decimal("0.036000")
)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'x.db'}")


def submit(db: Database) -> str:
    spec = JobSpec(
        name="j",
        command=("true",),
        estimated_runtime=timedelta(minutes=5),
        deadline=T0 + timedelta(hours=1),
    )
    [(job, _)] = JobStore(db).submit("default", [spec], T0)
    return job.id


def running_attempt(db: Database, store: AttemptStore, job_id: str, at: datetime) -> str:
    assert store.plan(job_id, PLACE.offering_id, at)
    att = store.start_attempt(job_id, PLACE, at)
    assert att is not None
    store.attempt_launched(
        att.id,
        node_id=f"n-{att.id}",
        region=PLACE.region,
        instance_type=PLACE.instance_type,
        now=at,
    )
    assert store.heartbeat(att.id, 0.1, at)
    return att.id


def test_sqlite_runs_in_wal_mode_and_keeps_utc(db: Database) -> None:
    with db.read() as s:
        assert s.connection().execute(text("PRAGMA journal_mode")).scalar() == "wal"
    job_id = submit(db)
    job = JobStore(db).get(None, job_id)
    assert job.created_at == T0 and job.created_at.tzinfo is not None
    with pytest.raises(Exception, match="naive datetime"), db.write() as s:
        row = s.get(JobRow, 1)
        assert row is not None
        row.updated_at = datetime(2026, 1, 1)  # naive
        s.add(row)


def test_every_state_change_is_one_event_row(db: Database) -> None:
    store = AttemptStore(db)
    job_id = submit(db)
    att = running_attempt(db, store, job_id, T0)
    store.finish(att, 0, False, "", T0 + timedelta(minutes=6))
    events = JobStore(db).events_after(None, 0)
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, JobState.PENDING),
        (JobState.PENDING, JobState.PLANNED),
        (JobState.PLANNED, JobState.LAUNCHING),
        (JobState.LAUNCHING, JobState.RUNNING),
        (JobState.RUNNING, JobState.SUCCEEDED),
    ]
    job = JobStore(db).get(None, job_id)
    # 6 minutes at $0.036/h, exactly.
    assert job.cost == Decimal("0.003600")


def test_finish_is_idempotent(db: Database) -> None:
    store = AttemptStore(db)
    job_id = submit(db)
    att = running_attempt(db, store, job_id, T0)
    store.finish(att, 0, False, "", T0 + timedelta(minutes=1))
    before = JobStore(db).events_after(None, 0)
    store.finish(att, 1, False, "late duplicate", T0 + timedelta(minutes=2))
    store.node_lost(att, preempted=True, reason="dup", now=T0 + timedelta(minutes=2))
    assert JobStore(db).events_after(None, 0) == before
    assert JobStore(db).get(None, job_id).state is JobState.SUCCEEDED


def test_preemption_requeues_with_checkpointed_progress_until_the_budget_ends(
    db: Database,
) -> None:
    store = AttemptStore(db, RetryBudgets(preemptions=1))
    job_id = submit(db)
    att = running_attempt(db, store, job_id, T0)
    store.report_checkpoint(att, 3, 0.4, T0)
    store.report_checkpoint(att, 2, 0.9, T0)  # an older checkpoint never wins
    store.finish(att, 143, True, "preempted", T0 + timedelta(minutes=1))
    job = JobStore(db).get(None, job_id)
    assert job.state is JobState.PENDING and job.preemptions == 1
    assert (job.checkpoint_seq, job.checkpoint_progress, job.progress) == (3, 0.4, 0.4)
    assert job.attempts[0].state is AttemptState.PREEMPTED and job.attempts[0].preempted
    att2 = running_attempt(db, store, job_id, T0 + timedelta(minutes=2))
    store.node_lost(att2, preempted=True, reason="spot", now=T0 + timedelta(minutes=3))
    job = JobStore(db).get(None, job_id)
    assert job.state is JobState.FAILED and "budget" in job.state_reason


def test_nonzero_exit_fails_the_job_and_lost_nodes_are_retried(db: Database) -> None:
    store = AttemptStore(db)
    failing = submit(db)
    att = running_attempt(db, store, failing, T0)
    store.finish(att, 3, False, "", T0 + timedelta(minutes=1))
    assert JobStore(db).get(None, failing).state is JobState.FAILED
    lost = submit(db)
    att = running_attempt(db, store, lost, T0)
    store.node_lost(att, preempted=False, reason="heartbeats stopped", now=T0)
    job = JobStore(db).get(None, lost)
    assert job.state is JobState.PENDING and job.failures == 0


def test_cancelled_job_nodes_are_terminated_and_its_attempt_closed(db: Database) -> None:
    store = AttemptStore(db)
    job_id = submit(db)
    att = running_attempt(db, store, job_id, T0)
    JobStore(db).cancel(None, job_id, "stop", T0)
    assert not store.heartbeat(att, 0.5, T0)  # the worker is told to stop
    [(cloud, node)] = store.nodes_to_terminate()
    store.node_terminated(node, T0 + timedelta(seconds=5))
    assert store.nodes_to_terminate() == []
    job = JobStore(db).get(None, job_id)
    assert job.state is JobState.CANCELLED
    assert job.attempts[0].state is AttemptState.CANCELLED and cloud == "local"


def test_a_database_from_before_a_new_column_gets_it_with_its_default(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Database(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:  # as an older skybatch left it
        conn.execute("ALTER TABLE attempts DROP COLUMN start_progress")
        conn.execute(
            "INSERT INTO attempts (id, job_id, number, cloud, region, zone, instance_type,"
            " market, price_micros_per_hour, state, node_id, created_at, preempted, progress,"
            " end_reason, cost_micros) VALUES ('a-1', 'j', 1, 'local', 'r', 'z', 't', 'spot',"
            " 1, 'SUCCEEDED', '', '2026-11-26 12:00:00', 0, 1.0, '', 0)"
        )
    db = Database(f"sqlite:///{path}")
    frame = HistoryStore(db).attempts_frame()
    assert frame["start_progress"].tolist() == [0.0]
