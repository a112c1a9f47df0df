"""The store on real SQLite and real PostgreSQL: WAL, UTC, idempotent transitions and retry
budgets, concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from scheduler.domain import AttemptState, JobSpec, JobState, Placement
from scheduler.store import AttemptStore, Database, JobStore, RetryBudgets
from scheduler.store.tables import JobRow

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PLACE = Placement(
    "local", "us-central1", "us-central1-a", "e2-standard-2", "spot", Decimal("0.036000")
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The same store on either backend (PostgreSQL: a fresh database on the session's
    private server)."""
    url = (
        f"sqlite:///{tmp_path / 'x.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    database = Database(url)
    yield database
    database.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    yield database
    database.close()


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


def test_sqlite_runs_in_wal_mode(sqlite_db: Database) -> None:
    with sqlite_db.read() as s:
        assert s.connection().execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_times_stay_utc_and_naive_ones_are_refused(db: Database) -> None:
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


def test_replicas_racing_on_one_request_id_store_one_job(db: Database) -> None:
    """Two handles on one store (as two replicas have) submit the same request id from
    many threads at once: one job, every caller gets it back."""
    other = Database(db.url)
    spec = JobSpec(
        name="once",
        command=("true",),
        estimated_runtime=timedelta(minutes=5),
        deadline=T0 + timedelta(hours=1),
        client_request_id="req-1",
    )
    stores = [JobStore(db), JobStore(other)]
    start = threading.Barrier(8)

    def submit_once(i: int) -> tuple[str, bool]:
        start.wait()
        [(job, created)] = stores[i % 2].submit("default", [spec], T0)
        return job.id, created

    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(submit_once, range(8)))
    finally:
        other.close()
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(JobStore(db).list_page(None)[0]) == 1


def test_replicas_racing_to_launch_one_job_create_one_attempt(db: Database) -> None:
    other = Database(db.url)
    job_id = submit(db)
    assert AttemptStore(db).plan(job_id, PLACE.offering_id, T0)
    stores = [AttemptStore(db), AttemptStore(other)]
    start = threading.Barrier(6)

    def start_once(i: int) -> bool:
        start.wait()
        return stores[i % 2].start_attempt(job_id, PLACE, T0) is not None

    try:
        with ThreadPoolExecutor(6) as pool:
            started = list(pool.map(start_once, range(6)))
    finally:
        other.close()
    assert started.count(True) == 1
    job = JobStore(db).get(None, job_id)
    assert len(job.attempts) == 1 and job.state is JobState.LAUNCHING


def test_event_sequence_numbers_commit_in_order(db: Database) -> None:
    """A watcher that read up to seq N never misses a later-committed event below N."""
    store = JobStore(db)
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        cursor = 0
        while not done.is_set() or cursor < 40:
            for e in store.events_after(None, cursor):
                seen.append(e.seq)
                cursor = e.seq

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: submit(db), range(40)))
    done.set()
    watcher.join(timeout=30)
    assert seen == sorted(seen) and len(seen) == 40


def test_writers_take_turns_across_replicas(db: Database) -> None:
    """A second replica's write waits for the first one's to commit (then sees it)."""
    other = Database(db.url)
    job_id = submit(db)
    seen: list[str] = []
    try:
        with db.write() as s:
            row = s.exec(select(JobRow).where(JobRow.id == job_id)).one()
            row.state_reason = "first"
            s.add(row)
            s.flush()

            def second() -> None:
                with other.write() as s2:
                    seen.append(
                        s2.exec(select(JobRow).where(JobRow.id == job_id)).one().state_reason
                    )

            thread = threading.Thread(target=second)
            thread.start()
            thread.join(timeout=1.0)
            assert thread.is_alive() and seen == []  # waiting for our commit
        thread.join(timeout=30)
        assert seen == ["first"]
    finally:
        other.close()
