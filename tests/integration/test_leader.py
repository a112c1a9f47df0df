"""Leader election among replicas sharing a store: one leads, a standby takes over when
the leader stops or loses its lock, and a leader cut off from its lock steps down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, text

from scheduler.control.leader import LeaderElection
from scheduler.service import LEADER_HEALTH_SERVICE, Service
from scheduler.store.leader import PostgresLeaderLock, leader_lock
from tests.conftest import ServiceFactory


def eventually(cond: Callable[[], bool], timeout_s: float = 10.0) -> float:
    """Seconds until ``cond()`` held (fails after ``timeout_s``)."""
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < timeout_s, "timed out"
        time.sleep(0.05)
    return time.monotonic() - start


def leader_health(svc: Service) -> int:
    with grpc.insecure_channel(svc.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=LEADER_HEALTH_SERVICE))
        return int(reply.status)


def test_a_second_replica_on_one_sqlite_store_does_not_lead_until_the_first_stops(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    first = service_factory(leader_interval_s=0.2)
    second = service_factory(leader_interval_s=0.2)
    assert first.leading and not second.leading
    assert [t.name for t in first._term_threads][:2] == ["control-loop", "cost-model"]
    assert second._term_threads == []
    assert leader_health(first) == health_pb2.HealthCheckResponse.SERVING
    assert leader_health(second) == health_pb2.HealthCheckResponse.NOT_SERVING
    time.sleep(0.6)  # several rounds: still only one leader
    assert first.leading and not second.leading
    first.stop(grace_s=0.2)
    assert not first.leading
    assert eventually(lambda: second.leading, timeout_s=5) < 2.0
    assert leader_health(second) == health_pb2.HealthCheckResponse.SERVING


def test_postgresql_lock_is_exclusive_and_lost_with_its_session(pg_url: str) -> None:
    a, b = PostgresLeaderLock(pg_url), PostgresLeaderLock(pg_url)
    assert a.try_acquire() and not b.try_acquire()
    assert a.held() and not b.held()
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:  # the server ends a's session (as if a died)
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'skybatch-leader-lock' AND pid IN"
                    " (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
                )
            )
    finally:
        engine.dispose()
    assert not a.held()
    assert eventually(b.try_acquire, timeout_s=5) < 5
    assert not a.try_acquire()
    b.release()
    assert a.try_acquire()
    a.release()


def test_a_leader_that_loses_its_lock_stops_its_term_at_once(pg_url: str) -> None:
    lock = leader_lock(pg_url)
    assert isinstance(lock, PostgresLeaderLock)
    terms: list[threading.Event] = []
    deposed = threading.Event()
    election = LeaderElection(
        lock, on_elected=terms.append, on_deposed=deposed.set, interval_s=0.1, name="a"
    )
    stop = threading.Event()
    thread = threading.Thread(target=election.run, args=(stop,))
    thread.start()
    try:
        eventually(lambda: election.leading)
        engine = create_engine(pg_url)
        try:
            with engine.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = 'skybatch-leader-lock'"
                    )
                )
        finally:
            engine.dispose()
        assert eventually(deposed.is_set, timeout_s=3) < 1.0
        assert terms[0].is_set()
        # Nobody else holds the lock: the same replica is elected again, a new term.
        eventually(lambda: len(terms) == 2 and election.leading)
        assert not terms[1].is_set()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert terms[1].is_set() and not election.leading
