"""Two ``skybatch serve`` replicas on one PostgreSQL store and one data dir: the leader is
SIGKILLed mid-run, the standby takes over within seconds and finishes every job, no job
ever has two attempts alive at once and no attempt is launched twice."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from libcloud.compute.types import NodeState
from sqlalchemy import create_engine, text

from adapters.base import ATTEMPT_TAG
from adapters.local import LocalCloudConfig, LocalNodeDriver
from scheduler.api.client import SkybatchClient
from scheduler.domain import JobState
from scheduler.service import LEADER_HEALTH_SERVICE
from tests.e2e.helpers import counter_job, terminal, wait_for
from tests.support.postgres import free_port

SERVE_FLAGS = [
    "--tick",
    "0.3",
    "--heartbeat-timeout",
    "20",
    "--restart-overhead",
    "2",
    "--bill-interval",
    "0",
]
JOBS = 12


class Replica:
    def __init__(self, data_dir: Path, db_url: str, address: str, advertise: str) -> None:
        self.address = address
        self.log = data_dir / f"serve-{address.rsplit(':', 1)[1]}.log"
        argv = [
            sys.executable,
            "-m",
            "scheduler",
            "serve",
            "--bind",
            address,
            "--data-dir",
            str(data_dir),
            "--db-url",
            db_url,
            "--advertise",
            advertise,
            *SERVE_FLAGS,
        ]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("serving on "), self.log.read_text()

    def leading(self) -> bool:
        with grpc.insecure_channel(self.address) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=LEADER_HEALTH_SERVICE), timeout=2
                )
            except grpc.RpcError:
                return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=40) == 0, self.log.read_text()[-3000:]
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[LocalNodeDriver]:
    """A view of the shared local cloud; destroys whatever is left at teardown."""
    d = LocalNodeDriver(LocalCloudConfig(state_dir=tmp_path / "local-cloud"))
    yield d
    for node in d.list_nodes():
        if node.state != NodeState.TERMINATED:
            d.destroy_node(node)
    d.close()


def wait_until(cond: object, timeout_s: float, what: str) -> float:
    assert callable(cond)
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < timeout_s, f"timed out waiting for {what}"
        time.sleep(0.1)
    return time.monotonic() - start


def test_leader_killed_mid_run_standby_finishes_every_job_without_double_launches(
    tmp_path: Path, pg_url: str, driver: LocalNodeDriver
) -> None:
    addresses = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    advertise = ",".join(addresses)
    replicas = [Replica(tmp_path, pg_url, a, advertise) for a in addresses]
    try:
        wait_until(lambda: sum(r.leading() for r in replicas) == 1, 15, "a leader")
        leader = next(r for r in replicas if r.leading())
        standby = next(r for r in replicas if r is not leader)
        time.sleep(2.5)  # a few election rounds: still exactly one leader
        assert leader.leading() and not standby.leading()

        # Submit through the standby: every replica serves the API.
        with SkybatchClient(standby.address) as c:
            c.wait_ready()
            jobs = [j for j, _ in c.submit([counter_job(f"j{i}", 24, 0.25) for i in range(JOBS)])]
            wait_until(
                lambda: sum(c.get(j.id).state is JobState.RUNNING for j in jobs) >= 3,
                60,
                "jobs running",
            )
            assert not all(c.get(j.id).state.terminal for j in jobs), "killed too late"

            at_kill = Counter(c.get(j.id).state.value for j in jobs)
            leader.proc.send_signal(signal.SIGKILL)
            leader.proc.wait(timeout=10)
            takeover_s = wait_until(standby.leading, 10, "the standby to take over")
            print(f"at the kill: {dict(at_kill)}; standby leads {takeover_s:.2f}s later")

            done = [wait_for(c, j.id, terminal, timeout_s=120) for j in jobs]
        assert [d.state for d in done] == [JobState.SUCCEEDED] * JOBS, [
            (d.spec.name, d.state, d.state_reason) for d in done
        ]
        wait_until(
            lambda: all(n.state == NodeState.TERMINATED for n in driver.list_nodes()),
            30,
            "every node to be terminated",
        )
    finally:
        for r in replicas:
            if r.proc.poll() is None:
                r.close()
            else:
                assert r.proc.stdout is not None
                r.proc.stdout.close()

    # -- the record: the store's attempts and nodes, and what the cloud launched ---------
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            attempts = conn.execute(
                text("SELECT id, job_id, created_at, ended_at, state FROM attempts")
            ).all()
            nodes = conn.execute(text("SELECT id, attempt_id FROM nodes")).all()
    finally:
        engine.dispose()
    by_job: dict[str, list[tuple[datetime, datetime]]] = {}
    for _, job_id, created, ended, _ in attempts:
        assert ended is not None
        by_job.setdefault(job_id, []).append((created, ended))
    for job_id, spans in by_job.items():
        spans.sort()
        for (_, ended), (created, _) in itertools.pairwise(spans):
            assert ended <= created, f"{job_id} had two attempts alive at once"
    assert set(by_job) == {j.id for j in jobs}
    print(f"attempts per job: {Counter(len(s) for s in by_job.values())}")

    # Each attempt id reached the cloud once, as one node, which the store knows.
    launched = Counter(n.extra["tags"][ATTEMPT_TAG] for n in driver.list_nodes())
    assert launched and max(launched.values()) == 1, launched
    assert {a for a, _ in launched.items()} <= {a.id for a in attempts}
    assert Counter(attempt_id for _, attempt_id in nodes) == launched
    # The cloud never ran two nodes of one job at once.
    job_of = {a.id: a.job_id for a in attempts}
    node_attempt = {n: a for n, a in nodes}
    usage_by_job: dict[str, list[tuple[datetime, datetime]]] = {}
    for u in driver.ex_usage():
        assert u.started_at is not None and u.ended_at is not None
        usage_by_job.setdefault(job_of[node_attempt[u.node_id]], []).append(
            (u.started_at, u.ended_at)
        )
    for job_id, spans in usage_by_job.items():
        spans.sort()
        for (_, ended), (started, _) in itertools.pairwise(spans):
            assert ended <= started, f"{job_id} ran on two nodes at once"
