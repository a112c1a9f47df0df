"""gRPC health follows the store: NOT_SERVING until a real PostgreSQL answers, SERVING
once it does, NOT_SERVING again while it is down, SERVING when it is back; ``/healthz``
on the metrics port says the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from scheduler.api.client import SkybatchClient
from scheduler.api.gen.skybatch.v1 import jobs_pb2, jobs_pb2_grpc
from scheduler.domain import JobState
from tests.conftest import ServiceFactory
from tests.e2e.helpers import counter_job
from tests.support.postgres import SERVER_USER, PostgresServer, start_postgres
from tests.support.serve_process import start_serve

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def pg_ctl(pg: PostgresServer, action: str) -> None:
    """Stop or start the test server on the same port and data dir."""
    argv = [str(pg.bin_dir / "pg_ctl"), "-D", str(pg.data_dir), "-w", "-t", "60"]
    if action == "start":
        options = f"-h 127.0.0.1 -p {pg.port} -k {pg.root} -c fsync=off"
        argv += ["-l", str(pg.root / "server.log"), "-o", options, "start"]
    else:
        argv += ["-m", "fast", "stop"]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", SERVER_USER, "--", *argv]
    subprocess.run(argv, check=True, capture_output=True, timeout=90)


@pytest.fixture
def pg() -> Iterator[PostgresServer]:
    with start_postgres() as server:
        yield server


def status(address: str, service: str = "") -> int:
    with grpc.insecure_channel(address) as ch:
        try:
            r = health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=3
            )
        except grpc.RpcError as exc:
            return -int(exc.code().value[0])  # unreachable, or the name unknown
        return int(r.status)


def healthz(address: str) -> int:
    try:
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=3) as r:
            code: int = r.status
            return code
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def eventually(pred: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_health_follows_a_real_postgresql_going_away_and_coming_back(
    tmp_path: Path, pg: PostgresServer
) -> None:
    url = pg.create_database("health")
    pg_ctl(pg, "stop")  # nothing listens on the store's port when serve starts
    serve = start_serve(tmp_path, "--db-url", url, "--metrics-bind", "127.0.0.1:0")
    proc, address, err_path = serve.proc, serve.address, serve.err_path
    try:
        assert proc.stdout is not None
        for _ in range(3):  # it stays NOT_SERVING, and stays up, while the store is down
            assert status(address) == NOT_SERVING, err_path.read_text()
            time.sleep(0.5)
        assert proc.poll() is None

        pg_ctl(pg, "start")
        # The standby server hands the port over: briefly nothing answers, then SERVING.
        eventually(lambda: status(address) == SERVING, "SERVING after the store came up")
        assert status(address, "skybatch.v1.JobService") == SERVING
        metrics_line = proc.stdout.readline()
        assert metrics_line.startswith("metrics on "), err_path.read_text()
        metrics = metrics_line.split()[-1]
        assert healthz(metrics) == 200
        with SkybatchClient(address) as c:
            [(job, _)] = c.submit([counter_job("on-pg", 1, 0.1)])
            assert c.get(job.id).state in (JobState.PENDING, JobState.PLANNED, JobState.LAUNCHING)

        pg_ctl(pg, "stop")
        eventually(lambda: status(address) == NOT_SERVING, "NOT_SERVING after the store left")
        assert status(address, "skybatch.v1.JobService") == NOT_SERVING
        assert healthz(metrics) == 503
        assert proc.poll() is None, "serve died with its store"

        pg_ctl(pg, "start")
        eventually(lambda: status(address) == SERVING, "SERVING after the store came back")
        assert healthz(metrics) == 200
        with SkybatchClient(address) as c:
            assert c.get(job.id).id == job.id
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
    assert code == 0, err_path.read_text()


def test_a_store_that_stays_away_keeps_serve_in_standby_until_sigterm(
    tmp_path: Path, pg: PostgresServer
) -> None:
    url = pg.create_database("standby")
    pg_ctl(pg, "stop")
    argv = [sys.executable, "-m", "scheduler", "serve", "--bind", "127.0.0.1:0"]
    argv += ["--data-dir", str(tmp_path), "--db-url", url]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().split()[-1]
        assert status(address) == NOT_SERVING
        # A bare stub (the client library would retry UNAVAILABLE, as it should).
        with grpc.insecure_channel(address) as ch, pytest.raises(grpc.RpcError) as info:
            jobs_pb2_grpc.JobServiceStub(ch).GetJob(jobs_pb2.GetJobRequest(job_id="j-x"))
        assert info.value.code() is grpc.StatusCode.UNAVAILABLE
        assert "store" in str(info.value.details())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert proc.stdout is not None
        proc.stdout.close()


def test_the_watcher_flips_health_both_ways_on_a_real_server(
    service_factory: ServiceFactory,
) -> None:
    svc = service_factory(control_loop=False, store_probe_interval_s=0.1)
    assert status(svc.address) == SERVING
    up = [True]
    svc.store_watcher.probe = lambda: up[0]
    up[0] = False
    eventually(lambda: status(svc.address) == NOT_SERVING, "NOT_SERVING", timeout_s=5)
    assert status(svc.address, "skybatch.v1.WorkerService") == NOT_SERVING
    assert svc.metrics.store_up.collect()[0].samples[0].value == 0
    up[0] = True
    eventually(lambda: status(svc.address) == SERVING, "SERVING", timeout_s=5)
    assert svc.metrics.store_up.collect()[0].samples[0].value == 1
