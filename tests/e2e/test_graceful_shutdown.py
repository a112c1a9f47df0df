"""SIGTERM to a busy ``skybatch serve``: new RPCs refused, open ``WatchJobs`` streams end
with an OK status (not a reset), the control loop's tick runs to its end, the process
exits 0 within ``--shutdown-grace``, and the store holds no half-done launch."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import grpc
import pytest
from libcloud.compute.types import NodeState

from adapters.local import LocalCloudConfig, LocalNodeDriver
from scheduler.api.client import SkybatchClient
from scheduler.api.gen.skybatch.v1 import jobs_pb2, jobs_pb2_grpc
from scheduler.domain import AttemptState, JobState
from scheduler.store import AttemptStore, Database
from scheduler.store.engine import sqlite_url
from tests.e2e.helpers import counter_job, running, wait_for
from tests.support.serve_process import start_serve

GRACE_S = 10.0


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[LocalNodeDriver]:
    """The served local cloud; destroys whatever is left at teardown."""
    d = LocalNodeDriver(LocalCloudConfig(state_dir=tmp_path / "local-cloud"))
    yield d
    for node in d.list_nodes():
        if node.state != NodeState.TERMINATED:
            d.destroy_node(node)


class Watcher(threading.Thread):
    """Reads one ``WatchJobs`` stream to its end; keeps how it ended."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True)
        self.channel = grpc.insecure_channel(address)
        self.stream = jobs_pb2_grpc.JobServiceStub(self.channel).WatchJobs(
            jobs_pb2.WatchJobsRequest()
        )
        self.events = 0
        self.error: grpc.RpcError | None = None
        self.ended = threading.Event()

    def run(self) -> None:
        try:
            for _ in self.stream:
                self.events += 1
        except grpc.RpcError as exc:
            self.error = exc
        finally:
            self.ended.set()


def test_sigterm_drains_streams_finishes_the_tick_and_exits_zero(
    tmp_path: Path, driver: LocalNodeDriver
) -> None:
    serve = start_serve(
        tmp_path,
        *("--tick", "0.2", "--log-format", "json", "--shutdown-grace", str(GRACE_S)),
        *("--heartbeat-timeout", "15"),
    )
    proc, address, err_path = serve.proc, serve.address, serve.err_path
    try:
        with SkybatchClient(address) as c:
            c.wait_ready()
            watcher = Watcher(address)
            watcher.start()
            [(first, _)] = c.submit([counter_job("first", 100, 0.2)])
            wait_for(c, first.id, running)
            # A crowd of jobs: the next tick launches them one after another.
            base = counter_job("crowd", 100, 0.2)
            c.submit([replace(base, name=f"crowd-{i}") for i in range(5)])
            # A tick is launching the crowd (one node after another) when the signal comes.
            deadline = time.monotonic() + 30
            while not c.list_page(states=[JobState.LAUNCHING])[0]:
                assert time.monotonic() < deadline, "the crowd never launched"
                time.sleep(0.05)
            while watcher.events < 3:  # the first job's PLANNED, LAUNCHING, RUNNING
                assert time.monotonic() < deadline, "the stream saw no events"
                time.sleep(0.05)
            assert not watcher.ended.is_set()
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=GRACE_S + 10)
            took = time.monotonic() - sent
        assert watcher.ended.wait(5), "the WatchJobs stream did not end"
        watcher.channel.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()

    log = err_path.read_text()
    assert code == 0, log
    assert took < GRACE_S + 3, f"took {took:.1f}s to stop"
    # The stream ended with a status, OK, not a reset or a cancellation.
    assert watcher.error is None, watcher.error
    assert watcher.stream.code() is grpc.StatusCode.OK

    lines = [json.loads(text) for text in log.splitlines() if text.strip()]
    messages = [d["message"] for d in lines]
    assert any(m.startswith("shutting down") for m in messages)
    assert "skybatch stopped" in messages
    assert not [d for d in lines if d["level"] in ("ERROR", "CRITICAL")], log

    # The store: every tick that started finished. No job was left PLANNED (planned
    # and launched happen in the same tick), every live attempt has its node recorded,
    # and every node the cloud has for us is recorded under its attempt.
    db = Database(sqlite_url(tmp_path / "skybatch.db"))
    try:
        attempts = AttemptStore(db)
        assert attempts.jobs_in(JobState.PLANNED) == []
        live = attempts.live_attempts()
        assert live, "nothing was running: the test did not exercise a busy service"
        half_launched = [
            la.attempt.id
            for la in live
            if la.attempt.state is AttemptState.LAUNCHING and not la.attempt.node_id
        ]
        assert half_launched == []
        recorded = {la.attempt.id: la.attempt.node_id for la in live}
        for node in driver.list_nodes():
            if node.state == NodeState.TERMINATED:
                continue
            attempt_id = node.extra["tags"].get("skybatch-attempt", "")
            assert recorded.get(attempt_id) == node.id, f"node {node.id} not recorded"
    finally:
        db.close()

    # A tick was under way when the signal came, and it ran to its end: launches
    # logged after "shutting down", before "skybatch stopped".
    def at(d: dict[str, str]) -> datetime:
        return datetime.fromisoformat(d["time"])

    down = next(at(d) for d in lines if d["message"].startswith("shutting down"))
    stopped = next(at(d) for d in lines if d["message"] == "skybatch stopped")
    straddling = [
        d for d in lines if d["logger"] == "scheduler.control.launcher" and down <= at(d) <= stopped
    ]
    print(f"stopped in {took:.2f}s; {len(straddling)} launches finished after SIGTERM")
    assert straddling, "no launch after SIGTERM: the tick was cut short (or not running)"
